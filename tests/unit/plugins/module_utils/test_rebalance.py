# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import itertools
import json
import threading

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils import convergence as conv
from ansible_collections.pinotops.pinot.plugins.module_utils import parallel as par
from ansible_collections.pinotops.pinot.plugins.module_utils import rebalance as rb
from ansible_collections.pinotops.pinot.plugins.module_utils import rebalance_jobs as rj
from ansible_collections.pinotops.pinot.plugins.module_utils import rebalance_wait as rw
from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delays
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError

A, B, C, D = "Server_a_8098", "Server_b_8098", "Server_c_8098", "Server_d_8098"
BEFORE = {"s0": {A: "ONLINE", D: "ONLINE"}, "s1": {B: "ONLINE", D: "ONLINE"}, "s2": {A: "ONLINE", B: "ONLINE"}}
TARGET = {"s0": {A: "ONLINE", C: "ONLINE"}, "s1": {B: "ONLINE", C: "ONLINE"}, "s2": {A: "ONLINE", B: "ONLINE"}}


# ---- pure functions ------------------------------------------------------------------------------

def test_params_only_what_is_set_in_pinot_units():
    params = rb.rebalance_params({"reassign_instances": True, "include_consuming": False, "min_available_replicas": -1,
                                  "bootstrap": None, "external_view_stabilization_timeout": 90,
                                  "minimize_data_movement": "enable", "disk_utilization_threshold": 0.8})
    assert params == {"reassignInstances": "true", "includeConsuming": "false", "minAvailableReplicas": "-1",
                      "externalViewStabilizationTimeoutInMs": "90000", "minimizeDataMovement": "ENABLE",
                      "diskUtilizationThreshold": "0.8"}


def test_knobs_by_feature_and_message():
    options = {"batch_size_per_server": 10, "force_commit": False, "low_disk_mode": None}
    assert rb.knobs_needing(options, rb.FEATURE_SUMMARY) == ["batch_size_per_server", "force_commit"]
    assert rb.knobs_needing(options, rb.FEATURE_CANCEL) == []
    message = rb.unsupported_knobs_message(options, rb.FEATURE_SUMMARY)
    assert message.startswith("batch_size_per_server, force_commit need Pinot 1.4 or newer")
    assert "silently ignore them" in message
    assert rb.unsupported_knobs_message({}, rb.FEATURE_SUMMARY) is None


def test_plan_moves_per_server():
    plan = conv.plan_moves(BEFORE, TARGET)
    assert plan["servers"][D] == {"before": 2, "after": 0, "add": 0, "remove": 2}
    assert plan["servers"][C] == {"before": 0, "after": 2, "add": 2, "remove": 0}
    assert plan["servers"][A] == {"before": 2, "after": 2, "add": 0, "remove": 0}
    assert (plan["segments_to_move"], plan["replicas_to_add"], plan["replicas_to_remove"]) == (2, 2, 2)
    assert plan["servers_removed"] == [D] and plan["servers_added"] == [C]
    assert conv.plan_moves(BEFORE, BEFORE)["segments_to_move"] == 0


def test_plan_ignores_segments_created_or_deleted_in_between():
    plan = conv.plan_moves(dict(BEFORE, new={A: "CONSUMING"}), dict(TARGET, gone={C: "ONLINE"}))
    assert plan["replicas_to_add"] == 2 and A in plan["servers"] and plan["servers"][A]["before"] == 2


def test_convergence_needs_target_and_external_view():
    converged = conv.convergence(TARGET, TARGET, TARGET)
    assert (converged["converged"], converged["segments"], converged["remaining_replicas"]) == (3, 3, 0)
    # Ideal state not moved yet: the external view matches it, but that is not the end.
    before = conv.convergence(BEFORE, BEFORE, TARGET)
    assert before["converged"] == 1 and before["ideal_state_pending"] == 2 and before["external_view_pending"] == 0
    assert before["remaining_replicas"] == 4 and before["not_converged"] == ["s0", "s1"]
    # Ideal state at the target, external view still loading on C and dropping from D.
    moving = conv.convergence(TARGET, BEFORE, TARGET)
    assert moving["ideal_state_pending"] == 0 and moving["external_view_pending"] == 2 and moving["converged"] == 1
    assert moving["percent_converged"] == 33.3


def test_convergence_replica_being_dropped_and_errors():
    external = {"s0": {A: "ONLINE", C: "ONLINE", D: "OFFLINE"}, "s1": {B: "ONLINE", C: "ERROR"}, "s2": TARGET["s2"]}
    progress = conv.convergence(TARGET, external)
    assert progress["error_segments"] == ["s1"] and progress["error_count"] == 1
    assert progress["converged"] == 2  # an OFFLINE leftover is not serving; s1 is in ERROR
    external["s0"][D] = "ONLINE"
    assert conv.convergence(TARGET, external)["converged"] == 1


def test_convergence_offline_in_ideal_state_and_empty_table():
    ideal = {"s0": {A: "OFFLINE", B: "ONLINE"}}
    assert conv.convergence(ideal, {"s0": {B: "ONLINE"}})["converged"] == 1
    assert conv.convergence({}, {})["percent_converged"] == 100.0


