# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_periodic_task
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import TASK_NAMES, error, server_id


def add_periodic_tasks(fake, post=True, reply_shape="current", accepted=True):
    """Set up the fake's periodic task routes (PinotControllerPeriodicTaskRestletResource, in fake_controller.py).

    post: the controller has POST /periodictask/run (1.4+). reply_shape: "current" ({"taskId","isSuccessful"},
    0.11+) or "legacy" ({"Log Request Id","Controllers notified"}, 0.9/0.10). Runs are appended to `fake.runs`.
    """
    fake.features["periodic_task_post"] = post
    fake.periodic_reply_shape = reply_shape
    fake.periodic_accepted = accepted
    return fake


@pytest.fixture
def cluster(fake):
    """A hybrid table `events` (offline and realtime), an offline-only `stats`, periodic task routes (1.4+)."""
    replicas = {server_id(0): "ONLINE", server_id(1): "ONLINE"}
    fake.add_table("events_REALTIME", {"events__0__0__20260101T0000Z": dict(replicas)})
    fake.add_table("events_OFFLINE", {"events_1767225600000_1767229200000_0": dict(replicas)})
    fake.add_table("stats_OFFLINE", {"stats_0": dict(replicas)})
    return add_periodic_tasks(fake)


def args(fake, **more):
    """Module arguments; options given as None are left out, as a playbook would."""
    more = dict((key, value) for key, value in more.items() if value is not None)
    more["controller_url"] = fake.url
    return more


def test_runs_for_every_table(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager"))
    assert result["changed"] is True
    assert result["task_id"] == "api-00000001" and result["accepted"] is True
    assert result["response"] == {"taskId": "api-00000001", "isSuccessful": True}
    assert result["table"] is None and result["properties"] == {}
    assert result["runs"] == [{"table": None, "task_id": "api-00000001", "accepted": True,
                               "response": {"taskId": "api-00000001", "isSuccessful": True}}]
    assert result["task_names"] == TASK_NAMES
    assert cluster.runs == [{"task": "RetentionManager", "table": None, "properties": None}]
    # without properties the GET form runs it, which every version has
    assert [c[0] for c in cluster.calls(path_prefix="/periodictask/run")] == ["GET"]
    assert "Pinot reports no completion" in result["msg"]


def test_each_run_is_a_change(run_module, cluster):
    first = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker"))
    second = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker"))
    assert first["changed"] and second["changed"]
    assert (first["task_id"], second["task_id"]) == ("api-00000001", "api-00000002")


@pytest.mark.parametrize("table, table_type, typed", [
    ("stats", None, "stats_OFFLINE"),
    ("stats_OFFLINE", None, "stats_OFFLINE"),
    ("events", "REALTIME", "events_REALTIME"),
    ("events_OFFLINE", "OFFLINE", "events_OFFLINE"),
])
def test_runs_for_one_table(run_module, cluster, table, table_type, typed):
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker", table=table, table_type=table_type))
    assert result["changed"] is True and result["table"] == typed
    assert cluster.runs == [{"task": "SegmentStatusChecker", "table": typed, "properties": None}]
    query = cluster.calls("GET", "/periodictask/run")[0][2]
    assert query["tableName"] == [typed] and query["type"] == [typed.rsplit("_", 1)[1]]


def test_check_mode_validates_but_runs_nothing(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker", table="stats"), check_mode=True)
    assert result["changed"] is True and result["table"] == "stats_OFFLINE"
    assert result["task_id"] is None and result["accepted"] is None and result["response"] is None
    assert "Would run" in result["msg"]
    assert cluster.runs == [] and cluster.calls(path_prefix="/periodictask/run") == []


def test_unknown_task_fails_with_the_valid_names(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="NoSuchTask"))
    assert result["failed"] is True and result["changed"] is False
    assert "Periodic task 'NoSuchTask' is not one this controller runs; nothing was run" in result["msg"]
    assert "SegmentStatusChecker" in result["msg"] and result["task_names"] == TASK_NAMES
    assert cluster.runs == []


def test_wrong_case_suggests_the_name(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="segmentstatuschecker"), check_mode=True)
    assert result["failed"] and "did you mean SegmentStatusChecker?" in result["msg"]


