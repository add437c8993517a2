"""Node agent for the test control plane: a stand-in for kube-scheduler and the kubelet.

It registers one Ready Node, binds pending pods to it, reports them Running, and for pods
of the ``pinot-server`` StatefulSet starts and stops the matching server of the local Pinot
harness (pod ``pinot-server-<i>`` is Pinot server ``i``; a pod above the initial servers, after a
scale-out, gets a new server with its pod's Helm-shaped id). A pod is Ready only while its
Pinot server runs. Deletion is graceful: the Pinot server stops first, then the pod goes.

Run by tests/harness/k8s_cluster.py as a background process:
``python3 node_agent.py --kubeconfig admin.kubeconfig [--pinot-state PATH]``.
"""

import argparse
import json
import logging
import os
import re
import signal
import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
STATEFULSET = "pinot-server"
HEADLESS_SERVICE = "pinot-server-headless"
POD_IP = "127.0.0.1"
LOG = logging.getLogger("node_agent")


def utc_now():
    """Return the current time as a Kubernetes RFC 3339 timestamp."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def expected_instance_id(pod_name, namespace):
    """Return the Pinot instance id the Helm chart's server pod registers with."""
    return "Server_%s.%s.%s.svc.cluster.local_8098" % (pod_name, HEADLESS_SERVICE, namespace)


def load_pinot(state_path):
    """Load the local Pinot harness from its state file (None when not linked)."""
    if not state_path:
        return None
    sys.path.insert(0, HERE)
    import pinot_cluster  # pylint: disable=import-outside-toplevel  # only needed when linked
    return pinot_cluster.load(state_path)