def test_job_view_and_jobs_listing():
    reply = {"tableRebalanceProgressStats": {"status": "IN_PROGRESS", "completionStatusMsg": None,
                                             "rebalanceProgressStatsOverall": {"totalSegmentsToBeAdded": 6,
                                                                               "totalRemainingSegmentsToConverge": 2,
                                                                               "totalSegmentsForceCommitted": 3}},
             "timeElapsedSinceStartInSeconds": 25,
             "tableRebalanceContext": {"jobId": "j1_2", "originalJobId": "j1", "attemptId": 2}}
    view = rj.job_view(reply)
    assert view["status"] == "IN_PROGRESS" and view["original_job_id"] == "j1" and view["attempt"] == 2
    assert view["segments_to_add"] == 6 and view["remaining_segments_to_converge"] == 2
    assert view["segments_force_committed"] == 3
    assert rj.job_view({"tableRebalanceProgressStats": {"status": "DONE"}})["attempt"] is None

    def meta(job_id, status, original, attempt, submitted):
        return {"jobId": job_id, "jobType": "TABLE_REBALANCE", "submissionTimeMs": str(submitted),
                "REBALANCE_PROGRESS_STATS": json.dumps({"status": status}),
                "REBALANCE_CONTEXT": json.dumps({"originalJobId": original, "attemptId": attempt})}

    jobs = {"j1": meta("j1", "FAILED", "j1", 1, 100), "j1_2": meta("j1_2", "IN_PROGRESS", "j1", 2, 200),
            "old": meta("old", "DONE", "old", 1, 50), "reload": {"jobId": "reload", "jobType": "RELOAD_SEGMENT"}}
    assert [job["job_id"] for job in rj.rebalance_jobs(jobs)] == ["j1_2", "j1", "old"]
    assert rj.find_retry(jobs, "j1", 1) == "j1_2"
    assert rj.find_retry(jobs, "j1", 2) is None and rj.find_retry(jobs, "old", 1) is None
    assert rj.running_job_ids(jobs) == ["j1_2"]
    # Pinot 1.0 has no REBALANCE_CONTEXT: every job is its own original, attempt 1.
    assert rj.rebalance_jobs({"x": {"jobId": "x", "REBALANCE_PROGRESS_STATS": "{\"status\": \"DONE\"}"}})[0]["attempt"] == 1


def test_nothing_remaining_needs_pinots_counts_all_zero():
    def view(**counts):
        overall = dict({"totalSegmentsToBeAdded": 6, "totalRemainingSegmentsToBeAdded": 0,
                        "totalRemainingSegmentsToBeDeleted": 0, "totalRemainingSegmentsToConverge": 0}, **counts)
        return rj.job_view({"tableRebalanceProgressStats": {"status": "IN_PROGRESS",
                                                            "rebalanceProgressStatsOverall": overall}})

    assert rj.nothing_remaining(view()) is True
    assert view()["remaining_segments_to_delete"] == 0
    assert rj.nothing_remaining(view(totalRemainingSegmentsToBeDeleted=2)) is False
    assert rj.nothing_remaining(view(totalRemainingSegmentsToConverge=1)) is False
    assert rj.nothing_remaining(view(totalRemainingSegmentsToBeAdded=None)) is False
    # Before 1.4 Pinot gives no counts: nothing is known.
    assert rj.nothing_remaining(rj.job_view({"tableRebalanceProgressStats": {"status": "IN_PROGRESS"}})) is False


def test_job_id_from_409():
    message = ("Rebalance job is already in progress for table: events_OFFLINE, jobId: 3f1c9a0e-5d1b-4c55-9a53-0d7f5c2b9e11. "
               "Please wait for the job to complete or cancel it before starting a new one.")
    assert rj.job_id_from_conflict(message) == "3f1c9a0e-5d1b-4c55-9a53-0d7f5c2b9e11"
    assert rj.job_id_from_conflict("..., jobId: abc_2. Please") == "abc_2"
    assert rj.job_id_from_conflict("something else") is None and rj.job_id_from_conflict(None) is None


def test_poll_schedule_backs_off_and_caps():
    def delays(first):
        return backoff_delays(first, rw.POLL_CAP_SECONDS, rw.POLL_FACTOR)

    assert list(itertools.islice(delays(2.0), 8)) == [2.0, 3.0, 4.5, 6.75, 10.125, 15.1875, 22.78125, 30.0]
    assert list(itertools.islice(delays(45.0), 2)) == [45.0, 45.0]


def test_progress_line():
    progress = conv.convergence(TARGET, BEFORE, TARGET)
    assert conv.progress_line("t_OFFLINE", progress, "IN_PROGRESS") == "t_OFFLINE: 1/3 segments converged (33.3%), job IN_PROGRESS"


# ---- the waiting loop, with a scripted client and fake time -----------------------------------------

class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedClient:
    """Each poll i (0-based) sees views[min(i, last)] and statuses[min(i, last)] (None = 404)."""

    def __init__(self, views, statuses=None, jobs=None, overall=None):
        self.views = views
        self.overall = overall  # Pinot 1.4+ rebalanceProgressStatsOverall, on every status
        self.statuses = statuses or []
        self.jobs = jobs or {}
        self.view_reads = 0
        self.status_reads = {}
        self.cancelled = []
        self.resets = []

    def rebalance_status(self, job_id):
        polls = self.status_reads.get(job_id, 0)
        self.status_reads[job_id] = polls + 1
        script = self.statuses if not isinstance(self.statuses, dict) else self.statuses[job_id]
        value = script[min(polls, len(script) - 1)]
        if value is None:
            return None
        stats = {"status": value, "completionStatusMsg": "msg %s" % value}
        if self.overall is not None:
            stats["rebalanceProgressStatsOverall"] = self.overall
        return {"tableRebalanceProgressStats": stats,
                "tableRebalanceContext": {"originalJobId": "j1", "attemptId": 2 if job_id == "j1_2" else 1}}

    def ideal_state(self, table, table_type):
        return {table_type: self.views[min(self.view_reads, len(self.views) - 1)][0]}

    def external_view(self, table, table_type):
        ideal, external = self.views[min(self.view_reads, len(self.views) - 1)]
        self.view_reads += 1
        return {table_type: external}

    def table_jobs(self, table, table_type=None):
        return self.jobs

    def cancel_rebalance(self, table, table_type):
        self.cancelled.append(table)
        return ["j1"]

    def live_instances(self):
        return [A, B, C, D]

    def reset_segment(self, table, table_type, segment, instance):
        self.resets.append((segment, instance))
        return {"status": "Successfully reset segment: %s of table: %s" % (segment, table)}


