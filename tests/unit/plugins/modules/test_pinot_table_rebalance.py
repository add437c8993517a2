# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_table_rebalance, pinot_table_rebalance_info
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import Reply, error, server_id
from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import RebalanceSim

S0, S1, S2, S3 = (server_id(i) for i in range(4))


def on(*servers, **kwargs):
    state = kwargs.get("state", "ONLINE")
    return dict((server, state) for server in servers)


@pytest.fixture
def cluster(fake):
    """Server 3 was untagged and still holds segments of a hybrid table `events` and of `stats`."""
    fake.instances[S3]["tags"] = ["server_untagged"]
    fake.add_table("stats_OFFLINE", {"stats_0": on(S0, S3), "stats_1": on(S1, S3), "stats_2": on(S1, S2)})
    fake.add_table("events_OFFLINE", {"events_0": on(S2, S3)})
    fake.add_table("events_REALTIME", {
        "events__0__0__20260101T0000Z": on(S0, S3),
        "events__0__1__20260101T0100Z": on(S0, S3, state="CONSUMING"),
        "events__1__0__20260101T0000Z": on(S1, S2, state="CONSUMING"),
    })
    return fake


def args(fake, **kwargs):
    base = {"controller_url": fake.url, "poll_interval": 0.02}
    base.update(kwargs)
    return base


def holders(fake, typed, view):
    return set(i for replicas in fake.tables[typed][view].values() for i in replicas)


def posts(fake, dry_run):
    return [c for c in fake.calls("POST", "/tables/") if c[2].get("dryRun") == [dry_run]]


# ---- plan (check mode) ---------------------------------------------------------------------------

