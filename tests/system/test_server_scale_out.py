"""End to end: the server_scale_out role on a real Pinot cluster and a real Kubernetes API.

Starts from what the cluster has (4 servers on a fresh cluster, 3 after the decommission file) and adds one server
while the generator produces events and the broker is queried every second: bad input first (refused, nothing
changed), check mode, the scale-out, no row lost, a second run, then the server is removed again with the
server_decommission role, so the cluster is left as it was found.
"""

import json
import time

import pytest

from test_server_decommission import PLAYBOOK as DECOMMISSION, REALTIME, QueryProbe, controller_json, flat, \
    fully_replicated_on, replicas_by_segment, wait_until

PLAYBOOK = "pinotops.pinot.scale_out_servers"
TABLES = (REALTIME, "REALTIME"), ("eventsOffline", "OFFLINE")
TIMINGS = {}


@pytest.fixture(scope="module")
def start(cluster):
    """The StatefulSet's replica count when the file starts (the count it is left with)."""
    _pinot, k8s = cluster
    return k8s.statefulset()["spec"]["replicas"]


def role_vars(pinot, k8s, tmp_path, replicas, **extra):
    variables = {
        "server_scale_out_controller_url": pinot.controller_url,
        "server_scale_out_kubeconfig": str(k8s.sa_kubeconfig),
        "server_scale_out_replicas": replicas,
        "server_scale_out_rebalance_timeout": 900,
        "server_scale_out_report_path": str(tmp_path / "report.json"),
    }
    variables.update(extra)
    return variables


def snapshot(pinot, k8s):
    """What a change would alter: the servers Pinot lists with their tags, where each segment is assigned, the pods."""
    servers = [name for name in controller_json(pinot, "/instances")["instances"] if name.startswith("Server_")]
    tags = dict((name, controller_json(pinot, "/instances/" + name)["tags"]) for name in servers)
    placement = {}
    for table in controller_json(pinot, "/tables")["tables"]:
        for assignment in controller_json(pinot, "/tables/%s/idealstate" % table).values():
            for segment, replicas in (assignment or {}).items():
                placement[segment] = sorted(replicas)
    return {"tags": tags, "placement": placement, "replicas": k8s.statefulset()["spec"]["replicas"],
            "pods": sorted(k8s.pods())}


def assert_unchanged(before, after):
    """Same servers, tags, replica count and pods, and every segment that existed before is where it was.

    Ingestion goes on meanwhile, so new consuming segments may appear; that is not a change.
    """
    for key in ("tags", "replicas", "pods"):
        assert after[key] == before[key], key
    moved = dict((segment, (servers, after["placement"].get(segment)))
                 for segment, servers in before["placement"].items() if after["placement"].get(segment) != servers)
    assert moved == {}


def new_server(pinot, start):
    return pinot.state["server_instance_ids"][0].replace("pinot-server-0.", "pinot-server-%d." % start, 1)


def report_tables(tmp_path):
    """The tables the report says were (or would be) rebalanced."""
    return [entry["table"] for entry in json.loads((tmp_path / "report.json").read_text())["rebalance"]]


def rows_lost(pinot):
    """Events Kafka acknowledged that the broker does not count (the generator is paused while counting)."""
    pinot.stop_generator()
    try:
        produced = pinot.produced()
        wait_until(lambda: pinot.count(REALTIME) >= produced, 180, "every produced event is queryable")
        return produced - pinot.count(REALTIME)
    finally:
        pinot.start_generator()


