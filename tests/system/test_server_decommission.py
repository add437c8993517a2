"""End to end: the server_decommission role on a real Pinot cluster and a real Kubernetes API.

The recipe's scenario: 4 servers, the `events` realtime table (5 partitions, replication 2) fed by a
generator, and a broker queried every second during the whole run. Tests run in file order and
share the cluster: decommission pinot-server-3, run again, check mode, a refused removal, then the
hand procedure's order (pod scaled away first): refused when the server cannot come back, and converging
without a failed query when it can.
"""

import contextlib
import json
import threading
import time

import requests

from pinot_cluster import release

PLAYBOOK = "pinotops.pinot.decommission_server"
REALTIME = "events"


class QueryProbe:
    """Queries the broker every second in a thread; counts the queries that failed."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(1.0):
            try:
                self.cluster.count(REALTIME)
                self.ok += 1
            # Any failure (HTTP, timeout, a query exception) is what the probe counts.
            except Exception as exc:  # pylint: disable=broad-exception-caught
                self.failures.append("%s: %s" % (time.strftime("%H:%M:%S"), exc))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(30)


def controller_json(cluster, path):
    response = cluster.controller("GET", path)
    response.raise_for_status()
    return response.json()


def serving(assignment):
    """{segment: [servers]} of an ideal state or external view, counting ONLINE and CONSUMING replicas only."""
    return dict((segment, sorted(s for s, state in replicas.items() if state in ("ONLINE", "CONSUMING")))
                for segment, replicas in assignment.items())


def replicas_by_segment(cluster, table, table_type):
    """{segment: [servers serving it]} from the external view (ONLINE or CONSUMING replicas)."""
    return serving(cluster.external_view(table).get(table_type) or {})


def server_tags(cluster, index):
    response = cluster.controller("GET", "/instances/" + cluster.server_instance_id(index))
    return response.json()["tags"] if response.status_code == 200 else None


def role_vars(pinot_cluster, k8s_cluster, tmp_path, **extra):
    variables = {
        "server_decommission_controller_url": pinot_cluster.controller_url,
        "server_decommission_kubeconfig": str(k8s_cluster.sa_kubeconfig),
        "server_decommission_replicas": 3,
        "server_decommission_rebalance_timeout": 900,
        "server_decommission_not_live_timeout": 300,
        "server_decommission_report_path": str(tmp_path / "report.json"),
    }
    variables.update(extra)
    return variables


def snapshot(pinot_cluster, k8s_cluster):
    """What a change would alter: every server's tags, where each segment is assigned, the replica count."""
    placement = {}
    for table in controller_json(pinot_cluster, "/tables")["tables"]:
        for assignment in controller_json(pinot_cluster, "/tables/%s/idealstate" % table).values():
            for segment, replicas in (assignment or {}).items():
                placement[segment] = sorted(replicas)
    return {"tags": [server_tags(pinot_cluster, i) for i in range(4)], "placement": placement,
            "replicas": k8s_cluster.statefulset()["spec"]["replicas"]}


def assert_unchanged(before, after):
    """Nothing moved: same tags and replica count, and every segment that existed before is where it was.

    Ingestion goes on meanwhile, so new consuming segments may appear and states move on; that is not a change.
    """
    assert after["tags"] == before["tags"]
    assert after["replicas"] == before["replicas"]
    moved = dict((segment, (servers, after["placement"].get(segment)))
                 for segment, servers in before["placement"].items() if after["placement"].get(segment) != servers)
    assert moved == {}


def fully_replicated_on(pinot, table, table_type, servers):
    """Whether every segment of the table is served by exactly 2 of `servers`."""
    return all(len(serving) == 2 and set(serving) <= servers
               for serving in replicas_by_segment(pinot, table, table_type).values())


def wait_until(check, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(3)
    raise AssertionError("timed out after %d s waiting until %s" % (timeout, what))


def test_decommission_one_server(cluster, ansible, tmp_path):
    pinot, k8s = cluster
    removed = pinot.server_instance_id(3)
    with QueryProbe(pinot) as probe:
        rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path))
    assert rc == 0, output[-6000:]
    assert recap["changed"] > 0

    # the instance is dropped and the pod is gone
    assert pinot.controller("GET", "/instances/" + removed).status_code == 404
    assert k8s.statefulset()["spec"]["replicas"] == 3
    assert "pinot-server-3" not in k8s.pods()

    # the 3 remaining servers hold every partition at 2 replicas (a consuming segment created in the last
    # seconds may still be loading its second replica, hence the short wait)
    remaining = set(pinot.server_instance_id(i) for i in range(3))
    offline = pinot.integration_vars()["pinot_offline_table"]
    wait_until(lambda: fully_replicated_on(pinot, REALTIME, "REALTIME", remaining)
               and fully_replicated_on(pinot, offline, "OFFLINE", remaining), 120,
               "every segment is served by 2 of the remaining servers")
    partitions = set(segment.split("__")[1] for segment in replicas_by_segment(pinot, REALTIME, "REALTIME"))
    assert partitions == set("01234")

    # zero failed queries during the whole run, and the report says what happened
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["removed"] == [removed] and report["dropped"] == [removed]
    assert "pinot-server-3" in json.dumps(report["servers_to_partitions_before"])
    assert "pinot-server-3" not in json.dumps(report["servers_to_partitions_after"])
    # Pinot 1.4 and newer: the consuming segments that moved off the server were committed first (force commit)
    if release(pinot.state["version"]) >= (1, 4):
        (events,) = [table for table in report["rebalance"] if table["table"] == REALTIME + "_REALTIME"]
        assert ((events.get("job") or {}).get("segments_force_committed") or 0) >= 1, events


