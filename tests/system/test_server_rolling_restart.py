"""End to end: the server_rolling_restart role on a real Pinot cluster and a real Kubernetes API.

The generator feeds the `events` realtime table and a broker is queried every second while pods are restarted.
Deleting a pinot-server pod makes the StatefulSet recreate it and the node agent start the same Pinot server
(same instance id, same data folder). Tests run in file order and share the cluster: bad input and a refused
roll first (read back: nothing changed), check mode, the roll of every server, then a roll killed half-way and
run again. Each leaves the cluster as it found it: every server live, enabled, tagged; no roll annotation.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from test_server_decommission import QueryProbe, controller_json, serving, wait_until

PLAYBOOK = "pinotops.pinot.restart_servers"
REALTIME = "events"
ANNOTATION = "pinotops.io/rolling-restart"
R1_TABLE = "events_r1"

# What the role needs in Kubernetes, and nothing more (the role's README lists the same rules).
RBAC = {"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "pinotops-restart"}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "pinotops-restart"}, "rules": [
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["patch"], "resourceNames": ["pinot-server"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "pinotops-restart"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pinotops-restart"},
     "subjects": [{"kind": "ServiceAccount", "name": "pinotops-restart", "namespace": "pinot-quickstart"}]}]}


@pytest.fixture(scope="module")
def restart_kubeconfig(cluster, tmp_path_factory):
    """A kubeconfig of a ServiceAccount with only the role's permissions (removed again at the end)."""
    _pinot, k8s = cluster
    folder = tmp_path_factory.mktemp("restart-rbac")
    manifest = folder / "rbac.json"
    manifest.write_text(json.dumps(RBAC), encoding="utf-8")
    k8s.kubectl("-n", k8s.namespace, "apply", "-f", str(manifest))
    token = k8s.kubectl("-n", k8s.namespace, "create", "token", "pinotops-restart", "--duration=4h").stdout.strip()
    path = folder / "restart.kubeconfig"
    config = json.loads(open(k8s.sa_kubeconfig, encoding="utf-8").read())
    config["users"][0]["user"] = {"token": token}
    path.write_text(json.dumps(config), encoding="utf-8")
    yield str(path)
    k8s.kubectl("-n", k8s.namespace, "delete", "-f", str(manifest), check=False)


def role_vars(pinot, kubeconfig, tmp_path, **extra):
    variables = {
        "server_rolling_restart_controller_url": pinot.controller_url,
        "server_rolling_restart_kubeconfig": kubeconfig,
        "server_rolling_restart_report_path": str(tmp_path / "report.json"),
        "server_rolling_restart_converge_timeout": 600,
    }
    variables.update(extra)
    return variables


def flat(output):
    return " ".join(output.split())


class PodWatch:
    """Reads the server pods' uids twice a second in a thread: how often each pod was recreated."""

    def __init__(self, k8s):
        self.k8s = k8s
        self.uids = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.5):
            try:
                pods = self.k8s.pods()
            except Exception:  # pylint: disable=broad-exception-caught  # a missed read is retried
                continue
            for name, pod in pods.items():
                seen = self.uids.setdefault(name, [])
                if pod["metadata"]["uid"] not in seen:
                    seen.append(pod["metadata"]["uid"])

    def restarts(self):
        """Pod name -> times it was recreated since the watch began."""
        return dict((name, len(uids) - 1) for name, uids in self.uids.items())

    def __enter__(self):
        self.uids = dict((name, [pod["metadata"]["uid"]]) for name, pod in self.k8s.pods().items())
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(10)


def server_states(pinot, k8s):
    """What the role may change, per pod: pod uid, and the instance's enabled / queriesDisabled / tags / liveness."""
    live = set(pinot.live_instances())
    found = {}
    for name, pod in sorted(k8s.pods().items()):
        instance = pinot.server_instance_id(int(name.rsplit("-", 1)[1]))
        config = controller_json(pinot, "/instances/" + instance)
        found[name] = {"uid": pod["metadata"]["uid"], "enabled": config["enabled"],
                       "queries_disabled": config.get("queriesDisabled", "false"), "tags": sorted(config["tags"]),
                       "live": instance in live}
    return found


def annotation(k8s):
    return (k8s.statefulset()["metadata"].get("annotations") or {}).get(ANNOTATION)


