"""A reviewed plan and an apply that refuses drift (issue 17), on a real Pinot cluster and a real Kubernetes API.

One plan (check mode) of removing pinot-server-3, then: bad plan input and a plan older than the allowed age are
refused; a tag changed, a table added and a server killed after the plan are each refused by name; and the plan applied
by its hash decommissions the server with the broker queried every second. Starts from
and leaves 4 servers holding segments: the module fixture brings pinot-server-3 back (scale to 4, rebalance onto it)
as the fault suite does.
"""

import hashlib
import json
import subprocess

import pytest

from test_faults import bring_back_server3
from test_server_decommission import (PLAYBOOK, REALTIME, QueryProbe, assert_unchanged, fully_replicated_on,
                                      role_vars, server_tags, snapshot, wait_until)


def runner_job(ansible, private, extra_vars, check=False):
    """Run the decommission playbook as a job through ansible-runner (as AWX does); returns (status, rc, events)."""
    (private / "project").mkdir(parents=True, exist_ok=True)
    (private / "env").mkdir(exist_ok=True)
    (private / "project" / "decommission.yml").write_text(
        "- name: Decommission\n  ansible.builtin.import_playbook: %s\n" % PLAYBOOK)
    (private / "env" / "extravars").write_text(json.dumps(extra_vars))
    (private / "env" / "envvars").write_text(json.dumps(ansible.env()))
    (private / "env" / "cmdline").write_text("--check" if check else "")
    argv = [str(ansible.venv / "bin" / "ansible-runner"), "run", str(private), "-p", "decommission.yml", "--ident", "job"]
    proc = subprocess.run(argv, env=ansible.env(), capture_output=True, text=True, timeout=1800, check=False)
    artifacts = private / "artifacts" / "job"
    events = [json.loads(path.read_text()) for path in sorted(
        (artifacts / "job_events").glob("*.json"), key=lambda path: int(path.name.split("-")[0]))]
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "no status"
    rc = int((artifacts / "rc").read_text()) if (artifacts / "rc").exists() else proc.returncode
    assert events, proc.stdout[-4000:] + proc.stderr[-4000:]
    return status, rc, events


def job_stats(events):
    """The playbook_on_stats event's data: per-host counts, and artifact_data (what set_stats published)."""
    (stats,) = [event["event_data"] for event in events if event["event"] == "playbook_on_stats"]
    return stats


def job_output(events):
    return "\n".join(event.get("stdout", "") for event in events)


def flat(output):
    return " ".join(output.split())


def rehash(plan):
    """The plan's hash as the plan format defines it: sha256 of canonical JSON of format, kind, fingerprint, decision."""
    body = dict((key, plan[key]) for key in ("format", "kind", "fingerprint", "decision"))
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    plan["hash"] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return plan


@pytest.fixture(scope="module")
def plan(cluster, ansible, tmp_path_factory):
    """The plan job (check mode, through ansible-runner) of removing pinot-server-3: (plan file, its folder, the job's
    events). Afterwards pinot-server-3 is back holding segments."""
    pinot, k8s = cluster
    work = tmp_path_factory.mktemp("plan")
    before = snapshot(pinot, k8s)
    status, rc, events = runner_job(ansible, work / "runner", role_vars(
        pinot, k8s, work, server_decommission_plan_path=str(work / "plan.json")), check=True)
    assert (status, rc) == ("successful", 0), job_output(events)[-6000:]
    assert_unchanged(before, snapshot(pinot, k8s))
    yield json.loads((work / "plan.json").read_text()), work, events
    if pinot.controller("GET", "/instances/" + pinot.server_instance_id(3)).status_code == 404 \
            or k8s.statefulset()["spec"]["replicas"] != 4:
        bring_back_server3(pinot, k8s)


def test_check_mode_writes_the_plan(cluster, plan):
    pinot, _k8s = cluster
    record, work, events = plan
    server3 = pinot.server_instance_id(3)
    assert len(record["hash"]) == 64 and record["decision"] == {"remove": [server3], "target_replicas": 3}
    assert record["fingerprint"]["statefulset"]["replicas"] == 4
    assert sorted(record["fingerprint"]["instances"]) == sorted(pinot.server_instance_id(i) for i in range(4))
    (server,) = record["servers"]
    tables = dict((move["table"], move) for move in server["tables"])
    offline = pinot.integration_vars()["pinot_offline_table"] + "_OFFLINE"
    assert set(tables) == {REALTIME + "_REALTIME", offline}
    realtime = tables[REALTIME + "_REALTIME"]
    assert realtime["segments"] > 0 and realtime["consuming"] > 0 and realtime["replication_after"] == 2
    assert len(realtime["servers_after"]) == 3
    summary = (work / "plan.md").read_text()
    assert record["hash"] in summary and "Segments to move" in summary
    # the job's events: no task failed, the summary was shown, and set_stats published the hash and the summary
    stats = job_stats(events)
    assert stats["failures"] == {} and stats["dark"] == {}
    assert stats["artifact_data"]["server_decommission_plan_hash"] == record["hash"]
    assert stats["artifact_data"]["server_decommission_plan_summary"] == summary
    assert record["hash"] in job_output(events)
    print("PLAN %s" % json.dumps(dict((t, (m["segments"], m["consuming"], m.get("bytes"))) for t, m in tables.items())))


