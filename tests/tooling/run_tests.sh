#!/usr/bin/env bash
# The whole test suite, behind `make test` (and CI's .ci/run).
#
# Stages, in order (choose a subset with STAGES="units sanity ..."):
#   units        pytest unit tests, on every ansible-core line
#   sanity       ansible-test sanity (no ignore file), on every ansible-core line
#   lint         ansible-lint (production profile), antsibull-changelog lint
#   docs         antsibull-docs lint-collection-docs + render the collection docs
#   build        ansible-galaxy collection build + install --no-deps + ansible-doc for every module
#   system       a real local Pinot cluster (+ Kubernetes control plane): integration targets and system tests
#
# Everything it needs is installed by tests/tooling/bootstrap.sh into ~/.cache/pinotops.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
stages=${STAGES:-units sanity lint docs build system}
lines=${ANSIBLE_LINES:-2.19 2.18}
work=${PINOTOPS_TEST_WORK:-$HOME/.cache/pinotops/test-work}
junit_dir="$work/junit"
mkdir -p "$work"
rm -rf "$junit_dir"
mkdir -p "$junit_dir"

declare -a results=()
failed=0

stage() {  # stage NAME COMMAND... : run, time and record one stage
  local name=$1
  shift
  local start=$SECONDS
  echo
  echo "=== $name"
  if "$@"; then
    results+=("PASS  $name ($((SECONDS - start)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - start)) s)")
    failed=$((failed + 1))
  fi
}

venv_for() {  # venv_for LINE: prints the venv path (bootstraps it if needed)
  tests/tooling/bootstrap.sh "$1" | sed -n 's/^VENV=//p'
}

collections_path() {
  tests/tooling/bootstrap.sh 2.19 | sed -n 's/^COLLECTIONS=//p'
}

tree_for() {  # tree_for LINE: a fresh ansible_collections copy for this line; prints the collection dir
  tests/tooling/collection_tree.sh "$work/tree-$1"
}

run_units() {
  local line=$1 venv tree
  venv=$(venv_for "$line") && tree=$(tree_for "$line") || return 1
  (cd "$tree" && PYTHONPATH="$work/tree-$line" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
      --junitxml="$junit_dir/units-$line.xml" tests/unit)
}

run_sanity() {
  local line=$1 venv tree
  venv=$(venv_for "$line") && tree=$(tree_for "$line") || return 1
  if [ -e "$tree/tests/sanity" ]; then
    echo "tests/sanity exists: this project keeps no sanity ignore files" >&2
    return 1
  fi
  (cd "$tree" && "$venv/bin/ansible-test" sanity --venv --python 3.11 --color no 2>&1 \
      | grep -v -E "^(Collecting|Downloading|Installing|Successfully|Requirement already|Processing|Looking in links|  (Attempting|Found|Uninstalling|Successfully)|     ━)")
}

run_lint() {
  local venv collections
  venv=$(venv_for 2.19) && collections=$(collections_path) || return 1
  local tree
  tree=$(tree_for 2.19) || return 1
  (cd "$tree" && ANSIBLE_COLLECTIONS_PATH="$work/tree-2.19:$collections" PATH="$venv/bin:$PATH" \
      "$venv/bin/ansible-lint" --offline --profile production) &&
  (cd "$tree" && "$venv/bin/antsibull-changelog" lint)
}

run_docs() (  # a subshell: the exports below stay here
  local venv collections tree
  venv=$(venv_for 2.19) && collections=$(collections_path) && tree=$(tree_for 2.19) || return 1
  export ANSIBLE_COLLECTIONS_PATH="$work/tree-2.19:$collections" PATH="$venv/bin:$PATH"
  "$venv/bin/antsibull-docs" lint-collection-docs --plugin-docs --skip-rstcheck "$tree" &&
  rm -rf "$work/docs" && mkdir -p "$work/docs" &&
  "$venv/bin/antsibull-docs" collection --use-current --squash-hierarchy --dest-dir "$work/docs" pinotops.pinot &&
  echo "collection docs rendered to $work/docs ($(find "$work/docs" -name '*.rst' | wc -l) pages)"
)

run_build() {
  local venv collections tree
  venv=$(venv_for 2.19) && collections=$(collections_path) && tree=$(tree_for 2.19) || return 1
  rm -rf "$work/build" "$work/installed" && mkdir -p "$work/build" "$work/installed" || return 1
  (cd "$tree" && "$venv/bin/ansible-galaxy" collection build --output-path "$work/build") &&
  "$venv/bin/ansible-galaxy" collection install --no-deps -p "$work/installed" "$work"/build/pinotops-pinot-*.tar.gz &&
  local module
  for module in "$tree"/plugins/modules/*.py; do
    module=$(basename "$module" .py)
    ANSIBLE_COLLECTIONS_PATH="$work/installed:$collections" "$venv/bin/ansible-doc" "pinotops.pinot.$module" > /dev/null ||
      { echo "ansible-doc failed for $module" >&2; return 1; }
    echo "ansible-doc pinotops.pinot.$module: ok"
  done
}

run_system() {
  local venv collections
  venv=$(venv_for 2.19) && collections=$(collections_path) || return 1
  PINOTOPS_VENV="$venv" PINOTOPS_COLLECTIONS="$collections" PINOTOPS_WORK="$work" \
    "$venv/bin/python" tests/tooling/run_system.py --junit-dir "$junit_dir"
}

for name in $stages; do
  case $name in
    units|sanity)
      for line in $lines; do stage "$name (ansible-core $line)" "run_$name" "$line"; done ;;
    lint|docs|build|system)
      stage "$name" "run_$name" ;;
    *)
      echo "unknown stage: $name" >&2; exit 2 ;;
  esac
done

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
"$(venv_for 2.19)/bin/python" tests/tooling/junit_summary.py "$junit_dir" "${#results[@]}" "$failed"
[ "$failed" -eq 0 ]