def assert_routing_on_everywhere(pinot, k8s):
    for name, state in server_states(pinot, k8s).items():
        assert (state["enabled"], state["queries_disabled"], state["live"]) == (True, "false", True), (name, state)
        assert state["tags"] and "server_untagged" not in state["tags"], (name, state)


def rows_lost(pinot):
    """Stop the generator, wait until every acknowledged event is queryable; return how many are not. Restarts it."""
    pinot.stop_generator()
    try:
        produced = pinot.produced()
        assert produced > 0
        deadline = time.time() + 180
        while time.time() < deadline and pinot.count(REALTIME) < produced:
            time.sleep(3)
        return produced - pinot.count(REALTIME), produced
    finally:
        pinot.start_generator()


def no_failed_queries_nor_rows_lost(pinot, probe, scenario):
    """Prints and asserts the figures a user checks after a scenario: failed queries, acknowledged events missing."""
    lost, produced = rows_lost(pinot)
    print("%s: %d failed queries of %d; %d rows lost of %d"
          % (scenario, len(probe.failures), probe.ok + len(probe.failures), lost, produced))
    assert probe.ok > 0 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def test_unknown_statefulset_is_refused(cluster, ansible, restart_kubeconfig, tmp_path):
    pinot, k8s = cluster
    before = server_states(pinot, k8s)
    with QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path,
                                                                  server_rolling_restart_statefulset="pinot-srv"))
    assert rc != 0
    assert "Nothing was changed. StatefulSet pinot-quickstart/pinot-srv not found" in flat(output), output[-4000:]
    assert server_states(pinot, k8s) == before
    assert annotation(k8s) is None
    no_failed_queries_nor_rows_lost(pinot, probe, "bad input (unknown StatefulSet)")


def test_a_pod_that_does_not_exist_is_refused(cluster, ansible, restart_kubeconfig, tmp_path):
    pinot, k8s = cluster
    before = server_states(pinot, k8s)
    with QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(
            pinot, restart_kubeconfig, tmp_path, server_rolling_restart_pods=["pinot-server-1", "pinot-server-7"]))
    assert rc != 0
    assert ("Nothing was changed. pinot-server-7 is not a pod of StatefulSet pinot-quickstart/pinot-server (its pods: "
            "pinot-server-0, pinot-server-1") in flat(output), output[-4000:]
    assert server_states(pinot, k8s) == before
    assert annotation(k8s) is None
    no_failed_queries_nor_rows_lost(pinot, probe, "bad input (a pod that does not exist)")


def test_a_server_holding_the_only_replica_is_refused(cluster, ansible, restart_kubeconfig, tmp_path):
    """A realtime table with replication 1 on the same topic: every server holds segments no other server serves."""
    pinot, k8s = cluster
    schema = controller_json(pinot, "/schemas/" + REALTIME)
    schema["schemaName"] = R1_TABLE
    config = controller_json(pinot, "/tables/" + REALTIME)["REALTIME"]
    config["tableName"] = R1_TABLE
    config["segmentsConfig"].update(replication="1", replicasPerPartition="1")
    config["segmentsConfig"].pop("schemaName", None)
    try:
        pinot.controller("POST", "/schemas", json=schema).raise_for_status()
        pinot.controller("POST", "/tables", json=config).raise_for_status()
        typed = R1_TABLE + "_REALTIME"

        def consuming():  # the external view appears a moment after the table
            response = pinot.controller("GET", "/tables/%s/externalview" % R1_TABLE)
            return response.status_code == 200 and len(response.json().get("REALTIME") or {}) >= 5
        wait_until(consuming, 120, "%s consumes every partition" % typed)
        before = server_states(pinot, k8s)
        with QueryProbe(pinot) as probe:
            rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path,
                                                                      server_rolling_restart_replica_timeout=10))
        text = flat(output)
        assert rc != 0
        assert "Nothing was changed. Restarting these servers would make segments unavailable" in text, output[-4000:]
        # every server is named with the table; a new consuming segment of `events` served by one replica only
        # at the last read may be named too (the role reads for 10 s only here)
        for index in range(pinot.num_servers):
            named = re.search(r"pinot-server-%d \(%s\): ([^;.]*)" % (index, re.escape(pinot.server_instance_id(index))),
                              text)
            assert named and typed in named.group(1).split(", "), (index, output[-4000:])
        assert "server_rolling_restart_allow_downtime=true" in text
        # read back: no pod restarted, every server still enabled and routed to, no roll recorded
        assert server_states(pinot, k8s) == before
        assert annotation(k8s) is None
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["result"] == "failed" and report["restarted"] == []
        no_failed_queries_nor_rows_lost(pinot, probe, "refusal (a table with replication 1)")
    finally:
        drop_r1_table(pinot)


