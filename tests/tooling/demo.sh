#!/usr/bin/env bash
# `make demo`: the collection's main job on a real local cluster.
#
# Starts a Pinot cluster (ZooKeeper, Kafka, controller, broker, 4 servers, the `events` table with data
# flowing) and a Kubernetes control plane whose `pinot-server` StatefulSet's pods are those servers,
# prints servers -> partitions, decommissions pinot-server-3 with the server_decommission role, and
# prints the result. The clusters keep running afterwards; `make down` stops them.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

eval "$(tests/tooling/bootstrap.sh 2.19)"
run_dir=${PINOTOPS_RUN_DIR:-$HOME/.cache/pinotops/run/default}
k8s_dir=${PINOTOPS_K8S_RUN_DIR:-$HOME/.cache/pinotops/run/k8s-default}
config="$run_dir/../demo_config.json"
pinot=("$VENV/bin/python" tests/harness/pinot_cluster.py --workdir "$run_dir")
k8s=("$VENV/bin/python" tests/harness/k8s_cluster.py --workdir "$k8s_dir")

echo "== stopping what an earlier demo left running"
"${k8s[@]}" down >/dev/null 2>&1 || true
"${pinot[@]}" down >/dev/null 2>&1 || true
rm -rf "$run_dir" "$k8s_dir"
mkdir -p "$(dirname "$run_dir")" "$(dirname "$k8s_dir")"

echo "== building the Kubernetes binaries (cached after the first run)"
"${k8s[@]}" build
# `up` prints the cluster's state as JSON (~95 lines): kept in a file, not shown.
echo "== starting Pinot 1.5.1 (4 servers, Kafka, the events table) from Maven Central (modules a registry lacks: ../shared/pinot-1.5.1/jars)"
"${pinot[@]}" up --integration-config "$config" >"$run_dir.status.json"
echo "== starting the Kubernetes control plane (pinot-server StatefulSet, 4 pods backed by those servers)"
"${k8s[@]}" up --pinot-state "$run_dir/state.json" >"$k8s_dir.status.json"

collections=$HOME/.cache/pinotops/demo-collections
tests/tooling/collection_tree.sh "$collections" >/dev/null
rm -rf "$collections/ansible_collections/kubernetes"
# COLLECTIONS comes from the eval of bootstrap.sh's output above
# shellcheck disable=SC2153
cp -r "$COLLECTIONS/ansible_collections/kubernetes" "$collections/ansible_collections/kubernetes"
export ANSIBLE_COLLECTIONS_PATH=$collections ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_UNPARSED_WARNING=false
controller=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pinot_controller_url"])' "$config")
kubeconfig=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["sa_kubeconfig"])' "$k8s_dir/state.json")

echo "== servers, segments and partitions per table, before"
"$VENV/bin/ansible-playbook" pinotops.pinot.segment_report -e pinot_controller_url="$controller"

echo "== decommissioning pinot-server-3 (StatefulSet 4 -> 3)"
"$VENV/bin/ansible-playbook" pinotops.pinot.decommission_server \
  -e server_decommission_controller_url="$controller" \
  -e server_decommission_kubeconfig="$kubeconfig" \
  -e server_decommission_replicas=3 \
  -e server_decommission_report_path="$run_dir/decommission-report.json"

echo "== servers, segments and partitions per table, after"
"$VENV/bin/ansible-playbook" pinotops.pinot.segment_report -e pinot_controller_url="$controller"
echo
echo "Report: $run_dir/decommission-report.json   Cluster state: $run_dir.status.json, $k8s_dir.status.json"
echo "Controller: $controller   (the clusters keep running; stop them with: make down)"
