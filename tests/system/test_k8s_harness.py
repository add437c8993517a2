"""System tests of the Kubernetes harness: real apiserver and StatefulSet controller, node agent, real Pinot servers."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

import k8s_cluster as k8s_harness

STS = k8s_harness.STATEFULSET


def ansible_paths():
    """ansible-playbook of this venv and the folder holding kubernetes.core."""
    playbook = Path(sys.executable).parent / "ansible-playbook"
    collections = os.environ.get("COLLECTIONS")
    if not playbook.exists() or not collections:
        paths = k8s_harness.bootstrap_paths()
        playbook = Path(paths["VENV"]) / "bin" / "ansible-playbook"
        collections = paths["COLLECTIONS"]
    return playbook, collections


def scale_with_ansible(k8s, replicas, tmp_path):
    """Run kubernetes.core.k8s_scale as the least-privilege ServiceAccount, waiting for the rollout."""
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "scale the Pinot servers",
        "kubernetes.core.k8s_scale": {
            "kubeconfig": k8s.sa_kubeconfig, "api_version": "apps/v1", "kind": "StatefulSet", "name": STS,
            "namespace": k8s.namespace, "replicas": replicas, "wait": True, "wait_timeout": 300, "wait_sleep": 1,
        }}]}]
    path = tmp_path / f"scale-{replicas}.yml"
    path.write_text(json.dumps(play), encoding="utf-8")
    playbook, collections = ansible_paths()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOCALHOST_WARNING="false")
    proc = subprocess.run([str(playbook), str(path)], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\nagent log: {k8s.log_dir / 'node-agent.log'}"


def wait_until(what, check, timeout=120):
    """Poll check() until true or fail with what."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def assert_replicas(k8s, replicas):
    """The StatefulSet status and the pods follow the replica count."""
    wanted = {f"{STS}-{i}" for i in range(replicas)}
    wait_until(f"pods {sorted(wanted)}", lambda: set(k8s.pods()) == wanted)
    status = k8s.statefulset()["status"]
    assert status["replicas"] == replicas
    assert status["readyReplicas"] == replicas
    for pod in k8s.pods().values():
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"]
        assert (pod["status"]["phase"], ready, pod["status"]["podIP"]) == ("Running", "True", "127.0.0.1")


def test_admin_kubectl(k8s_cluster):
    """kubectl works with the admin kubeconfig and sees the Helm-shaped StatefulSet on a Ready node."""
    nodes = json.loads(k8s_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert [c["status"] for c in nodes[0]["status"]["conditions"] if c["type"] == "Ready"] == ["True"]
    sts = json.loads(k8s_cluster.kubectl("get", "statefulset", STS, "-n", k8s_cluster.namespace, "-o", "json").stdout)
    assert sts["spec"]["serviceName"] == "pinot-server-headless"
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    svc = json.loads(k8s_cluster.kubectl("get", "service", "pinot-server-headless", "-o", "json").stdout)
    assert svc["spec"]["clusterIP"] == "None"


def test_least_privilege_kubeconfig(k8s_cluster):
    """The decommission ServiceAccount reads and scales, and may do nothing else."""
    assert STS in k8s_cluster.kubectl("get", "statefulsets", sa=True).stdout
    assert f"{STS}-0" in k8s_cluster.kubectl("get", "pods", sa=True).stdout

    def can(*args):
        return k8s_cluster.kubectl("auth", "can-i", *args, sa=True, check=False).stdout.strip()
    assert can("patch", "statefulsets", "--subresource=scale") == "yes"
    assert can("get", "statefulsets") == "yes"
    for verb, resource in (("delete", "statefulsets"), ("update", "statefulsets"), ("patch", "statefulsets"),
                           ("delete", "pods"), ("get", "secrets"), ("create", "statefulsets")):
        assert can(verb, resource) == "no", (verb, resource)
    denied = k8s_cluster.kubectl("delete", "statefulset", STS, sa=True, check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr, denied.stderr
    assert k8s_cluster.statefulset()["spec"]["replicas"] == 4


def test_k8s_scale_pods(k8s_cluster, tmp_path):
    """k8s_scale 4 -> 3 -> 4: the real controller removes and recreates the highest ordinal."""
    assert_replicas(k8s_cluster, 4)
    try:
        scale_with_ansible(k8s_cluster, 3, tmp_path)
        assert_replicas(k8s_cluster, 3)
    finally:
        scale_with_ansible(k8s_cluster, 4, tmp_path)
    assert_replicas(k8s_cluster, 4)


def test_k8s_scale_stops_pinot_server(k8s_cluster, pinot_cluster, tmp_path):
    """Scaling down stops Pinot server 3 (not live any more), scaling up brings it back."""
    k8s_cluster.link_pinot(pinot_cluster.state_path)
    instance = pinot_cluster.server_instance_id(3)
    assert instance == f"Server_{STS}-3.pinot-server-headless.{k8s_cluster.namespace}.svc.cluster.local_8098"
    live = set(pinot_cluster.live_instances())
    assert {pinot_cluster.server_instance_id(i) for i in range(4)} <= live
    try:
        scale_with_ansible(k8s_cluster, 3, tmp_path)
        assert_replicas(k8s_cluster, 3)
        assert not pinot_cluster.server_running(3)
        wait_until(f"{instance} not live", lambda: instance not in pinot_cluster.live_instances(), 60)
        resp = requests.get(f"{pinot_cluster.controller_url}/instances/{instance}",
                            headers=pinot_cluster.auth_headers(), timeout=10)
        assert resp.status_code == 200  # still known to Pinot, only not live: dropping it is the role's job
        assert all(pinot_cluster.server_running(i) for i in range(3))
    finally:
        scale_with_ansible(k8s_cluster, 4, tmp_path)
    assert_replicas(k8s_cluster, 4)
    assert pinot_cluster.server_running(3)
    wait_until(f"{instance} live again", lambda: instance in pinot_cluster.live_instances(), 120)