def drop_r1_table(pinot):
    """Drops the replication-1 table and its schema, and waits until the controller no longer lists them."""
    pinot.controller("DELETE", "/tables/%s?type=realtime" % R1_TABLE)
    wait_until(lambda: R1_TABLE not in controller_json(pinot, "/tables")["tables"], 120, "%s is dropped" % R1_TABLE)
    # 1.x refuses to delete a schema while its table is still being dropped: try again until it is gone
    wait_until(lambda: pinot.controller("DELETE", "/schemas/" + R1_TABLE).status_code in (200, 404)
               and pinot.controller("GET", "/schemas/" + R1_TABLE).status_code == 404, 120,
               "schema %s is deleted" % R1_TABLE)


def test_check_mode_lists_the_order_and_changes_nothing(cluster, ansible, restart_kubeconfig, tmp_path):
    pinot, k8s = cluster
    before = server_states(pinot, k8s)
    rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path), check=True)
    assert rc == 0, output[-6000:]
    order = sorted(k8s.pods(), key=lambda name: -int(name.rsplit("-", 1)[1]))
    assert "Would restart, one at a time, in this order: " + ", ".join(order) in flat(output), output[-6000:]
    assert "Routing off by: disabling the instance in Helix" in flat(output)
    assert server_states(pinot, k8s) == before
    assert annotation(k8s) is None


def test_rolling_restart_of_every_server(cluster, ansible, restart_kubeconfig, tmp_path):
    pinot, k8s = cluster
    pods = sorted(k8s.pods())
    started = time.time()
    with PodWatch(k8s) as watch, QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path))
    seconds = time.time() - started
    assert rc == 0, output[-6000:]
    assert watch.restarts() == dict((name, 1) for name in pods), watch.uids
    assert_routing_on_everywhere(pinot, k8s)
    assert annotation(k8s) is None
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["restarted"] == sorted(pods, key=lambda name: -int(name.rsplit("-", 1)[1])) == report["order"]
    lost, produced = rows_lost(pinot)
    reloads = dict((server["pod"], server["reload_seconds"]) for server in report["servers"])
    print("rolling restart of %d servers: playbook %.0f s (role %.1f s), segment reload per server %s (sum %.1f s), "
          "down (pod deleted -> live) %s; %d failed queries of %d; %d rows lost of %d"
          % (len(pods), seconds, report["seconds"], reloads, sum(reloads.values()),
             dict((server["pod"], server["down_seconds"]) for server in report["servers"]),
             len(probe.failures), probe.ok + len(probe.failures), lost, produced))
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def test_a_killed_roll_resumes_without_restarting_a_server_twice(cluster, ansible, restart_kubeconfig, tmp_path):
    pinot, k8s = cluster
    pods = sorted(k8s.pods())
    highest = max(pods, key=lambda name: int(name.rsplit("-", 1)[1]))
    second = sorted(pods, key=lambda name: -int(name.rsplit("-", 1)[1]))[1]
    argv = [str(ansible.venv / "bin" / "ansible-playbook"), PLAYBOOK, "-e",
            json.dumps(role_vars(pinot, restart_kubeconfig, tmp_path))]
    with PodWatch(k8s) as watch, QueryProbe(pinot) as probe:
        with open(tmp_path / "killed.log", "w", encoding="utf-8") as log:
            process = subprocess.Popen(argv, env=ansible.env(), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                       start_new_session=True)
            try:
                # killed while the second server is down: its pod deleted, the roll recorded on the StatefulSet
                wait_until(lambda: watch.restarts().get(second) == 1 or process.poll() is not None, 600,
                           "%s is recreated" % second)
                assert process.poll() is None, (tmp_path / "killed.log").read_text()[-4000:]
            finally:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        assert json.loads(annotation(k8s))["uids"], "the killed run left no roll record"
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path))
    assert rc == 0, output[-6000:]
    assert "Skipped (restarted since the roll began): %s, %s" % (highest, second) in flat(output), output[-6000:]
    assert watch.restarts() == dict((name, 1) for name in pods), watch.uids
    assert_routing_on_everywhere(pinot, k8s)
    assert annotation(k8s) is None
    lost, produced = rows_lost(pinot)
    print("killed and resumed: %d failed queries of %d; %d rows lost of %d"
          % (len(probe.failures), probe.ok + len(probe.failures), lost, produced))
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def test_a_roll_killed_with_routing_off_restarts_that_server_first(cluster, ansible, restart_kubeconfig, tmp_path):
    """Killed after turning the second server's routing off and before deleting its pod (the drain wait and the grace
    period lie between): the rerun restarts that server first, turns its routing on, then the others, each once."""
    pinot, k8s = cluster
    pods = sorted(k8s.pods(), key=lambda name: -int(name.rsplit("-", 1)[1]))
    second = pods[1]
    second_id = pinot.server_instance_id(int(second.rsplit("-", 1)[1]))

    def routing_off_on_second():
        record = json.loads(annotation(k8s) or "{}")
        return record.get("routing_off") == second and controller_json(pinot, "/instances/" + second_id)["enabled"] is False

    argv = [str(ansible.venv / "bin" / "ansible-playbook"), PLAYBOOK, "-e",
            json.dumps(role_vars(pinot, restart_kubeconfig, tmp_path, server_rolling_restart_grace_period=15))]
    with PodWatch(k8s) as watch, QueryProbe(pinot) as probe:
        with open(tmp_path / "killed.log", "w", encoding="utf-8") as log:
            process = subprocess.Popen(argv, env=ansible.env(), stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                       start_new_session=True)
            try:
                wait_until(lambda: process.poll() is not None or routing_off_on_second(), 900,
                           "the roll turns routing off for %s" % second)
                assert process.poll() is None, (tmp_path / "killed.log").read_text()[-4000:]
            finally:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(30)
        assert watch.restarts().get(second, 0) == 0, "killed too late: %s was already deleted" % second
        assert server_states(pinot, k8s)[second]["enabled"] is False
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, restart_kubeconfig, tmp_path))
    assert rc == 0, output[-6000:]
    assert "in this order: %s" % ", ".join(pods[1:]) in flat(output), output[-6000:]
    assert watch.restarts() == dict((name, 1) for name in pods), watch.uids
    assert_routing_on_everywhere(pinot, k8s)
    assert annotation(k8s) is None
    no_failed_queries_nor_rows_lost(pinot, probe, "killed with routing off, resumed")