class NodeAgent:
    """Reconciles every pod in the cluster against one pretend node."""

    def __init__(self, core, node_name, pinot=None):
        self.core = core
        self.node_name = node_name
        self.pinot = pinot
        self.stopping = False
        self.warned_ids = set()

    def register_node(self):
        """Create the Node (if missing) and report it Ready."""
        labels = {"kubernetes.io/hostname": self.node_name}
        body = client.V1Node(metadata=client.V1ObjectMeta(name=self.node_name, labels=labels))
        try:
            self.core.create_node(body, _preload_content=False)
        except ApiException as exc:
            if exc.status != 409:
                raise
        now = utc_now()
        resources = {"cpu": "2", "memory": "24Gi", "pods": "110"}
        status = {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "pinotops node agent is posting ready status",
                            "lastHeartbeatTime": now, "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": POD_IP}, {"type": "Hostname", "address": self.node_name}],
            "capacity": resources,
            "allocatable": resources,
        }}
        self.core.patch_node_status(self.node_name, status, _preload_content=False)
        LOG.info("node %s registered and Ready", self.node_name)

    def pinot_index(self, pod):
        """Return the Pinot server index behind a pod, or None if it has none."""
        if self.pinot is None:
            return None
        owners = pod["metadata"].get("ownerReferences") or []
        if not any(o.get("kind") == "StatefulSet" and o.get("name") == STATEFULSET for o in owners):
            return None
        match = re.fullmatch(STATEFULSET + r"-(\d+)", pod["metadata"]["name"])
        if not match:
            return None
        index = int(match.group(1))
        if index >= self.pinot.num_servers:
            # A pod above the harness's initial servers (a scale-out): a new Pinot server with its pod's id.
            self.pinot.add_server(index)
        if index not in self.warned_ids:
            # The decommission role derives ids from the Helm naming scheme; say so if the harness differs.
            self.warned_ids.add(index)
            want = expected_instance_id(pod["metadata"]["name"], pod["metadata"]["namespace"])
            have = self.pinot.server_instance_id(index)
            if have != want:
                LOG.warning("pod %s maps to Pinot server %s, not %s", pod["metadata"]["name"], have, want)
        return index

    def bind(self, pod):
        """Schedule a pending pod onto our node (the scheduler's job)."""
        meta = pod["metadata"]
        body = client.V1Binding(metadata=client.V1ObjectMeta(name=meta["name"]),
                                target=client.V1ObjectReference(api_version="v1", kind="Node", name=self.node_name))
        # _preload_content=False: the client cannot deserialize a Binding response.
        self.core.create_namespaced_pod_binding(meta["name"], meta["namespace"], body, _preload_content=False)
        LOG.info("bound %s/%s to %s", meta["namespace"], meta["name"], self.node_name)

    def terminate(self, pod):
        """Honour graceful deletion: stop the Pinot server, then let the pod go."""
        meta = pod["metadata"]
        index = self.pinot_index(pod)
        if index is not None and self.pinot.server_running(index):
            LOG.info("stopping Pinot server %d for terminating pod %s", index, meta["name"])
            self.pinot.stop_server(index, graceful=True)
            LOG.info("Pinot server %d stopped", index)
        # The uid precondition keeps us from deleting a successor pod of the same name.
        body = client.V1DeleteOptions(grace_period_seconds=0, preconditions=client.V1Preconditions(uid=meta["uid"]))
        try:
            self.core.delete_namespaced_pod(meta["name"], meta["namespace"], body=body, _preload_content=False)
            LOG.info("deleted %s/%s", meta["namespace"], meta["name"])
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise

    def run_pod(self, pod):
        """Start what a pod that is not Running yet stands for; return whether it is ready.

        Like a container, the Pinot server starts with its pod. Unlike a kubelet, the agent does not
        restart a server that stops later (a test may stop one on purpose): the pod just turns unready.
        Ready is what the Helm chart's readiness probe (/health/readiness) would say: the process runs and
        its health check is OK, which Pinot answers only once the server has loaded its segments at start.
        """
        index = self.pinot_index(pod)
        if index is None:
            return True
        starting = (pod.get("status") or {}).get("phase") != "Running"
        if starting and not self.pinot.server_running(index):
            LOG.info("starting Pinot server %d for pod %s", index, pod["metadata"]["name"])
            self.pinot.start_server(index)
        return self.pinot.server_running(index) and self.pinot.server_healthy(index)

    def report_status(self, pod, ready):
        """Report the pod Running, with Ready following the real process, if that changed."""
        meta, spec, status = pod["metadata"], pod["spec"], pod.get("status") or {}
        want = "True" if ready else "False"
        have = {c["type"]: c["status"] for c in status.get("conditions") or []}
        if status.get("phase") == "Running" and have.get("Ready") == want and have.get("ContainersReady") == want:
            return
        now = utc_now()
        conditions = [{"type": kind, "status": "True", "lastTransitionTime": now} for kind in ("PodScheduled", "Initialized")]
        conditions += [{"type": kind, "status": want, "lastTransitionTime": now} for kind in ("ContainersReady", "Ready")]
        started = status.get("startTime") or now
        containers = [{"name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "started": True,
                       "restartCount": 0, "state": {"running": {"startedAt": started}}} for c in spec["containers"]]
        body = {"status": {"phase": "Running", "conditions": conditions, "hostIP": POD_IP, "hostIPs": [{"ip": POD_IP}],
                           "podIP": POD_IP, "podIPs": [{"ip": POD_IP}], "startTime": started, "containerStatuses": containers}}
        self.core.patch_namespaced_pod_status(meta["name"], meta["namespace"], body, _preload_content=False)
        LOG.info("pod %s/%s Running, Ready=%s", meta["namespace"], meta["name"], want)

    def reconcile_pod(self, pod):
        """Move one pod one step towards what a kubelet would make of it."""
        node = pod["spec"].get("nodeName")
        if node and node != self.node_name:
            return
        if pod["metadata"].get("deletionTimestamp"):
            self.terminate(pod)
            return
        if not node:
            self.bind(pod)
        try:
            ready = self.run_pod(pod)
        except Exception:  # pylint: disable=broad-exception-caught  # one broken server must not stop the agent
            # The pod stays Pending (as in ContainerCreating) and the start is tried again on the next pass.
            LOG.exception("could not start the process for pod %s", pod["metadata"]["name"])
            return
        self.report_status(pod, ready)

    def reconcile(self):
        """One pass over every pod."""
        response = self.core.list_pod_for_all_namespaces(_preload_content=False)
        for pod in json.loads(response.data)["items"]:
            try:
                self.reconcile_pod(pod)
            except ApiException as exc:
                # Conflicts and races with the controllers resolve on the next pass.
                LOG.warning("pod %s: %s %s", pod["metadata"]["name"], exc.status, exc.reason)

    def run(self, interval):
        """Register the node and reconcile until SIGTERM/SIGINT."""
        self.register_node()
        while not self.stopping:
            try:
                self.reconcile()
            except (ApiException, OSError) as exc:
                LOG.warning("reconcile failed: %s", exc)
            time.sleep(interval)
        LOG.info("node agent stopped")

    def stop(self, *_args):
        """Signal handler: finish the current pass, then exit."""
        self.stopping = True


def main(argv=None):
    """Parse the command line and run the agent."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--node-name", default="pinotops-node-0")
    parser.add_argument("--pinot-state", default=os.environ.get("PINOTOPS_PINOT_STATE"),
                        help="state file of a local Pinot cluster (tests/harness/pinot_cluster.py); default $PINOTOPS_PINOT_STATE")
    parser.add_argument("--interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    config.load_kube_config(config_file=args.kubeconfig)
    agent = NodeAgent(client.CoreV1Api(), args.node_name, load_pinot(args.pinot_state))
    signal.signal(signal.SIGTERM, agent.stop)
    signal.signal(signal.SIGINT, agent.stop)
    LOG.info("node agent starting (pinot state: %s)", args.pinot_state or "none")
    agent.run(args.interval)


if __name__ == "__main__":
    main()