@pytest.mark.parametrize("table, table_type, message", [
    ("nope", None, "Table 'nope' not found."),
    ("nope", "OFFLINE", "Table 'nope_OFFLINE' not found."),
    ("stats", "REALTIME", "Table 'stats_REALTIME' not found."),
    ("stats_OFFLINE", "REALTIME", "Table name: stats_OFFLINE does not match table type: REALTIME"),
    ("events", None, "More than one table matches Table 'events'. Matching names: [events_OFFLINE, events_REALTIME]"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_bad_table_fails_before_running(run_module, cluster, table, table_type, message, check_mode):
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker", table=table, table_type=table_type),
                        check_mode=check_mode)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("Could not check periodic task SegmentStatusChecker: " + message)
    assert cluster.runs == []


def test_properties_are_posted_as_strings(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="RealtimeSegmentValidationManager", table="events_REALTIME",
                                                  properties={"runSegmentLevelValidation": True, "batch": 3}))
    assert result["changed"] is True
    assert result["properties"] == {"runSegmentLevelValidation": "true", "batch": "3"}
    assert cluster.runs == [{"task": "RealtimeSegmentValidationManager", "table": "events_REALTIME",
                             "properties": {"runSegmentLevelValidation": "true", "batch": "3"}}]


def test_properties_on_an_old_controller_fail_before_running(run_module, fake):
    add_periodic_tasks(fake, post=False)
    result = run_module(pinot_periodic_task, args(fake, name="SegmentStatusChecker", properties={"a": "b"}))
    assert result["failed"] is True and result["changed"] is False
    assert "Task properties need a controller that takes them (POST /periodictask/run, Pinot 1.4" in result["msg"]
    assert fake.runs == []
    # told by the controller's API listing: nothing was sent to /periodictask/run, not even a probe
    assert fake.calls(path_prefix="/periodictask/run") == [] and fake.writes() == []


def test_properties_probe_in_check_mode(run_module, fake):
    add_periodic_tasks(fake, post=False)
    result = run_module(pinot_periodic_task, args(fake, name="SegmentStatusChecker", properties={"a": "b"}), check_mode=True)
    assert result["failed"] is True and "Nothing was run" in result["msg"]
    assert fake.writes() == []


@pytest.mark.parametrize("post", [True, False])
def test_properties_without_api_listing(run_module, fake, warnings, post):
    """A proxy hides GET /swagger.json: check mode says it cannot tell; a real run lets the POST tell (405 = not run)."""
    add_periodic_tasks(fake, post=post)
    fake.api_listing = False
    checked = run_module(pinot_periodic_task, args(fake, name="SegmentStatusChecker", properties={"a": "b"}),
                         check_mode=True)
    assert checked["changed"] is True and fake.writes() == []
    assert any("cannot tell whether this controller takes task properties" in w for w in warnings)
    result = run_module(pinot_periodic_task, args(fake, name="SegmentStatusChecker", properties={"a": "b"}))
    if post:
        assert result["changed"] is True and fake.runs[0]["properties"] == {"a": "b"}
    else:
        assert result["failed"] is True and result["changed"] is False and result["status"] == 405
        assert "Task properties need a controller that takes them" in result["msg"] and "Nothing was run" in result["msg"]
        assert fake.runs == [] and len(fake.calls("POST", "/periodictask/run")) == 1


@pytest.mark.parametrize("table", ["", " "])
def test_empty_table_is_refused(run_module, cluster, table):
    """An empty table (a variable that came out empty) must not run the task for every table."""
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager", table=table))
    assert result["failed"] is True and "table is empty" in result["msg"] and "Nothing was run" in result["msg"]
    assert cluster.runs == [] and cluster.calls(path_prefix="/periodictask/run") == []


def test_legacy_reply_shape(run_module, fake):
    add_periodic_tasks(fake, reply_shape="legacy")
    result = run_module(pinot_periodic_task, args(fake, name="RetentionManager"))
    assert result["changed"] is True and result["task_id"] == "api-00000001" and result["accepted"] is True
    assert result["response"] == {"Log Request Id": "api-00000001", "Controllers notified": True}


def test_no_controller_notified_is_a_failure(run_module, fake):
    add_periodic_tasks(fake, accepted=False)
    result = run_module(pinot_periodic_task, args(fake, name="RetentionManager"))
    assert result["failed"] is True and result["changed"] is False
    assert result["task_id"] == "api-00000001" and result["accepted"] is False
    assert "notified no controller" in result["msg"]


def test_run_error_is_reported_with_pinot_message(run_module, cluster):
    cluster.fail_next("GET", r"^/periodictask/run$", error(500, "boom"))
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager"))
    assert result["failed"] is True and result["changed"] is False
    assert result["status"] == 500 and result["pinot_error"] == "boom"
    assert result["msg"].startswith("Could not run periodic task RetentionManager: GET ")


def test_run_is_never_repeated_after_a_503(run_module, cluster):
    cluster.fail_next("GET", r"^/periodictask/run$", error(503, "unavailable"))
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager"))
    assert result["failed"] is True
    assert len(cluster.calls("GET", "/periodictask/run")) == 1


def test_table_type_needs_table(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager", table_type="OFFLINE"))
    assert result["failed"] is True and "table_type" in result["msg"]
    assert cluster.requests == []


def test_runs_for_each_table_in_order(run_module, cluster):
    """table is a list, as in the other modules: one run per table, in the order given, a table named twice once."""
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker",
                                                  table=["stats", "events_REALTIME", "stats_OFFLINE"]))
    assert result["changed"] is True
    assert [(run["table"], run["task_id"], run["accepted"]) for run in result["runs"]] == [
        ("stats_OFFLINE", "api-00000001", True), ("events_REALTIME", "api-00000002", True)]
    assert [run["table"] for run in cluster.runs] == ["stats_OFFLINE", "events_REALTIME"]
    # the top-level keys are the last run's
    assert (result["table"], result["task_id"]) == ("events_REALTIME", "api-00000002")
    assert "for stats_OFFLINE, events_REALTIME (task id api-00000001, api-00000002)" in result["msg"]