def replication_gaps(pinot):
    """Segment replicas the ideal states lack (below the table's replication) or the external views do not serve."""
    gaps = []
    for table in controller_json(pinot, "/tables")["tables"]:
        for table_type, config in controller_json(pinot, "/tables/" + table).items():
            replication = int(config["segmentsConfig"].get("replicasPerPartition")
                              or config["segmentsConfig"]["replication"])
            ideal = serving(controller_json(pinot, "/tables/%s/idealstate" % table).get(table_type) or {})
            view = serving(pinot.external_view(table).get(table_type) or {})
            gaps.extend("%s %s: ideal %s, served %s" % (table_type, segment, servers, view.get(segment))
                        for segment, servers in ideal.items()
                        if len(servers) != replication or view.get(segment) != servers)
    return gaps


def test_cluster_left_as_found(cluster):
    """The harness's state, which the next file starts from: every server live, enabled, tagged and holding
    segments; every table at its replication, served as assigned; the generator running."""
    pinot, k8s = cluster
    assert len(k8s.pods()) == pinot.num_servers
    assert_routing_on_everywhere(pinot, k8s)
    assert pinot.running("generator")
    # a consuming segment just created is served a moment after it is assigned
    wait_until(lambda: not replication_gaps(pinot), 120, "every table is at its replication")
    holding = set()
    for table in controller_json(pinot, "/tables")["tables"]:
        for assignment in pinot.external_view(table).values():
            holding.update(server for replicas in serving(assignment or {}).values() for server in replicas)
    assert holding == set(pinot.server_instance_id(i) for i in range(pinot.num_servers))
    assert R1_TABLE not in controller_json(pinot, "/tables")["tables"]
    assert pinot.controller("GET", "/schemas/" + R1_TABLE).status_code == 404