def test_check_mode_is_pinots_dry_run_and_moves_nothing(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"]), check_mode=True, diff=True)
    assert result["changed"] is True
    (table,) = result["tables"]
    assert table["table"] == "stats_OFFLINE" and table["status"] == "DONE" and table["outcome"] == "planned"
    assert table["plan"]["servers"][S3] == {"before": 2, "after": 0, "add": 0, "remove": 2}
    assert table["plan"]["servers_removed"] == [S3] and table["plan"]["replicas_to_add"] == 2
    assert table["pre_checks"]["isMinimizeDataMovement"]["preCheckStatus"] == "PASS"
    assert table["summary"]["serverInfo"]["serverSegmentChangeInfo"][S3]["serverStatus"] == "REMOVED"
    assert result["diff"]["before"]["stats_OFFLINE"][S3] == 2 and result["diff"]["after"]["stats_OFFLINE"][S3] == 0
    assert posts(cluster, "false") == [] and len(posts(cluster, "true")) == 1
    assert posts(cluster, "true")[0][2]["preChecks"] == ["true"]
    assert S3 in holders(cluster, "stats_OFFLINE", "idealstate")


def test_check_mode_on_old_pinot_plans_from_the_target_assignment(run_module, cluster):
    RebalanceSim(cluster, "0.11")
    result = run_module(pinot_table_rebalance, args(cluster, table=["events"]), check_mode=True)
    offline, realtime = result["tables"]
    assert (offline["table"], realtime["table"]) == ("events_OFFLINE", "events_REALTIME")
    assert realtime["plan"]["servers"][S3]["remove"] == 2 and realtime["summary"] is None
    assert result["changed"] is True and cluster.writes() == posts(cluster, "true")


def test_tables_are_found_from_two_listings_not_a_read_per_table(run_module, cluster):
    RebalanceSim(cluster, "0.11")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats_OFFLINE", "events"]), check_mode=True)
    assert [table["table"] for table in result["tables"]] == ["stats_OFFLINE", "events_OFFLINE", "events_REALTIME"]
    assert [c[2]["type"] for c in cluster.calls("GET", "/tables") if c[1] == "/tables"] == [["offline"], ["realtime"]]
    assert [c for c in cluster.calls("GET", "/tables/") if c[1].count("/") == 2] == []  # no table config read


def test_defaults_that_make_untag_then_rebalance_work_are_sent(run_module, cluster):
    RebalanceSim(cluster, "0.11")
    run_module(pinot_table_rebalance, args(cluster, table=["stats_OFFLINE"]), check_mode=True)
    query = posts(cluster, "true")[0][2]
    assert query["reassignInstances"] == ["true"] and query["includeConsuming"] == ["true"]
    assert query["minAvailableReplicas"] == ["1"] and query["type"] == ["OFFLINE"]
    assert "bootstrap" not in query and "downtime" not in query and "bestEfforts" not in query


# ---- run and wait ---------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["0.11", "1.0", "1.1", "1.4"])
def test_rebalance_moves_everything_off_the_untagged_server(run_module, cluster, version):
    RebalanceSim(cluster, version)
    result = run_module(pinot_table_rebalance, args(cluster, table=["events", "stats"]))
    assert result["changed"] is True, result["msg"]
    assert [t["table"] for t in result["tables"]] == ["events_OFFLINE", "events_REALTIME", "stats_OFFLINE"]
    for table in result["tables"]:
        assert table["outcome"] == "finished" and table["converged"] is True and table["status"] == "DONE"
        assert S3 not in holders(cluster, table["table"], "idealstate")
        assert S3 not in holders(cluster, table["table"], "externalview")
        assert (table["job_id"] is None) == (version == "0.11")
        assert table["segments_moved"] == table["plan"]["replicas_to_add"] > 0
    # Consuming segments moved too.
    assert cluster.tables["events_REALTIME"]["idealstate"]["events__0__1__20260101T0100Z"] == on(S0, S2, state="CONSUMING")
    assert len(posts(cluster, "false")) == 3
    if version == "0.11":
        assert [c for c in cluster.calls("GET", "/rebalanceStatus/") if "probe" not in c[1]] == []

    again = run_module(pinot_table_rebalance, args(cluster, table=["events", "stats"]))
    assert again["changed"] is False and [t["already_balanced"] for t in again["tables"]] == [True] * 3
    # Pinot before 1.4 answers DONE "Instance reassigned in dry-run mode, table is already balanced" every time.
    assert [t["status"] for t in again["tables"]] == ["NO_OP" if version == "1.4" else "DONE"] * 3
    assert len(posts(cluster, "false")) == 3  # a dry run that moves nothing starts nothing


def test_wait_false_returns_job_and_info_module_follows(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4", polls=3)
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], wait=False))
    (table,) = result["tables"]
    assert result["changed"] is True and table["outcome"] == "not_waited" and table["job_id"] in sim.jobs
    assert table["progress"]["segments"] == 3

    info_args = {"controller_url": cluster.url, "table": ["stats"], "instances": [S3]}
    info = run_module(pinot_table_rebalance_info, info_args)
    (entry,) = info["tables"]
    assert info["changed"] is False and entry["job"]["job_id"] == table["job_id"]
    assert info["force_commit_supported"] is True  # the 1.4 listing names the rebalance's forceCommit
    assert info["done"] is False and entry["on_servers"][S3]["external_view"] == 2
    assert info["msg"].startswith("stats_OFFLINE: 1/3 segments converged (33.3%), job IN_PROGRESS")
    for _attempt in range(5):
        info = run_module(pinot_table_rebalance_info, info_args)
        if info["done"]:
            break
    assert info["done"] is True and info["tables"][0]["job"]["status"] == "DONE"
    assert info["tables"][0]["on_servers"][S3] == {"ideal_state": 0, "external_view": 0}
    assert info["msg"] == "stats_OFFLINE: 3/3 segments converged (100.0%), job DONE, 0 segment replicas left on the given servers"


def test_info_on_old_pinot_has_no_job(run_module, cluster):
    RebalanceSim(cluster, "0.11")
    info = run_module(pinot_table_rebalance_info, {"controller_url": cluster.url, "tenant": "DefaultTenant",
                                                   "table_type": "OFFLINE"})
    assert [t["table"] for t in info["tables"]] == ["events_OFFLINE", "stats_OFFLINE"]
    assert all(t["job"] is None for t in info["tables"]) and info["done"] is True
    assert info["force_commit_supported"] is False


