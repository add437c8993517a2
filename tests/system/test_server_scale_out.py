"""End to end: the server_scale_out role on a real Pinot cluster and a real Kubernetes API.

Starts from what the cluster has (the harness's 4 servers, tagged and holding segments) and adds two servers, one at a
time, while the generator produces events and the broker is queried every second: bad input first (refused, nothing
changed), check mode, the first scale-out, no row lost, a second run, check mode again; then the second scale-out,
whose playbook is killed once the new server is live and then run again; then both servers are removed again with the
server_decommission role, so the cluster is left with the servers it had. Each scale-out prints one
`SCALE-OUT-RESULT {...}` line (wall time, failed queries, rows lost, segments per server before and after).
"""

import json
import re
import time

import pytest

from test_faults import role_running, wait_for
from test_server_decommission import PLAYBOOK as DECOMMISSION, REALTIME, QueryProbe, controller_json, flat, \
    fully_replicated_on, replicas_by_segment, wait_until

PLAYBOOK = "pinotops.pinot.scale_out_servers"
TABLES = (REALTIME, "REALTIME"), ("eventsOffline", "OFFLINE")


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


def new_server(pinot, ordinal):
    return pinot.state["server_instance_ids"][0].replace("pinot-server-0.", "pinot-server-%d." % ordinal, 1)


def segments_per_server(pinot):
    """{table: {pod: segments}} as the external views serve them (ONLINE or CONSUMING)."""
    counts = {}
    for table, table_type in TABLES:
        per_server = counts.setdefault("%s_%s" % (table, table_type), {})
        for servers in replicas_by_segment(pinot, table, table_type).values():
            for server in servers:
                pod = server.split(".", 1)[0].replace("Server_", "", 1)
                per_server[pod] = per_server.get(pod, 0) + 1
    return counts


def assert_spread(pinot, added, servers):
    """The new server serves segments of every table that Pinot's balanced assignment spreads onto it.

    Pinot keeps a replica where it is while no server holds more than its fair share, ceil(replicas / servers): the
    realtime table (many segments) always reaches the new server; the 4-segment offline table (8 replicas) does not
    have to, and then the servers must hold it within that share (balanced; Pinot answered NO_OP). The realtime table
    is not held to the share: the segments it commits after the rebalance go where their consuming replicas were.
    """
    for table, table_type in TABLES:
        per_server = {}
        for holders in replicas_by_segment(pinot, table, table_type).values():
            for server in holders:
                per_server[server] = per_server.get(server, 0) + 1
        replicas = sum(per_server.values())
        share = -(-replicas // servers)
        if table_type == "REALTIME" or replicas > (servers - 1) * share:
            assert per_server.get(added), "%s_%s has no segment on %s: %s" % (table, table_type, added, per_server)
        if table_type == "OFFLINE":
            assert max(per_server.values()) <= share, "%s_%s is not balanced: %s" % (table, table_type, per_server)


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


def assert_nothing_lost(scenario, pinot, started, probe, before):
    """No failed query and no row lost; prints one SCALE-OUT-RESULT line for the run's note."""
    lost = rows_lost(pinot)
    print("SCALE-OUT-RESULT " + json.dumps({
        "scenario": scenario, "wall_s": round(time.time() - started), "queries": probe.ok + len(probe.failures),
        "failed_queries": len(probe.failures), "rows_lost": lost, "segments_per_server_before": before,
        "segments_per_server_after": segments_per_server(pinot)}, sort_keys=True))
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def assert_second_run_changes_nothing(cluster, ansible, tmp_path, replicas):
    pinot, k8s = cluster
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, replicas))
    assert rc == 0, output[-6000:]
    assert recap["changed"] == 0, output[-6000:]


def assert_scaled_out(pinot, k8s, replicas):
    """The StatefulSet and its pods at `replicas`, the highest one a live server with the tenant's tags that serves
    segments of the tables as Pinot balances them."""
    added = new_server(pinot, replicas - 1)
    assert k8s.statefulset()["spec"]["replicas"] == replicas
    assert "pinot-server-%d" % (replicas - 1) in k8s.pods()
    assert added in pinot.live_instances()
    tags = controller_json(pinot, "/instances/" + added)["tags"]
    assert sorted(tags) == ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]
    assert_spread(pinot, added, replicas)