def test_target_below_current_is_refused(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start - 1))
    assert rc != 0
    text = flat(output)
    assert "Nothing was changed. server_scale_out_replicas=%d is below the %d replicas" % (start - 1, start) in text, \
        output[-4000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def test_unknown_statefulset_is_refused(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1,
                                                              server_scale_out_statefulset="pinot-no-such-server"))
    assert rc != 0
    assert "Nothing was changed. StatefulSet pinot-quickstart/pinot-no-such-server not found." in flat(output), \
        output[-4000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def test_check_mode_changes_nothing(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1), check=True)
    assert rc == 0, output[-6000:]
    assert recap["changed"] > 0  # it says what it would do
    text = flat(output)
    assert "Servers to add: %s" % new_server(pinot, start) in text
    assert "Scaling pinot-quickstart/pinot-server from %d to %d replicas" % (start, start + 1) in text
    assert "Tables of tenant DefaultTenant to rebalance onto them: " in text
    assert set(report_tables(tmp_path)) == {"eventsOffline_OFFLINE", "events_REALTIME"}
    assert_unchanged(before, snapshot(pinot, k8s))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["check_mode"] and report["added"] == [new_server(pinot, start)]


def test_scale_out_one_server(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    added = new_server(pinot, start)
    started = time.time()
    with QueryProbe(pinot) as probe:
        rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1))
    TIMINGS["scale_out"] = time.time() - started
    assert rc == 0, output[-8000:]
    assert recap["changed"] > 0

    # the pod runs, the server is live with the tenant's tags, and serves segments of both tables
    assert k8s.statefulset()["spec"]["replicas"] == start + 1
    assert "pinot-server-%d" % start in k8s.pods()
    assert added in pinot.live_instances()
    tags = controller_json(pinot, "/instances/" + added)["tags"]
    assert sorted(tags) == ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]
    for table, table_type in TABLES:
        held = [segment for segment, servers in replicas_by_segment(pinot, table, table_type).items() if added in servers]
        assert held, "%s_%s has no segment on %s" % (table, table_type, added)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["result"] == "done" and report["added"] == [added]
    assert added not in report["servers_before"] and added in report["servers_after"]
    for table in ("events_REALTIME", "eventsOffline_OFFLINE"):
        assert added not in report["segments_per_server_before"][table]
        assert report["segments_per_server_after"][table][added] > 0

    lost = rows_lost(pinot)
    TIMINGS["failed_queries"], TIMINGS["queries"], TIMINGS["rows_lost"] = (
        len(probe.failures), probe.ok + len(probe.failures), lost)
    print("scale out %d -> %d: role run %.0f s, %d failed queries of %d, %d rows lost"
          % (start, start + 1, TIMINGS["scale_out"], len(probe.failures), probe.ok + len(probe.failures), lost))
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def test_second_run_changes_nothing(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1))
    assert rc == 0, output[-6000:]
    assert recap["changed"] == 0, output[-6000:]


def test_check_mode_after_the_scale_out_changes_nothing(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1), check=True)
    assert rc == 0, output[-6000:]
    assert recap["changed"] == 0, output[-6000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def test_scale_back_with_the_decommission_role(cluster, start, ansible, tmp_path):
    """Leaves the cluster as the file found it: the new server drained, scaled away and dropped."""
    pinot, k8s = cluster
    added = new_server(pinot, start)
    variables = {"server_decommission_controller_url": pinot.controller_url,
                 "server_decommission_kubeconfig": str(k8s.sa_kubeconfig), "server_decommission_replicas": start,
                 "server_decommission_rebalance_timeout": 900, "server_decommission_not_live_timeout": 300}
    started = time.time()
    with QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(DECOMMISSION, variables)
    TIMINGS["scale_back"] = time.time() - started
    assert rc == 0, output[-8000:]
    assert pinot.controller("GET", "/instances/" + added).status_code == 404
    assert k8s.statefulset()["spec"]["replicas"] == start
    assert "pinot-server-%d" % start not in k8s.pods()
    remaining = set(pinot.state["server_instance_ids"][:start])
    wait_until(lambda: all(fully_replicated_on(pinot, table, table_type, remaining) for table, table_type in TABLES),
               120, "every segment is served by 2 of the remaining servers")
    print("scale back %d -> %d with server_decommission: %.0f s, %d failed queries of %d"
          % (start + 1, start, TIMINGS["scale_back"], len(probe.failures), probe.ok + len(probe.failures)))
    assert probe.failures == [], probe.failures[:5]