def test_409_attaches_to_the_running_job(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4")
    from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import target_assignment
    running = sim.start_job("stats_OFFLINE", target_assignment(cluster, "stats_OFFLINE"))
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats_OFFLINE"]))
    (table,) = result["tables"]
    assert table["attached"] is True and table["job_id"] == running["job_id"]
    assert table["outcome"] == "finished" and table["status"] == "DONE" and result["changed"] is True
    assert len(posts(cluster, "false")) == 1  # the POST was not repeated


STILL_IN_PROGRESS = "IN_PROGRESS with nothing left to move (for "
MATCHES = "the external view matches the target"


@pytest.fixture
def short_settle(monkeypatch):
    """Seconds, not a minute, of a job that reports IN_PROGRESS after it moved everything."""
    from ansible_collections.pinotops.pinot.plugins.module_utils import rebalance_wait
    monkeypatch.setattr(rebalance_wait, "SETTLED_AFTER_SECONDS", 0.3, raising=False)


def test_a_job_pinot_never_marks_done_is_finished_once_everything_moved(run_module, cluster, short_settle):
    """Pinot 1.5.1: the job moved every segment but its status stayed IN_PROGRESS with nothing remaining."""
    sim = RebalanceSim(cluster, "1.4", never_done=["events_REALTIME"])
    result = run_module(pinot_table_rebalance, args(
        cluster, table=["events"], table_type="REALTIME", reassign_instances=True, include_consuming=True,
        min_available_replicas=1, wait_timeout=5))
    (table,) = result["tables"]
    (job_id,) = list(sim.jobs)
    assert result.get("failed") is not True and result["changed"] is True
    assert table["outcome"] == "finished" and table["converged"] is True and table["status"] == "IN_PROGRESS"
    assert S3 not in holders(cluster, "events_REALTIME", "externalview")
    (note,) = [n for n in table["notes"] if STILL_IN_PROGRESS in n]
    assert note.startswith("Pinot still reports the job %s IN_PROGRESS" % job_id) and note.endswith(MATCHES)
    assert sim.jobs[job_id]["status"] == "IN_PROGRESS"  # what Pinot says is left as it is


def test_409_for_a_job_pinot_never_marks_done_attaches_and_finishes(run_module, cluster, short_settle):
    sim = RebalanceSim(cluster, "1.4", never_done=["stats_OFFLINE"])
    from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import target_assignment
    running = sim.start_job("stats_OFFLINE", target_assignment(cluster, "stats_OFFLINE"))
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats_OFFLINE"], wait_timeout=5))
    (table,) = result["tables"]
    assert table["attached"] is True and table["job_id"] == running["job_id"]
    assert table["outcome"] == "finished" and table["converged"] is True and result.get("failed") is not True
    assert any(STILL_IN_PROGRESS in n and n.endswith(MATCHES) for n in table["notes"])
    # Run again: the dry run says there is nothing to move, so nothing is started or followed.
    again = run_module(pinot_table_rebalance, args(cluster, table=["stats_OFFLINE"], wait_timeout=5))
    assert again["changed"] is False and again["tables"][0]["outcome"] == "finished"
    assert len(posts(cluster, "false")) == 1


def test_404_right_after_start_is_tolerated(run_module, cluster):
    RebalanceSim(cluster, "1.0", lost_status_polls=2)
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"]))
    assert result["tables"][0]["outcome"] == "finished" and result["tables"][0]["status"] == "DONE"
    assert result["tables"][0]["notes"] == []


def test_done_reported_before_external_view_converged_is_not_the_end(run_module, cluster):
    RebalanceSim(cluster, "1.4", polls=4, done_early=3)
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"]))
    assert result["tables"][0]["outcome"] == "finished"
    assert S3 not in holders(cluster, "stats_OFFLINE", "externalview")


def test_failed_attempt_retried_by_pinot_is_followed(run_module, cluster):
    RebalanceSim(cluster, "1.1", fail_first=True)
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"]))
    (table,) = result["tables"]
    assert table["outcome"] == "finished" and table["job_id"].endswith("_2")
    assert "following Pinot's retry" in table["notes"][0]


def test_timeout_fails_with_job_id_and_progress(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4", stuck=["stats_OFFLINE"])
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], wait_timeout=1, poll_interval=0.1))
    assert result["failed"] is True and result["changed"] is True
    (job_id,) = list(sim.jobs)
    assert result["msg"].startswith("Rebalance did not complete for 1 of 1 tables after 1 s: stats_OFFLINE: timeout "
                                    "(IN_PROGRESS, job %s): wait_timeout reached, not finished after 1 s of waiting (job IN_PROGRESS); "
                                    "1/3 segments converged (33.3%%)" % job_id)
    stuck = result["tables"][0]["stuck_segments"]["stats_0"]
    assert stuck["ideal_state"] == on(S0, S3) and stuck["target"] == sorted([S0, S1])
    assert sim.jobs[job_id]["status"] == "IN_PROGRESS"  # not cancelled unless asked


def test_timeout_on_old_pinot_has_no_job_id_but_progress(run_module, cluster):
    RebalanceSim(cluster, "0.11", stuck=["stats_OFFLINE"])
    result = run_module(pinot_table_rebalance, args(
        cluster, table=["stats"], wait_timeout=1, poll_interval=0.1, cancel_on_timeout=True))
    assert result["failed"] is True
    assert "stats_OFFLINE: timeout (IN_PROGRESS): wait_timeout reached, not finished after 1 s of waiting; 1/3 segments converged" in result["msg"]
    assert "no rebalance cancel API" in result["tables"][0]["notes"][-1]