def test_no_rows_lost(cluster):
    pinot, _k8s = cluster
    pinot.stop_generator()
    produced = pinot.produced()
    assert produced > 0
    wait_until(lambda: pinot.count(REALTIME) >= produced, 180, "every produced event is queryable")
    assert pinot.count(REALTIME) == produced
    pinot.start_generator()


def test_second_run_changes_nothing(cluster, ansible, tmp_path):
    pinot, k8s = cluster
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path))
    assert rc == 0, output[-6000:]
    assert recap["changed"] == 0, output[-6000:]


def test_check_mode_changes_nothing(cluster, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, server_decommission_replicas=2),
                                         check=True)
    assert rc == 0, output[-6000:]
    assert recap["changed"] > 0  # it says what it would do
    assert "pinot-server-2" in output
    assert_unchanged(before, snapshot(pinot, k8s))


def test_removal_below_replication_is_refused(cluster, ansible, tmp_path):
    pinot, k8s = cluster
    before = snapshot(pinot, k8s)
    rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, server_decommission_replicas=1))
    assert rc != 0
    assert "would leave tables below their replication" in output
    assert "Nothing was changed" in output
    assert_unchanged(before, snapshot(pinot, k8s))


def rebalance_onto(pinot, table, table_type, server):
    """Spread a table over the tagged servers until `server` serves part of it (the test's own REST calls)."""
    params = {"type": table_type, "reassignInstances": "true", "includeConsuming": "true", "downtime": "false",
              "minAvailableReplicas": "1"}
    response = pinot.controller("POST", "/tables/%s/rebalance" % table, params=params)
    if response.status_code == 409:
        # Pinot 1.x: a job a killed controller left IN_PROGRESS (test_faults) blocks a new rebalance for an hour
        pinot.controller("DELETE", "/tables/%s/rebalance" % table, params={"type": table_type}).raise_for_status()
        response = pinot.controller("POST", "/tables/%s/rebalance" % table, params=params)
    response.raise_for_status()

    def served(view):
        segments = serving(controller_json(pinot, "/tables/%s/%s" % (table, view)).get(table_type) or {})
        return dict((segment, servers) for segment, servers in segments.items() if servers)

    # Converged: the same servers serve each segment in both views. States are not compared: under live ingestion a
    # committing segment is ONLINE in the ideal state while the external view still says CONSUMING (both serve).
    def moved_and_converged():
        ideal = served("idealstate")
        return served("externalview") == ideal and any(server in servers for servers in ideal.values())
    wait_until(moved_and_converged, 600, "%s_%s has segments on %s and converges" % (table, table_type, server))


def server3_back(pinot, k8s):
    """Scale to 4 and wait until pinot-server-3 is live, has its tags and has finished starting; returns its id.

    Finished starting: its health check answers OK. Until then a starting Pinot 1.x server is marked
    shutdownInProgress and brokers route no query to it, although the segments it loads are already ONLINE in the
    external view; a replica a rebalance moved onto it meanwhile leaves its segment unavailable (error 305), as a
    CI run under load showed.
    """
    server3 = pinot.server_instance_id(3)
    k8s.kubectl("-n", k8s.namespace, "scale", "statefulset/pinot-server", "--replicas=4")
    wait_until(lambda: server3 in pinot.live_instances(), 300, "pinot-server-3 is live again")
    # a restarted server registers itself with the default tenant's tags (just after it goes live)
    wait_until(lambda: server_tags(pinot, 3), 120, "pinot-server-3 has its default tags back")
    wait_until(lambda: pinot.server_healthy(3), 300, "pinot-server-3 has finished starting (health check OK)")
    return server3