def wait(client, fake_time, **kwargs):
    kwargs.setdefault("deadline", 3600.0)
    kwargs.setdefault("poll_interval", 2.0)  # the timings below count from a 2 s first poll
    return rw.wait_for_rebalance(client, "t_OFFLINE", "OFFLINE", clock=fake_time.clock, sleep=fake_time.sleep, **kwargs)


def test_first_poll_comes_after_half_a_second_by_default():
    """A table that moves in seconds is seen done within a second of it, not at the next 2 s poll."""
    client = ScriptedClient([(BEFORE, BEFORE), (TARGET, BEFORE), (TARGET, TARGET)])
    fake_time = FakeTime()
    outcome = rw.wait_for_rebalance(client, "t_OFFLINE", "OFFLINE", target=TARGET, deadline=3600.0,
                                    clock=fake_time.clock, sleep=fake_time.sleep)
    assert outcome["outcome"] == "finished" and fake_time.sleeps == [0.5, 0.75]


def test_no_job_waits_for_ideal_state_to_reach_target_then_external_view():
    # Pinot 0.11: an intermediate ideal state the external view has caught up with is not the end.
    middle = {"s0": {A: "ONLINE", C: "ONLINE"}, "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    client = ScriptedClient([(BEFORE, BEFORE), (middle, middle), (TARGET, middle), (TARGET, TARGET)])
    fake_time = FakeTime()
    outcome = wait(client, fake_time, target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["job_id"] is None and outcome["status"] is None
    assert client.view_reads == 4 and fake_time.sleeps == [2.0, 3.0, 4.5]


def test_job_done_is_not_enough_without_external_view():
    client = ScriptedClient([(TARGET, BEFORE), (TARGET, BEFORE), (TARGET, TARGET)], statuses=["IN_PROGRESS", "DONE"])
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["status"] == "DONE" and client.view_reads == 3


def test_job_in_progress_is_followed_even_when_views_look_done():
    client = ScriptedClient([(TARGET, TARGET)], statuses=["IN_PROGRESS", "IN_PROGRESS", "DONE"])
    assert wait(client, FakeTime(), job_id="j1", target=TARGET)["outcome"] == "finished"
    assert client.status_reads["j1"] == 3


def test_404_right_after_start_is_tolerated():
    client = ScriptedClient([(TARGET, BEFORE), (TARGET, BEFORE), (TARGET, BEFORE), (TARGET, TARGET)],
                            statuses=[None, None, "IN_PROGRESS", "DONE"])
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["status"] == "DONE" and outcome["notes"] == []


def test_job_pinot_never_stored_falls_back_to_views():
    client = ScriptedClient([(BEFORE, BEFORE)] * 6 + [(TARGET, TARGET)], statuses=[None])
    fake_time = FakeTime()
    outcome = wait(client, fake_time, job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["status"] is None
    assert "Pinot has no status for job j1 (404" in outcome["notes"][0]
    assert client.status_reads["j1"] == 5  # 0, 2, 5, 9.5, 16.25 s: the last one is past the 15 s grace


NOTHING_LEFT = {"totalSegmentsToBeAdded": 2, "totalSegmentsToBeDeleted": 2, "totalRemainingSegmentsToBeAdded": 0,
                "totalRemainingSegmentsToBeDeleted": 0, "totalRemainingSegmentsToConverge": 0,
                "percentageRemainingSegmentsToBeAdded": 0.0, "percentageRemainingSegmentsToBeDeleted": 0.0}


def test_job_left_in_progress_with_nothing_remaining_is_finished_after_the_grace():
    """Pinot 1.5.1: views at the target, nothing remaining, and the job still IN_PROGRESS (its DONE was lost)."""
    client = ScriptedClient([(TARGET, BEFORE), (TARGET, TARGET)], statuses=["IN_PROGRESS"], overall=NOTHING_LEFT)
    fake_time = FakeTime()
    outcome = wait(client, fake_time, job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["status"] == "IN_PROGRESS" and outcome["job_id"] == "j1"
    # First seen at 2 s; finished at the first poll SETTLED_AFTER_SECONDS or more after that (and at least 3 polls).
    settled = 2.0 + rw.SETTLED_AFTER_SECONDS
    assert settled <= fake_time.now < settled + rw.POLL_CAP_SECONDS
    (note,) = outcome["notes"]
    assert note.startswith("Pinot still reports the job j1 IN_PROGRESS with nothing left to move (for ")
    assert note.endswith("); the external view matches the target")


def test_job_left_in_progress_needs_a_few_polls_not_only_the_time():
    client = ScriptedClient([(TARGET, TARGET)], statuses=["IN_PROGRESS"], overall=NOTHING_LEFT)
    fake_time = FakeTime()
    outcome = wait(client, fake_time, job_id="j1", target=TARGET, poll_interval=61.0)
    # The second poll is already 61 s after the first; the third one finishes.
    assert outcome["outcome"] == "finished" and client.status_reads["j1"] == rw.SETTLED_AFTER_POLLS == 3


FROZEN = dict(NOTHING_LEFT, totalRemainingSegmentsToBeAdded=105, totalRemainingSegmentsToBeDeleted=105)


@pytest.mark.parametrize("overall,said", [(FROZEN, "counting 105 segment(s) to add and 105 to delete"),
                                          (None, "without progress counts")])
def test_job_left_in_progress_by_a_restarted_controller_is_finished_when_the_views_are_at_the_target(overall, said):
    """Pinot 1.5.1 after a SIGKILL of the controller: the job stays IN_PROGRESS with the counts it had, for an hour."""
    client = ScriptedClient([(TARGET, BEFORE), (TARGET, TARGET)], statuses=["IN_PROGRESS"], overall=overall)
    fake_time = FakeTime()
    outcome = wait(client, fake_time, job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["status"] == "IN_PROGRESS"
    settled = 2.0 + rw.SETTLED_AFTER_SECONDS
    assert settled <= fake_time.now < settled + rw.POLL_CAP_SECONDS
    (note,) = outcome["notes"]
    assert note.startswith("Pinot still reports the job j1 IN_PROGRESS, %s, but the ideal state has been at the "
                           "rebalance's target and the external view has served it for " % said)


@pytest.mark.parametrize("case", ["ideal state short of the target", "no target known", "view behind"])
def test_job_in_progress_is_followed_when_anything_is_unknown_or_left(case):
    ideal = BEFORE if case.startswith("ideal state short") else TARGET
    client = ScriptedClient([(ideal, TARGET if case.startswith("ideal state short") else
                              BEFORE if case == "view behind" else TARGET)],
                            statuses=["IN_PROGRESS"], overall=dict(NOTHING_LEFT, totalRemainingSegmentsToConverge=1))
    outcome = wait(client, FakeTime(), job_id="j1", target=None if case == "no target known" else TARGET,
                   deadline=300.0, stall_timeout=0)
    assert outcome["outcome"] == "timeout" and outcome["notes"] == []


def test_failed_job_followed_by_pinot_retry():
    client = ScriptedClient([(TARGET, TARGET)], statuses={"j1": ["FAILED"], "j1_2": ["IN_PROGRESS", "DONE"]},
                            jobs={"j1_2": {"jobId": "j1_2", "submissionTimeMs": "2",
                                           "REBALANCE_PROGRESS_STATS": "{\"status\": \"IN_PROGRESS\"}",
                                           "REBALANCE_CONTEXT": "{\"originalJobId\": \"j1\", \"attemptId\": 2}"}})
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET)
    assert outcome["outcome"] == "finished" and outcome["job_id"] == "j1_2"
    assert outcome["notes"] == ["job j1 ended FAILED; following Pinot's retry j1_2"]


def test_failed_job_without_retry_fails_with_pinot_message():
    client = ScriptedClient([(BEFORE, BEFORE)], statuses=["FAILED"])
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET)
    assert outcome["outcome"] == "failed" and outcome["status"] == "FAILED"
    assert outcome["message"] == "Pinot reports the rebalance job j1 as FAILED: msg FAILED"


def test_timeout_reports_job_and_progress():
    fake_time = FakeTime()
    middle = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    # Progress every poll (so no stall), never finished.
    views = [(middle, BEFORE), (middle, {"s0": {A: "ONLINE"}, "s1": BEFORE["s1"], "s2": BEFORE["s2"]})] + [(middle, middle)] * 50
    client = CountingJobClient(views, statuses=["IN_PROGRESS"])  # the job's counts move: Pinot is running it
    outcome = wait(client, fake_time, job_id="j1", target=TARGET, deadline=100.0, stall_timeout=0)
    assert outcome["outcome"] == "timeout" and outcome["job_id"] == "j1" and outcome["status"] == "IN_PROGRESS"
    assert outcome["message"] == "wait_timeout reached, not finished after 100 s of waiting (job IN_PROGRESS)"
    assert outcome["progress"]["converged"] == 2 and outcome["progress"]["not_converged"] == ["s1"]
    assert outcome["stuck_segments"]["s1"]["target"] == [B, C]
    assert fake_time.now == 100.0 and max(fake_time.sleeps) <= 30.0


def test_stall_detected_before_the_timeout_with_stuck_segments():
    fake_time = FakeTime()
    client = ScriptedClient([(TARGET, BEFORE)], statuses=["IN_PROGRESS"])
    outcome = wait(client, fake_time, job_id="j1", target=TARGET, stall_timeout=60)
    assert outcome["outcome"] == "stalled" and 60 <= fake_time.now < 100
    assert outcome["message"].startswith("no segment moved for ") and outcome["message"].endswith("(job IN_PROGRESS)")
    assert sorted(outcome["stuck_segments"]) == ["s0", "s1"]
    assert outcome["stuck_segments"]["s0"]["external_view"] == {A: "ONLINE", D: "ONLINE"}


def test_stall_says_when_pinot_claims_done():
    client = ScriptedClient([(TARGET, BEFORE)], statuses=["DONE"])
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET, stall_timeout=30)
    assert outcome["outcome"] == "stalled"
    assert "Pinot's job says DONE, but the external view has not converged" in outcome["message"]


class OutageClient(ScriptedClient):
    """A ScriptedClient whose controller raises `failure` on the view reads numbered in `down` (0-based)."""

    def __init__(self, down, failure=None, **kwargs):
        super(OutageClient, self).__init__(**kwargs)
        self.down = set(down)
        self.failure = failure or PinotError("cannot reach the controller: Connection refused", "GET",
                                             "http://c:9000/tables/t/idealstate", unavailable=True)
        self.reads = 0

    def ideal_state(self, table, table_type):
        self.reads += 1
        if self.reads - 1 in self.down:
            raise self.failure
        return super(OutageClient, self).ideal_state(table, table_type)


def test_controller_outage_is_waited_out():
    middle = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    client = OutageClient(down=range(1, 5), views=[(middle, BEFORE), (TARGET, TARGET)])
    fake_time = FakeTime()
    outcome = wait(client, fake_time, target=TARGET, stall_timeout=60)
    assert outcome["outcome"] == "finished" and client.reads == 6
    assert outcome["notes"][0].startswith("the controller stopped answering after 2 s of waiting (GET http://c:9000")
    assert outcome["notes"][1] == "the controller answered again after 24 s"  # polls at 2, 5, 9.5, 16.25 s failed


def test_controller_outage_is_bounded_by_the_stall_timeout():
    client = OutageClient(down=range(1, 1000), views=[(TARGET, BEFORE)])
    fake_time = FakeTime()
    outcome = wait(client, fake_time, target=TARGET, stall_timeout=60)
    assert outcome["outcome"] == "stalled" and 60 <= fake_time.now < 100
    assert "the controller has not answered for" in outcome["message"]
    assert "Connection refused" in outcome["message"]
    assert sorted(outcome["stuck_segments"]) == ["s0", "s1"]  # from the last views it could read


def test_controller_outage_from_the_first_poll_hits_the_deadline():
    client = OutageClient(down=range(1000), views=[(TARGET, BEFORE)])
    outcome = wait(client, FakeTime(), target=TARGET, deadline=50.0, stall_timeout=0)
    assert outcome["outcome"] == "timeout" and outcome["progress"] is None
    assert "the controller has not answered for 50 s" in outcome["message"]


def test_an_answer_that_is_an_error_is_not_waited_out():
    forbidden = PinotError("HTTP 403: Permission denied", "GET", "http://c:9000/tables/t/idealstate", status=403)
    client = OutageClient(down=[1], failure=forbidden, views=[(TARGET, BEFORE)])
    with pytest.raises(PinotError) as caught:
        wait(client, FakeTime(), target=TARGET)
    assert caught.value.status == 403


def test_views_caught_up_short_of_the_target_mean_the_rebalance_was_abandoned():
    # Pinot 0.11 after a controller restart: one step done, the external view serves it, nothing moves on.
    middle = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    client = ScriptedClient([(middle, BEFORE), (middle, middle)])
    fake_time = FakeTime()
    outcome = wait(client, fake_time, target=TARGET)
    assert outcome["outcome"] == "abandoned" and 32 <= fake_time.now < 70
    assert "1 segments are not at their target yet" in outcome["message"]
    # Pinot said nothing: the message says so and lists the likely causes, asserting none.
    assert "Pinot did not say why" in outcome["message"] and "Likely causes: Pinot aborted it" in outcome["message"]
    assert "or the controller restarted" in outcome["message"]
    assert "the controller is no longer running" not in outcome["message"]


class CountingJobClient(ScriptedClient):
    """A job whose progress counts change on every poll: Pinot is still running it."""

    def rebalance_status(self, job_id):
        reply = super(CountingJobClient, self).rebalance_status(job_id)
        reply["tableRebalanceProgressStats"]["rebalanceProgressStatsOverall"] = dict(
            NOTHING_LEFT, totalRemainingSegmentsToBeAdded=1000 - self.status_reads[job_id])
        return reply


MIDDLE = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}


def test_views_caught_up_while_a_job_runs_are_not_abandoned():
    client = CountingJobClient([(MIDDLE, MIDDLE)], statuses=["IN_PROGRESS"])
    outcome = wait(client, FakeTime(), job_id="j1", target=TARGET, stall_timeout=120)
    assert outcome["outcome"] == "stalled"


def test_a_job_left_in_progress_short_of_the_target_is_abandoned():
    """Pinot 1.x after a controller restart between two steps: the job says IN_PROGRESS, unchanged, for an hour."""
    client = ScriptedClient([(MIDDLE, MIDDLE)], statuses=["IN_PROGRESS"], overall=FROZEN)
    fake_time = FakeTime()
    outcome = wait(client, fake_time, job_id="j1", target=TARGET, stall_timeout=600)
    assert outcome["outcome"] == "abandoned" and fake_time.now < 60
    assert outcome["message"].startswith("Pinot still reports job j1 IN_PROGRESS, its progress unchanged, while the "
                                         "external view has served the ideal state for ")
    assert "Likely causes: the controller restarted" in outcome["message"]


def test_error_replicas_to_reset_are_those_the_target_assigns():
    external = {"s0": {A: "ONLINE", C: "ERROR"}, "s1": {B: "ONLINE", D: "ERROR"}, "s2": {A: "ERROR", B: "ONLINE"}}
    assert conv.error_replicas_to_reset(external, TARGET) == [("s0", C), ("s2", A)]  # D is not in s1's target
    assert conv.error_replicas_to_reset(external, TARGET, done=[("s0", C)]) == [("s2", A)]
    assert conv.error_replicas_to_reset(external, None) == []


def test_a_replica_that_failed_to_load_is_reset_once():
    failed = {"s0": {A: "ONLINE", C: "ERROR"}, "s1": {B: "ONLINE", C: "ONLINE"}, "s2": TARGET["s2"]}
    client = ScriptedClient([(TARGET, failed), (TARGET, failed), (TARGET, TARGET)])
    outcome = wait(client, FakeTime(), target=TARGET)
    assert outcome["outcome"] == "finished" and client.resets == [("s0", C)]
    assert outcome["notes"] == ["s0 failed to load on %s (ERROR); asked Pinot to reset it (load it again)" % C]


def test_a_reset_the_controller_did_not_take_is_tried_again():
    failed = {"s0": {A: "ONLINE", C: "ERROR"}, "s1": {B: "ONLINE", C: "ONLINE"}, "s2": TARGET["s2"]}
    client = ScriptedClient([(TARGET, failed), (TARGET, failed), (TARGET, TARGET)])
    answers = [PinotError("cannot reach the controller", unavailable=True)]

    def reset_segment(table, table_type, segment, instance):
        if answers:
            raise answers.pop()
        client.resets.append((segment, instance))
    client.reset_segment = reset_segment
    assert wait(client, FakeTime(), target=TARGET)["outcome"] == "finished"
    assert client.resets == [("s0", C)]


# ---- per table, against a scripted client -------------------------------------------------------

class StartClient(ScriptedClient):
    def __init__(self, reply, status=200, **kwargs):
        super(StartClient, self).__init__(**kwargs)
        self.reply = reply
        self.status = status
        self.posts = []

    def rebalance(self, table, table_type, params):
        self.posts.append(params)
        return self.status, self.reply


def test_start_table_timeout_cancels_when_asked():
    fake_time = FakeTime()
    client = StartClient({"status": "IN_PROGRESS", "jobId": "j1", "segmentAssignment": TARGET},
                         views=[(TARGET, BEFORE)], statuses=["IN_PROGRESS"])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, None, True, 40.0, stall_timeout=0, cancel_on_timeout=True, can_cancel=True,
                   clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "timeout" and result["cancelled_job_ids"] == ["j1"] and result["changed"] is True
    assert client.posts == [{"dryRun": "false"}]


def test_start_table_names_a_dead_server_the_stuck_segments_wait_for():
    fake_time = FakeTime()
    client = StartClient({"status": "IN_PROGRESS", "segmentAssignment": TARGET}, views=[(TARGET, BEFORE)])
    client.live_instances = lambda: [A, B, D]
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, None, True, 3600.0, stall_timeout=60, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "stalled"
    assert result["message"].endswith("; %s is not live: the rebalance cannot finish while a server it assigns segments "
                                      "to is down; bring it back and run again" % C)


def test_servers_not_live():
    stuck = {"s0": {"ideal_state": {A: "ONLINE", C: "ONLINE"}}, "s1": {"ideal_state": {B: "OFFLINE", D: "ONLINE"}}}
    assert conv.servers_not_live(stuck, [A]) == [C, D]
    assert conv.servers_not_live(stuck, [A, C, D]) == []


def test_start_table_cannot_cancel_on_old_controller():
    fake_time = FakeTime()
    client = StartClient({"status": "IN_PROGRESS", "segmentAssignment": TARGET}, views=[(TARGET, BEFORE)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, None, True, 40.0, stall_timeout=0, cancel_on_timeout=True, can_cancel=False,
                   clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "timeout" and "cancelled_job_ids" not in result and client.cancelled == []
    assert "no rebalance cancel API" in result["notes"][-1]


class RestartClient(StartClient):
    """Pinot 0.11 whose controller dropped the first rebalance after one step: each POST moves the ideal state
    one step further, and the external view always catches up."""

    def __init__(self, steps, **kwargs):
        super(RestartClient, self).__init__({"status": "IN_PROGRESS", "segmentAssignment": TARGET},
                                            views=[(steps[0], steps[0])], **kwargs)
        self.steps = steps

    def rebalance(self, table, table_type, params):
        self.views = [(self.steps[min(len(self.posts), len(self.steps) - 1)],) * 2]
        return super(RestartClient, self).rebalance(table, table_type, params)


def test_start_table_starts_an_abandoned_rebalance_again():
    middle = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    client = RestartClient([middle, TARGET])
    fake_time = FakeTime()
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {"reassignInstances": "true"}, None, True, 3600.0, clock=fake_time.clock,
                   sleep=fake_time.sleep)
    assert result["outcome"] == "finished" and result["converged"] is True and result["restarts"] == 1
    assert client.posts == [{"reassignInstances": "true", "dryRun": "false"}] * 2
    assert "Pinot did not say why" in result["notes"][0] and "started it again (restart 1 of 3)" in result["notes"][0]


def test_start_table_gives_up_after_the_restarts():
    middle = {"s0": TARGET["s0"], "s1": BEFORE["s1"], "s2": BEFORE["s2"]}
    client = RestartClient([middle])
    fake_time = FakeTime()
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, None, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "abandoned" and result["converged"] is False and result["restarts"] == rb.RESTARTS
    assert len(client.posts) == rb.RESTARTS + 1
    assert "Pinot did not say why" in result["message"] and "Likely causes" in result["message"]


ONE_REPLICA_BEFORE = {"s0": {A: "ONLINE"}, "s1": {D: "ONLINE"}}
ONE_REPLICA_TARGET = {"s0": {A: "ONLINE"}, "s1": {C: "ONLINE"}}


def test_plan_moves_knows_the_fewest_replicas_a_moving_segment_gets():
    assert conv.plan_moves(BEFORE, TARGET)["min_target_replicas"] == 2
    assert conv.plan_moves(ONE_REPLICA_BEFORE, ONE_REPLICA_TARGET)["min_target_replicas"] == 1
    assert conv.plan_moves(BEFORE, BEFORE)["min_target_replicas"] is None  # nothing moves


def test_a_rebalance_pinots_rule_aborts_is_not_restarted_and_the_rule_is_the_likely_cause():
    """The real cluster: replication 1, min_available_replicas 1, Pinot 0.11 aborts in the background and says nothing
    to the caller ("Illegal config for minReplicasToKeepUpForNoDowntime: 1 ... aborting the rebalance" in its log)."""
    client = StartClient({"status": "IN_PROGRESS", "segmentAssignment": ONE_REPLICA_TARGET},
                         views=[(ONE_REPLICA_BEFORE, ONE_REPLICA_BEFORE)])
    fake_time = FakeTime()
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    result["plan"] = conv.plan_moves(ONE_REPLICA_BEFORE, ONE_REPLICA_TARGET)
    rb.start_table(client, result, {"minAvailableReplicas": "1"}, ONE_REPLICA_TARGET, True, 3600.0,
                   clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "abandoned" and result["restarts"] == 0 and len(client.posts) == 1
    assert "Pinot did not say why" in result["message"]
    assert ("The likeliest: min_available_replicas 1 is not less than the 1 replica(s) the target gives a moving "
            "segment, and Pinot aborts a no-downtime rebalance then") in result["message"]
    assert "Not started again" in result["message"]
    assert fake_time.now < 70


@pytest.mark.parametrize("params", [{"minAvailableReplicas": "0"}, {"minAvailableReplicas": "1", "downtime": "true"}])
def test_without_the_rule_applying_an_abandoned_rebalance_is_restarted(params):
    client = StartClient({"status": "IN_PROGRESS", "segmentAssignment": ONE_REPLICA_TARGET},
                         views=[(ONE_REPLICA_BEFORE, ONE_REPLICA_BEFORE)])
    fake_time = FakeTime()
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    result["plan"] = conv.plan_moves(ONE_REPLICA_BEFORE, ONE_REPLICA_TARGET)
    rb.start_table(client, result, params, ONE_REPLICA_TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["restarts"] == rb.RESTARTS and "The likeliest" not in result["message"]


class CopyableClient:
    """A client whose copy() (same settings, its own session) records the thread that asked for it."""

    def __init__(self, copies=None):
        self.copies = copies if copies is not None else []

    def copy(self):
        twin = CopyableClient(self.copies)
        self.copies.append((threading.current_thread().name, twin))
        return twin


def test_run_parallel_keeps_order():
    assert par.run_parallel(CopyableClient(), [3, 1, 2], lambda client, x: x * 2, 2) == [6, 2, 4]
    assert par.run_parallel(CopyableClient(), [3], lambda client, x: x * 2, 4) == [6]


def test_run_parallel_gives_each_worker_thread_its_own_client():
    client = CopyableClient()
    barrier = threading.Barrier(2, timeout=10)

    def worker(own, item):
        barrier.wait()  # both threads run at once, so each has asked for its client
        return item, threading.current_thread().name, own

    results = par.run_parallel(client, [1, 2], worker, 2)
    assert [item for item, _thread, _client in results] == [1, 2]
    assert len(set(thread for _item, thread, _client in results)) == 2
    assert sorted((thread, id(own)) for _item, thread, own in results) == sorted((thread, id(twin)) for thread, twin in client.copies)
    assert all(own is not client for _item, _thread, own in results)
    # One at a time, the worker gets the client itself.
    assert par.run_parallel(client, [1], lambda own, item: own, 2) == [client]


class CommittingClient:
    """Reads a consuming segment, then answers a dry run computed after it committed (same servers, ONLINE)."""

    def ideal_state(self, table, table_type):
        return {table_type: {"s0": {A: "ONLINE", B: "ONLINE"}, "s1": {A: "CONSUMING", B: "CONSUMING"}}}

    def rebalance(self, table, table_type, query):
        target = {"s0": {A: "ONLINE", B: "ONLINE"}, "s1": {A: "ONLINE", B: "ONLINE"},
                  "s2": {A: "CONSUMING", B: "CONSUMING"}}
        return 200, {"status": "DONE", "description": "Instance reassigned in dry-run mode, table is already balanced",
                     "segmentAssignment": target}


def test_a_commit_between_the_two_reads_is_not_a_move():
    # Live ingestion: the segment committed and a new one started between the ideal-state read and the dry run.
    result, _target, _summary = rb.plan_table(CommittingClient(), "events_REALTIME", "REALTIME", {})
    assert result["already_balanced"] is True
    assert result["plan"]["segments_to_move"] == 0


class RacingClient(StartClient):
    """Answers a downtime rebalance with Pinot's FAILED for a lost ideal-state write `races` times, then `reply`."""

    def __init__(self, races, reply, **kwargs):
        super(RacingClient, self).__init__(reply, **kwargs)
        self.races = races

    def rebalance(self, table, table_type, params):
        self.posts.append(params)
        if len(self.posts) <= self.races:
            return 200, {"status": "FAILED", "jobId": "j%d" % len(self.posts),
                         "description": "Caught exception while updating IdealState, aborting the rebalance"}
        return self.status, self.reply


def test_a_downtime_rebalance_that_lost_the_ideal_state_race_is_sent_again():
    fake_time = FakeTime()
    client = RacingClient(2, {"status": "DONE", "segmentAssignment": TARGET}, views=[(TARGET, TARGET)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {"downtime": "true"}, None, True, 600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert len(client.posts) == 3 and result["outcome"] == "finished" and result["status"] == "DONE"
    assert sum("sent the same rebalance again" in note for note in result["notes"]) == 2


def test_a_rebalance_that_keeps_losing_the_race_fails_with_pinots_answer():
    fake_time = FakeTime()
    client = RacingClient(10, {"status": "DONE", "segmentAssignment": TARGET}, views=[(TARGET, TARGET)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {"downtime": "true"}, None, True, 600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert len(client.posts) == 1 + rb.RACE_RESENDS and result["outcome"] == "failed"
    assert result["message"] == ("Pinot did not start the rebalance: FAILED Caught exception while updating IdealState, "
                                 "aborting the rebalance")


def test_other_failed_answers_are_not_sent_again():
    fake_time = FakeTime()
    client = StartClient({"status": "FAILED", "description": "Cannot rebalance disabled table without downtime"},
                         views=[(TARGET, BEFORE)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, None, True, 600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert len(client.posts) == 1 and result["outcome"] == "failed"


class OrphanJobClient(StartClient):
    """1.x after a controller restart: the first job stays IN_PROGRESS short of the target; once it is cancelled, a
    new rebalance (job j2) reaches the target."""

    def __init__(self, can_cancel=True):
        statuses = {"j1": ["IN_PROGRESS"], "j2": ["DONE"]}
        super(OrphanJobClient, self).__init__(None, views=[(MIDDLE, MIDDLE)], statuses=statuses, overall=FROZEN)
        self.can_cancel = can_cancel

    def has_rebalance_cancel(self):
        return self.can_cancel

    def rebalance(self, table, table_type, params):
        self.posts.append(params)
        if len(self.posts) > 1:
            self.views = [(TARGET, TARGET)]
        return 200, {"status": "IN_PROGRESS", "jobId": "j%d" % len(self.posts), "segmentAssignment": TARGET}


def test_a_frozen_job_is_cancelled_and_the_rebalance_started_again():
    fake_time = FakeTime()
    client = OrphanJobClient()
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "finished" and result["restarts"] == 1 and result["job_id"] == "j2"
    assert client.cancelled == ["t_OFFLINE"] and len(client.posts) == 2
    assert any(note.startswith("cancelled job(s) j1, which Pinot still reported IN_PROGRESS") for note in result["notes"])


def test_a_frozen_job_without_a_cancel_api_is_not_started_again():
    fake_time = FakeTime()
    client = OrphanJobClient(can_cancel=False)
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "abandoned" and len(client.posts) == 1 and client.cancelled == []
    assert result["message"].endswith("Not started again: this controller has no rebalance cancel API (%s) to end that "
                                      "job" % rb.FEATURES[rb.FEATURE_CANCEL])


class UnansweredClient(StartClient):
    """The controller breaks off the first `breaks` rebalance requests (killed), then answers."""

    def __init__(self, breaks, **kwargs):
        super(UnansweredClient, self).__init__({"status": "IN_PROGRESS", "segmentAssignment": TARGET}, **kwargs)
        self.breaks = breaks

    def rebalance(self, table, table_type, params):
        self.posts.append(params)
        if len(self.posts) <= self.breaks:
            raise PinotError("cannot reach the controller: ('Connection aborted.', RemoteDisconnected())", "POST",
                             "http://c/tables/t/rebalance", unavailable=True)
        return self.status, self.reply


def test_a_rebalance_request_the_controller_broke_off_is_sent_again_once_it_answers():
    fake_time = FakeTime()
    client = UnansweredClient(2, views=[(TARGET, TARGET)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    rb.start_table(client, result, {}, TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert result["outcome"] == "finished" and len(client.posts) == 3
    assert [note.split(";")[1] for note in result["notes"][:2]] == [" sending it again in 2 s", " sending it again in 4 s"]


def test_a_controller_that_never_answers_fails_the_table_after_the_resends():
    fake_time = FakeTime()
    client = UnansweredClient(100, views=[(TARGET, TARGET)])
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    with pytest.raises(PinotError, match="cannot reach the controller"):
        rb.start_table(client, result, {}, TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert len(client.posts) == 1 + rb.UNANSWERED_RESENDS and 100 <= fake_time.now <= 130


def test_an_error_answer_is_not_sent_again():
    fake_time = FakeTime()
    client = StartClient(None, views=[(TARGET, TARGET)])

    def not_found(*args):
        raise PinotError("Table 't' not found", "POST", "u", status=404)

    client.rebalance = not_found
    result = rb.new_table_result("t_OFFLINE", "OFFLINE")
    with pytest.raises(PinotError, match="not found"):
        rb.start_table(client, result, {}, TARGET, True, 3600.0, clock=fake_time.clock, sleep=fake_time.sleep)
    assert fake_time.now == 0