def test_stall_detected_and_cancelled(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4", stuck=["stats_OFFLINE"])
    result = run_module(pinot_table_rebalance, args(
        cluster, table=["stats"], stall_timeout=1, wait_timeout=60, cancel_on_timeout=True))
    (table,) = result["tables"]
    assert result["failed"] is True and table["outcome"] == "stalled" and "no segment moved for 1 s" in result["msg"]
    assert table["cancelled_job_ids"] == list(sim.jobs) and sim.running("stats_OFFLINE") == []


@pytest.mark.parametrize("parallelism", [1, 2])
def test_parallelism_bounds_concurrent_rebalances(run_module, fake, parallelism):
    fake.instances[S3]["tags"] = ["server_untagged"]
    for name in ("a", "b", "c", "d"):
        fake.add_table(name + "_OFFLINE", {name + "_0": on(S0, S3), name + "_1": on(S1, S3)})
    sim = RebalanceSim(fake, "1.4", polls=4)
    result = run_module(pinot_table_rebalance, args(fake, table=["a", "b", "c", "d"], parallelism=parallelism))
    assert [t["outcome"] for t in result["tables"]] == ["finished"] * 4
    assert sim.max_running == parallelism


def test_pinot_failure_is_reported(run_module, cluster):
    RebalanceSim(cluster, "1.4")

    def failing(fake, match, query, body):
        return Reply(200, {"status": "FAILED", "description": "Illegal min available replicas config"})

    cluster.route("POST", r"/tables/(?P<name>[^/]+)/rebalance", failing)
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], min_available_replicas=2))
    assert result["failed"] is True and result["changed"] is False
    assert "Pinot's dry run answered FAILED: Illegal min available replicas config" in result["msg"]
    assert posts(cluster, "false") == []


def test_downtime_waits_for_the_external_view(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], downtime=True, min_available_replicas=0))
    (table,) = result["tables"]
    assert table["status"] == "DONE" and table["outcome"] == "finished" and table["job_id"] is None and not sim.jobs
    assert S3 not in holders(cluster, "stats_OFFLINE", "externalview")
    assert len(cluster.calls("GET", "/tables/stats_OFFLINE/externalview")) >= 2  # it waited for the external view
    assert posts(cluster, "false")[0][2]["downtime"] == ["true"]


# ---- targets and knobs ------------------------------------------------------------------------------

def test_tenant_and_type(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(cluster, tenant="DefaultTenant", table_type="REALTIME"), check_mode=True)
    assert [t["table"] for t in result["tables"]] == ["events_REALTIME"]
    empty = run_module(pinot_table_rebalance, args(cluster, tenant="Nobody"))
    assert empty["changed"] is False and empty["tables"] == [] and "serves no tables" in empty["msg"]


def test_unknown_table_fails_clearly(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(cluster, table=["nope"]))
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot rebalance ['nope']: Table 'nope' not found.")
    assert cluster.writes() == []


def test_knob_missing_on_old_controller_fails_before_anything(run_module, cluster):
    RebalanceSim(cluster, "0.11")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], low_disk_mode=True, heartbeat_timeout=60))
    assert result["failed"] is True
    assert result["msg"] == ("Cannot rebalance: heartbeat_timeout, low_disk_mode need Pinot 1.1 or newer (detected from "
                             "the controller's API listing, GET /swagger.json); this controller does not have it, and Pinot "
                             "would silently ignore them. Remove them or upgrade Pinot")
    assert cluster.calls("POST") == []


def test_knob_of_pinot_14_detected_from_the_dry_run(run_module, cluster):
    RebalanceSim(cluster, "1.1")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], batch_size_per_server=10))
    assert result["failed"] is True and "batch_size_per_server needs Pinot 1.4 or newer" in result["msg"]
    assert posts(cluster, "false") == []
    RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(
        cluster, table=["stats"], batch_size_per_server=10, minimize_data_movement="disable"), check_mode=True)
    assert result["changed"] is True
    assert posts(cluster, "true")[-1][2]["batchSizePerServer"] == ["10"]
    assert posts(cluster, "true")[-1][2]["minimizeDataMovement"] == ["DISABLE"]