def test_bad_plan_input_is_refused_and_nothing_changes(cluster, ansible, plan, tmp_path):
    pinot, k8s = cluster
    record, work, _output = plan
    not_json = tmp_path / "not.json"
    not_json.write_text("approved by: me\n")
    other_cluster = tmp_path / "other-cluster.json"
    other_cluster.write_text(json.dumps(rehash(dict(record, fingerprint=dict(record["fingerprint"], cluster="Other")))))
    other_sts = tmp_path / "other-sts.json"
    other_sts.write_text(json.dumps(rehash(dict(record, fingerprint=dict(
        record["fingerprint"], statefulset=dict(record["fingerprint"]["statefulset"], name="other-server"))))))
    cases = [
        ({"server_decommission_plan_hash": record["hash"][:40]}, "must be 64 lowercase hex characters (it has 40 characters)"),
        ({"server_decommission_plan_path": str(not_json)}, "the plan file is not JSON"),
        ({"server_decommission_plan_path": str(other_cluster)}, "the plan is for Pinot cluster Other, but the controller serves"),
        ({"server_decommission_plan_path": str(other_sts)}, "the plan is for StatefulSet %s/other-server, but this run scales "
         "%s/pinot-server" % (k8s.namespace, k8s.namespace)),
        ({"server_decommission_plan_path": str(work / "plan.json"), "server_decommission_plan_max_age": 1},
         "s old, older than server_decommission_plan_max_age (1 s): make a new plan"),
    ]
    before = snapshot(pinot, k8s)
    for extra, expected in cases:
        rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(pinot, k8s, tmp_path, **extra))
        assert rc != 0 and recap.get("changed", 0) == 0, output[-6000:]
        assert expected in flat(output) and "Nothing was changed." in output, output[-6000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def apply_is_refused(pinot, k8s, ansible, plan, tmp_path, change):
    """Apply the plan file with its hash; assert it is refused naming `change`, and nothing changed."""
    record, work, _output = plan
    before = snapshot(pinot, k8s)
    rc, output, recap = ansible.playbook(PLAYBOOK, role_vars(
        pinot, k8s, tmp_path, server_decommission_plan_path=str(work / "plan.json"),
        server_decommission_plan_hash=record["hash"]))
    assert rc != 0 and recap.get("changed", 0) == 0, output[-6000:]
    text = flat(output)
    assert "Nothing was changed. The approved plan %s cannot be applied" % record["hash"] in text, output[-6000:]
    assert "cluster changed since the plan: " + change in text, output[-6000:]
    assert_unchanged(before, snapshot(pinot, k8s))


def test_a_tag_changed_after_the_plan_is_refused_and_nothing_changes(cluster, ansible, plan, tmp_path):
    pinot, k8s = cluster
    record, _work, _output = plan
    server1 = pinot.server_instance_id(1)
    tags = server_tags(pinot, 1)
    pinot.controller("PUT", "/instances/%s/updateTags" % server1,
                     params={"tags": ",".join(tags + ["pinotops_drift"]), "updateBrokerResource": "false"}).raise_for_status()
    try:
        apply_is_refused(pinot, k8s, ansible, plan, tmp_path, "tags changed on %s" % server1)
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["result"] == "failed" and report["plan_hash"] != record["hash"]
    finally:
        pinot.controller("PUT", "/instances/%s/updateTags" % server1,
                         params={"tags": ",".join(tags), "updateBrokerResource": "false"}).raise_for_status()
    assert server_tags(pinot, 1) == tags


def test_a_table_added_after_the_plan_is_refused_and_nothing_changes(cluster, ansible, plan, tmp_path):
    """A second realtime table on the same topic (Pinot wants a schema of its own name): its consuming segments land on
    pinot-server-3 too."""
    pinot, k8s = cluster
    schema = pinot.controller("GET", "/schemas/%s" % REALTIME).json()
    config = pinot.controller("GET", "/tables/%s" % REALTIME, params={"type": "realtime"}).json()["REALTIME"]
    schema["schemaName"] = config["segmentsConfig"]["schemaName"] = "pinotops_drift"
    config["tableName"] = "pinotops_drift_REALTIME"
    config["tableIndexConfig"]["streamConfigs"]["stream.kafka.consumer.prop.auto.offset.reset"] = "largest"
    for path, body in (("/schemas", schema), ("/tables", config)):
        response = pinot.controller("POST", path, json=body)
        assert response.status_code == 200, (path, response.status_code, response.text)
    try:
        def on_server3():
            return pinot.server_instance_id(3) in json.dumps(pinot.controller("GET", "/tables/pinotops_drift/idealstate").json())
        wait_until(on_server3, 120, "the new table has a consuming segment on pinot-server-3")
        apply_is_refused(pinot, k8s, ansible, plan, tmp_path, "new table affected: pinotops_drift_REALTIME")
    finally:
        pinot.controller("DELETE", "/tables/pinotops_drift", params={"type": "realtime"}).raise_for_status()
        pinot.controller("DELETE", "/schemas/pinotops_drift").raise_for_status()
    assert "pinotops_drift" not in json.dumps(pinot.controller("GET", "/tables").json())


def test_a_server_killed_after_the_plan_is_refused_and_nothing_changes(cluster, ansible, plan, tmp_path):
    pinot, k8s = cluster
    server1 = pinot.server_instance_id(1)
    pinot.stop_server(1, graceful=False)
    try:
        wait_until(lambda: server1 not in pinot.live_instances(), 120, "pinot-server-1 is no longer live")
        apply_is_refused(pinot, k8s, ansible, plan, tmp_path, "%s is no longer live" % server1)
    finally:
        pinot.start_server(1)
    servers = set(pinot.server_instance_id(i) for i in range(4))
    offline = pinot.integration_vars()["pinot_offline_table"]
    wait_until(lambda: fully_replicated_on(pinot, REALTIME, "REALTIME", servers)
               and fully_replicated_on(pinot, offline, "OFFLINE", servers), 300,
               "every segment is served twice again after pinot-server-1 came back")


def test_the_plan_applied_by_its_hash(cluster, ansible, plan, tmp_path):
    """The apply job gets the hash from the plan job's set_stats artifact, as an AWX workflow passes it on."""
    pinot, k8s = cluster
    record, _work, plan_events = plan
    server3 = pinot.server_instance_id(3)
    approved = job_stats(plan_events)["artifact_data"]["server_decommission_plan_hash"]
    with QueryProbe(pinot) as probe:
        status, rc, events = runner_job(ansible, tmp_path / "runner", role_vars(
            pinot, k8s, tmp_path, server_decommission_plan_hash=approved))
    assert (status, rc) == ("successful", 0), job_output(events)[-6000:]
    stats = job_stats(events)
    assert stats["failures"] == {} and stats["changed"].get("localhost", 0) > 0
    assert [e for e in events if e["event"] == "runner_on_ok"
            and e["event_data"]["task"] == "Refuse a plan the cluster no longer matches"]
    assert pinot.controller("GET", "/instances/" + server3).status_code == 404
    assert k8s.statefulset()["spec"]["replicas"] == 3
    assert probe.ok > 10 and probe.failures == [], probe.failures[:5]

    report = json.loads((tmp_path / "report.json").read_text())
    assert report["plan_hash"] == record["hash"] and report["plan_approved"] is True
    assert "plan matches the cluster (hash %s)" % record["hash"] in report["checks_passed"]
    assert report["dropped"] == [server3]
    assert "Plan hash executed: `%s` (approved plan)" % record["hash"] in (tmp_path / "report.md").read_text()

    # the plan's counts are what the run moved off the server: the segments the external view served on it before
    # the run. The offline table's exactly; the realtime table commits a segment per partition every few hundred
    # rows, so by the apply it holds the planned segments plus those committed since (measured: 2 planned, 8 moved)
    planned = dict((move["table"], move["segments"]) for move in record["servers"][0]["tables"])
    moved = dict((table, report["segments_per_server_before"][table].get(server3, 0)) for table in planned)
    left = dict((table, report["segments_per_server_after"][table].get(server3, 0)) for table in planned)
    print("PLANNED %s MOVED %s LEFT %s" % (planned, moved, left))
    offline = pinot.integration_vars()["pinot_offline_table"] + "_OFFLINE"
    assert moved[offline] == planned[offline]
    assert moved[REALTIME + "_REALTIME"] >= planned[REALTIME + "_REALTIME"] > 0
    assert set(left.values()) == {0}