def test_scale_out_one_server(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    added = new_server(pinot, start)
    before = segments_per_server(pinot)
    started = time.time()
    with QueryProbe(pinot) as probe:
        rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1))
    assert rc == 0, output[-8000:]
    assert recap["changed"] > 0
    assert_scaled_out(pinot, k8s, start + 1)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["result"] == "done" and report["added"] == [added]
    assert added not in report["servers_before"] and added in report["servers_after"]
    assert added not in report["segments_per_server_before"]["events_REALTIME"]
    assert report["segments_per_server_after"]["events_REALTIME"][added] > 0

    assert_nothing_lost("scale out %d -> %d" % (start, start + 1), pinot, started, probe, before)


def test_second_run_changes_nothing(cluster, start, ansible, tmp_path):
    assert_second_run_changes_nothing(cluster, ansible, tmp_path, start + 1)


def test_check_mode_after_the_scale_out_changes_nothing(cluster, start, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 1), check=True)
    assert rc == 0, output[-6000:]
    assert recap["changed"] == 0, output[-6000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def test_scale_out_killed_after_the_scale_then_run_again(cluster, start, ansible, tmp_path):
    """The second server: the playbook is killed once the new server is live in Pinot (before its data moved), and
    the rerun (the StatefulSet is already at the target) finishes: tags, rebalance, verify."""
    pinot, k8s = cluster
    added = new_server(pinot, start + 1)
    before = segments_per_server(pinot)
    started = time.time()
    with QueryProbe(pinot) as probe:
        with role_running(ansible, role_vars(pinot, k8s, tmp_path, start + 2), tmp_path / "killed.log",
                          playbook=PLAYBOOK) as process:
            wait_for(lambda: added in pinot.live_instances(), process, "the new server is live", timeout=900)
        assert k8s.statefulset()["spec"]["replicas"] == start + 2
        tasks = re.findall(r"^TASK \[(.*?)\]", (tmp_path / "killed.log").read_text(encoding="utf-8"), re.MULTILINE)
        print("killed during: %s" % (tasks[-1] if tasks else "nothing"))
        rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, start + 2))
    assert rc == 0, output[-8000:]
    assert recap["changed"] > 0
    assert "Not scaling: pinot-quickstart/pinot-server already has %d replicas" % (start + 2) in flat(output)
    assert_scaled_out(pinot, k8s, start + 2)
    assert json.loads((tmp_path / "report.json").read_text())["result"] == "done"

    assert_nothing_lost("scale out %d -> %d, killed once the server was live, run again" % (start + 1, start + 2),
                        pinot, started, probe, before)


def test_second_run_after_the_rerun_changes_nothing(cluster, start, ansible, tmp_path):
    assert_second_run_changes_nothing(cluster, ansible, tmp_path, start + 2)


def test_scale_back_with_the_decommission_role(cluster, start, ansible, tmp_path):
    """Leaves the cluster with the servers the file found: both new servers drained, scaled away and dropped."""
    pinot, k8s = cluster
    variables = {"server_decommission_controller_url": pinot.controller_url,
                 "server_decommission_kubeconfig": str(k8s.sa_kubeconfig), "server_decommission_replicas": start,
                 "server_decommission_rebalance_timeout": 900, "server_decommission_not_live_timeout": 300}
    started = time.time()
    with QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(DECOMMISSION, variables)
    assert rc == 0, output[-8000:]
    for ordinal in (start, start + 1):
        assert pinot.controller("GET", "/instances/" + new_server(pinot, ordinal)).status_code == 404
        assert "pinot-server-%d" % ordinal not in k8s.pods()
    assert k8s.statefulset()["spec"]["replicas"] == start
    remaining = set(pinot.state["server_instance_ids"][:start])
    wait_until(lambda: all(fully_replicated_on(pinot, table, table_type, remaining) for table, table_type in TABLES),
               120, "every segment is served by 2 of the remaining servers")
    print("scale back %d -> %d with server_decommission: %.0f s, %d failed queries of %d"
          % (start + 2, start, time.time() - started, len(probe.failures), probe.ok + len(probe.failures)))
    assert probe.failures == [], probe.failures[:5]