@pytest.mark.parametrize("version", ["1.0", "1.4"])
def test_pinots_abort_of_a_table_with_one_replica_is_reported_in_its_words(run_module, cluster, version):
    RebalanceSim(cluster, version)
    cluster.add_table("single_OFFLINE", {"single_0": on(S3)}, replication=1)
    result = run_module(pinot_table_rebalance, args(cluster, table=["single"]))
    (table,) = result["tables"]
    assert result["failed"] is True and table["outcome"] == "failed" and table["status"] == "FAILED"
    assert ("as FAILED: For rebalanceId: %s, Illegal config for minReplicasToKeepUpForNoDowntime: 1 for table: "
            "single_OFFLINE, must be less than number of replicas: 1, aborting the rebalance" % table["job_id"]) in table["message"]
    assert table["restarts"] == 0 and len(posts(cluster, "false")) == 1


def test_an_empty_table_list_is_refused(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    result = run_module(pinot_table_rebalance, args(cluster, table=[]))
    assert result["failed"] is True and result["msg"] == "table is an empty list; name at least one table, or use tenant"
    assert cluster.calls("POST") == []
    info = run_module(pinot_table_rebalance_info, {"controller_url": cluster.url, "table": []})
    assert info["failed"] is True and "done" not in info
    assert info["msg"] == "table is an empty list; name at least one table, or use tenant"
    info = run_module(pinot_table_rebalance_info, {"controller_url": cluster.url, "table": ["stats"], "instances": []})
    assert info["failed"] is True and "done" not in info
    assert info["msg"] == ("instances is an empty list; name the servers that should end up holding nothing, or leave "
                           "instances out")


def test_a_failed_dry_run_starts_nothing_and_changes_nothing(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    cluster.fail_next("POST", "^/tables/events_OFFLINE/rebalance$", error(500, "Failed to rebalance table: events_OFFLINE"))
    result = run_module(pinot_table_rebalance, args(cluster, table=["events", "stats"]))
    assert result["failed"] is True and result["changed"] is False
    assert posts(cluster, "false") == []
    assert [(t["table"], t["outcome"], t["changed"]) for t in result["tables"]] == [
        ("events_OFFLINE", "failed", False), ("events_REALTIME", "not_started", False), ("stats_OFFLINE", "not_started", False)]
    assert "nothing was started" in result["msg"]
    # the dry run's error, with its traceback for -vvv (kubernetes.core and amazon.aws do the same)
    assert result["exception"].startswith("events_OFFLINE:\nTraceback (most recent call last)")
    assert "HTTP 500: Failed to rebalance table: events_OFFLINE" in result["exception"]


def test_info_takes_servers_as_the_first_name_of_instances(run_module, cluster):
    RebalanceSim(cluster, "1.4")
    old = run_module(pinot_table_rebalance_info, {"controller_url": cluster.url, "table": ["stats"], "servers": [S3]})
    new = run_module(pinot_table_rebalance_info, {"controller_url": cluster.url, "table": ["stats"], "instances": [S3]})
    assert old["tables"][0]["on_servers"] == new["tables"][0]["on_servers"] and S3 in new["tables"][0]["on_servers"]


def test_bad_numbers(run_module, cluster):
    assert "parallelism must be 1 or more" in run_module(pinot_table_rebalance, args(cluster, table=["x"], parallelism=0))["msg"]
    assert "poll_interval" in run_module(pinot_table_rebalance, args(cluster, table=["x"], poll_interval=0))["msg"]


# ---- cancel -------------------------------------------------------------------------------------------

def test_cancel_running_rebalance(run_module, cluster):
    sim = RebalanceSim(cluster, "1.4", stuck=["stats_OFFLINE"])
    from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import target_assignment
    job = sim.start_job("stats_OFFLINE", target_assignment(cluster, "stats_OFFLINE"))
    planned = run_module(pinot_table_rebalance, args(cluster, table=["stats"], state="cancelled"), check_mode=True)
    assert planned["changed"] is True and planned["tables"][0]["cancelled_job_ids"] == [job["job_id"]]
    assert job["status"] == "IN_PROGRESS"
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], state="cancelled"))
    assert result["changed"] is True and result["tables"][0]["outcome"] == "cancelled" and job["status"] == "CANCELLED"
    again = run_module(pinot_table_rebalance, args(cluster, table=["stats"], state="cancelled"))
    assert again["changed"] is False and again["tables"][0]["outcome"] == "nothing_to_cancel"


def test_cancel_on_old_pinot_fails_clearly(run_module, cluster):
    RebalanceSim(cluster, "1.0")
    result = run_module(pinot_table_rebalance, args(cluster, table=["stats"], state="cancelled"))
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot cancel rebalances of stats_OFFLINE: cancelling needs Pinot 1.1 or newer")