def test_every_table_is_checked_before_the_first_run(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker", table=["stats", "nope"]))
    assert result["failed"] is True and result["changed"] is False and "Table 'nope' not found." in result["msg"]
    assert cluster.runs == [] and cluster.calls(path_prefix="/periodictask/run") == []


def test_check_mode_lists_the_runs_it_would_start(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker", table=["stats", "events_OFFLINE"]),
                        check_mode=True)
    assert result["changed"] is True and cluster.runs == []
    assert result["runs"] == [{"table": "stats_OFFLINE", "task_id": None, "accepted": None, "response": None},
                              {"table": "events_OFFLINE", "task_id": None, "accepted": None, "response": None}]


def test_a_failed_run_stops_and_says_what_already_ran(run_module, cluster):
    run = [handler for method, pattern, handler in cluster.routes
           if method == "GET" and pattern.pattern == "^/periodictask/run$"][0]
    answered = []

    def second_fails(fake, match, query, body):
        answered.append(query)
        return error(500, "boom") if len(answered) == 2 else run(fake, match, query, body)

    cluster.route("GET", r"/periodictask/run", second_fails)
    result = run_module(pinot_periodic_task, args(cluster, name="SegmentStatusChecker",
                                                  table=["stats", "events_REALTIME", "events_OFFLINE"]))
    assert result["failed"] is True and result["changed"] is True
    assert [run["table"] for run in result["runs"]] == ["stats_OFFLINE"]
    assert result["msg"].startswith("Could not run periodic task SegmentStatusChecker for events_REALTIME (it already "
                                    "ran for stats_OFFLINE, task ids api-00000001; the tables after this one were not "
                                    "run): GET ")
    assert [run["table"] for run in cluster.runs] == ["stats_OFFLINE"]


def test_empty_table_list_is_refused(run_module, cluster):
    result = run_module(pinot_periodic_task, args(cluster, name="RetentionManager", table=[]))
    assert result["failed"] is True and "table is empty" in result["msg"] and cluster.runs == []