def scale_server3_away_holding_data(pinot, k8s):
    """The hand procedure's order: pinot-server-3 serves part of both tables, then its pod is scaled away first.

    Leaves the StatefulSet at 3 replicas and Pinot with the dead server still in the ideal states; returns its id.
    """
    server3 = server3_back(pinot, k8s)
    offline = pinot.integration_vars()["pinot_offline_table"]
    for table, table_type in ((REALTIME, "REALTIME"), (offline, "OFFLINE")):
        rebalance_onto(pinot, table, table_type, server3)
    assert any(server3 in servers for servers in replicas_by_segment(pinot, REALTIME, "REALTIME").values())

    k8s.kubectl("-n", k8s.namespace, "scale", "statefulset/pinot-server", "--replicas=3")
    wait_until(lambda: server3 not in pinot.live_instances(), 300, "pinot-server-3 is no longer live")
    assert pinot.controller("GET", "/instances/" + server3).status_code == 200  # Pinot still lists the dead server
    return server3


@contextlib.contextmanager
def server_cannot_start(pinot, index):
    """Server `index`'s process exits at once when started (its JVM refuses an option): a pod that never gets Ready."""
    role = "server-%d" % index
    with pinot.locked() as state:
        argv = state["commands"][role]["argv"]
        state["commands"][role]["argv"] = [argv[0], "-XX:+PinotopsTestCannotStart"] + argv[1:]
    try:
        yield
    finally:
        with pinot.locked() as state:
            state["commands"][role]["argv"] = argv


def flat(output):
    """The playbook output with its line breaks and indentation folded, for phrases a message may wrap."""
    return " ".join(output.split())


def test_a_gone_server_that_cannot_come_back_is_refused(cluster, ansible, tmp_path):
    pinot, k8s = cluster
    server3 = scale_server3_away_holding_data(pinot, k8s)
    before = snapshot(pinot, k8s)

    # check mode says the server would be brought back, and changes nothing
    rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path), check=True)
    assert rc == 0, output[-6000:]
    assert "Would bring them back (pinot-server-3, StatefulSet 3 -> 4 replicas)" in flat(output)
    assert_unchanged(before, snapshot(pinot, k8s))

    with server_cannot_start(pinot, 3):
        started = time.time()
        rc, output, _recap = ansible.playbook(
            PLAYBOOK, role_vars(pinot, k8s, tmp_path, server_decommission_restore_timeout=60))
        seconds = time.time() - started
    text = flat(output)
    assert rc != 0, output[-6000:]
    assert "did not come back within 60 s: pods not Ready: pinot-server-3" in text, output[-6000:]
    assert "The StatefulSet was scaled back to 3 replicas; nothing else was changed." in text
    assert "server_decommission_allow_downtime=true" in text and "error 305" in text
    # read back: same tags, placement and replica count; the pod went again and the server is still not live
    wait_until(lambda: "pinot-server-3" not in k8s.pods(), 120, "the pod of pinot-server-3 is gone again")
    assert_unchanged(before, snapshot(pinot, k8s))
    assert server3 not in pinot.live_instances()
    assert server_tags(pinot, 3) == before["tags"][3]
    print("refused in %.0f s" % seconds)


def test_converges_after_the_pod_was_scaled_away_first(cluster, ansible, tmp_path):
    """The seed's order: the role brings the server back, drains it without downtime; no query fails, no row is lost."""
    pinot, k8s = cluster
    server3 = scale_server3_away_holding_data(pinot, k8s)

    started = time.time()
    with QueryProbe(pinot) as probe:
        rc, output, _recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path))
    seconds = time.time() - started
    assert rc == 0, output[-6000:]
    assert "Bringing them back (pinot-server-3, StatefulSet 3 -> 4 replicas)" in flat(output)

    # dropped, the pod gone, every segment of both tables served by 2 of the remaining servers
    assert pinot.controller("GET", "/instances/" + server3).status_code == 404
    assert k8s.statefulset()["spec"]["replicas"] == 3
    assert "pinot-server-3" not in k8s.pods()
    remaining = set(pinot.server_instance_id(i) for i in range(3))
    offline = pinot.integration_vars()["pinot_offline_table"]
    wait_until(lambda: fully_replicated_on(pinot, REALTIME, "REALTIME", remaining)
               and fully_replicated_on(pinot, offline, "OFFLINE", remaining), 120,
               "every segment is served by 2 of the remaining servers")
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["brought_back"] == [server3] and report["already_dead_rebalanced_with_downtime"] == []
    assert report["dropped"] == [server3]

    # no row lost: every event Kafka acknowledged is queryable
    pinot.stop_generator()
    try:
        produced = pinot.produced()
        wait_until(lambda: pinot.count(REALTIME) >= produced, 180, "every produced event is queryable")
        lost = produced - pinot.count(REALTIME)
    finally:
        pinot.start_generator()
    print("seed order: %d failed queries of %d, %d rows lost of %d, role run %.0f s"
          % (len(probe.failures), probe.ok + len(probe.failures), lost, produced, seconds))
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]
    assert lost == 0


def test_cluster_still_answers(cluster):
    pinot, _k8s = cluster
    assert pinot.count(REALTIME) > 0
    assert requests.get(pinot.controller_url + "/health", timeout=10).text.strip() == "OK"
