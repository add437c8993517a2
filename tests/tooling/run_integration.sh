#!/usr/bin/env bash
# Run ansible-test integration targets against a running local Pinot cluster.
#
# Usage: tests/tooling/run_integration.sh [TARGET ...]   (default: every target)
# Needs the integration config the Pinot harness writes (`pinot_cluster.py up
# --integration-config FILE`), named by PINOTOPS_INTEGRATION_CONFIG (default
# ~/.cache/pinotops/run/integration_config.yml).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
eval "$(tests/tooling/bootstrap.sh 2.19)"
work=${PINOTOPS_TEST_WORK:-$HOME/.cache/pinotops/test-work}
config=${PINOTOPS_INTEGRATION_CONFIG:-$HOME/.cache/pinotops/run/integration_config.yml}
[ -f "$config" ] || { echo "no integration config at $config: start a cluster with tests/harness/pinot_cluster.py up --integration-config $config" >&2; exit 2; }

tree=$(tests/tooling/collection_tree.sh "$work/integration")
# kubernetes.core beside the collection, so ansible-test's collection path finds it.
mkdir -p "$work/integration/ansible_collections/kubernetes"
rm -rf "$work/integration/ansible_collections/kubernetes/core"
cp -r "$COLLECTIONS/ansible_collections/kubernetes/core" "$work/integration/ansible_collections/kubernetes/core"
cp "$config" "$tree/tests/integration/integration_config.yml"
cd "$tree"
exec "$VENV/bin/ansible-test" integration --allow-destructive --color no "$@"
