#!/usr/bin/env bash
# `make down`: stop every local cluster that `make demo`, an interrupted `make test` or `make bench` left running.
# Kubernetes first in each place (its node agent restarts Pinot servers), then Pinot. Each harness stops only the
# processes recorded in (or tagged with) its work directory.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 2
eval "$(tests/tooling/bootstrap.sh 2.19)"
cache=${PINOTOPS_CACHE:-$HOME/.cache/pinotops}
python="$VENV/bin/python"

# make demo (tests/tooling/demo.sh) and make bench (tests/bench/bench_decommission.py)
"$python" tests/harness/k8s_cluster.py --workdir "${PINOTOPS_K8S_RUN_DIR:-$cache/run/k8s-default}" down
"$python" tests/harness/pinot_cluster.py --workdir "${PINOTOPS_RUN_DIR:-$cache/run/default}" down
for pinot_dir in "$cache"/run/bench-decom-*; do  # one Pinot and one Kubernetes work directory per release
  case $pinot_dir in *-k8s) continue ;; esac
  [ -d "$pinot_dir-k8s" ] && "$python" tests/harness/k8s_cluster.py --workdir "$pinot_dir-k8s" down
  "$python" tests/harness/pinot_cluster.py --workdir "$pinot_dir" down
done
# make test's system stage (tests/tooling/run_system.py): its clusters live under the test work directory
PINOTOPS_VENV="$VENV" PINOTOPS_WORK="${PINOTOPS_TEST_WORK:-$cache/test-work}" "$python" tests/tooling/run_system.py --down
exit 0
