# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rebalancing one table: the knobs sent to Pinot, the plan (dry run), the start, and the follow-up to its end.

plan_table asks Pinot for a dry run; start_table sends the rebalance and, with `wait`, follows it with
rebalance_wait.wait_for_rebalance, starting it again when the controller abandoned it. Each takes a PinotClient;
time comes in as a clock/sleep pair, so tests drive them with a fake controller and fake time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import time

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delays
from ansible_collections.pinotops.pinot.plugins.module_utils.convergence import convergence, plan_moves, servers_not_live
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.plan import min_available_after
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_jobs import job_id_from_conflict, running_job_ids
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_wait import ABANDONED_AFTER_SECONDS, read_views, wait_for_rebalance

# ---- knobs -----------------------------------------------------------------------------------

FEATURE_JOB_STATUS = "rebalance_status"
FEATURE_CANCEL = "rebalance_cancel"
FEATURE_SUMMARY = "rebalance_summary"

# How each feature is detected, for messages.
FEATURES = {
    FEATURE_JOB_STATUS: "Pinot 1.0 or newer (detected by GET /rebalanceStatus/{jobId} existing)",
    FEATURE_CANCEL: "Pinot 1.1 or newer (detected from the controller's API listing, GET /swagger.json)",
    FEATURE_SUMMARY: "Pinot 1.4 or newer (detected by preChecksResult or rebalanceSummaryResult in the dry-run reply)",
}

# option -> (Pinot query parameter, kind, feature the controller needs or None for every version).
# Pinot silently ignores query parameters it does not know, so a knob the user set on a controller
# that lacks it must fail instead of being dropped on the floor.
KNOBS = {
    "reassign_instances": ("reassignInstances", "bool", None),
    "include_consuming": ("includeConsuming", "bool", None),
    "min_available_replicas": ("minAvailableReplicas", "int", None),
    "bootstrap": ("bootstrap", "bool", None),
    "downtime": ("downtime", "bool", None),
    "best_efforts": ("bestEfforts", "bool", None),
    "update_target_tier": ("updateTargetTier", "bool", FEATURE_JOB_STATUS),
    "external_view_check_interval": ("externalViewCheckIntervalInMs", "seconds", FEATURE_JOB_STATUS),
    "external_view_stabilization_timeout": ("externalViewStabilizationTimeoutInMs", "seconds", FEATURE_JOB_STATUS),
    "low_disk_mode": ("lowDiskMode", "bool", FEATURE_CANCEL),
    "heartbeat_interval": ("heartbeatIntervalInMs", "seconds", FEATURE_CANCEL),
    "heartbeat_timeout": ("heartbeatTimeoutInMs", "seconds", FEATURE_CANCEL),
    "max_attempts": ("maxAttempts", "int", FEATURE_CANCEL),
    "retry_initial_delay": ("retryInitialDelayInMs", "seconds", FEATURE_CANCEL),
    "minimize_data_movement": ("minimizeDataMovement", "enum", FEATURE_SUMMARY),
    "batch_size_per_server": ("batchSizePerServer", "int", FEATURE_SUMMARY),
    "disk_utilization_threshold": ("diskUtilizationThreshold", "float", FEATURE_SUMMARY),
    "force_commit": ("forceCommit", "bool", FEATURE_SUMMARY),
    "force_commit_batch_size": ("forceCommitBatchSize", "int", FEATURE_SUMMARY),
    "force_commit_batch_status_check_interval": ("forceCommitBatchStatusCheckIntervalMs", "seconds", FEATURE_SUMMARY),
    "force_commit_batch_status_check_timeout": ("forceCommitBatchStatusCheckTimeoutMs", "seconds", FEATURE_SUMMARY),
}


def rebalance_params(options):
    """Pinot query parameters for the knobs that are set (not None) in `options`."""
    params = {}
    for option, (param, kind, _feature) in KNOBS.items():
        value = options.get(option)
        if value is None:
            continue
        if kind == "bool":
            value = "true" if value else "false"
        elif kind == "seconds":
            value = str(int(round(float(value) * 1000)))
        elif kind == "enum":
            value = str(value).upper()  # Pinot answers 404 to a lowercase enum value
        else:
            value = str(value)
        params[param] = value
    return params


def knobs_needing(options, feature):
    """Options set in `options` that need `feature`, sorted."""
    return sorted(option for option, (_param, _kind, needs) in KNOBS.items()
                  if needs == feature and options.get(option) is not None)


def unsupported_knobs_message(options, feature):
    """None, or what to tell the user when knobs need a feature the controller lacks."""
    knobs = knobs_needing(options, feature)
    if not knobs:
        return None
    return ("%s need%s %s; this controller does not have it, and Pinot would silently ignore %s. "
            "Remove %s or upgrade Pinot" % (", ".join(knobs), "s" if len(knobs) == 1 else "", FEATURES[feature],
                                            "it" if len(knobs) == 1 else "them", "it" if len(knobs) == 1 else "them"))


# ---- one table, end to end ----------------------------------------------------------------------

def new_table_result(table, table_type):
    return {"table": table, "table_type": table_type, "status": None, "description": None, "job_id": None,
            "attached": False, "changed": False, "outcome": None, "converged": None, "duration": 0.0,
            "segments_moved": 0, "restarts": 0, "already_balanced": False, "plan": None, "summary": None,
            "pre_checks": None, "progress": None, "message": None, "notes": []}


def plan_table(client, table, table_type, params):
    """Dry run (with Pinot's pre-checks where it has them): the plan for one typed table. Changes nothing.

    Returns (result dict, target assignment or None, has_summary) where has_summary tells whether the
    controller answered with 1.4+ fields.
    """
    result = new_table_result(table, table_type)
    current = client.ideal_state(table, table_type).get(table_type) or {}
    query = dict(params, dryRun="true", preChecks="true")
    status, reply = client.rebalance(table, table_type, query)
    reply = reply if isinstance(reply, dict) else {}
    if status == 409:
        result.update(status="IN_PROGRESS", description=reply.get("error"))
        result["job_id"] = job_id_from_conflict(reply.get("error"))
        return result, None, False
    target = reply.get("segmentAssignment")
    result.update(status=reply.get("status"), description=reply.get("description"),
                  summary=reply.get("rebalanceSummaryResult"), pre_checks=reply.get("preChecksResult"))
    if target is not None and result["status"] in ("DONE", "NO_OP"):
        result["plan"] = plan_moves(current, target)
    # Before 1.4, reassignInstances on a table without an instance assignment config answers DONE ("Instance
    # reassigned ..., table is already balanced") on every run, moving nothing: not a change worth starting.
    # Compared by servers, not states: a segment that committed between the two reads has not moved.
    result["already_balanced"] = result["status"] == "NO_OP" or (
        result["status"] == "DONE" and result["plan"] is not None and result["plan"]["segments_to_move"] == 0)
    if result["status"] == "DONE" and result["already_balanced"]:
        result["notes"].append("Pinot answered DONE (%s) but its target assignment is the current ideal state: no "
                               "segment would move, so no rebalance is started" % result["description"])
    has_summary = "rebalanceSummaryResult" in reply or "preChecksResult" in reply
    return result, target, has_summary


# How many times a rebalance the controller abandoned (see ABANDONED_AFTER_SECONDS) is started again.
RESTARTS = 3

# A downtime rebalance writes the ideal state once, as a compare-and-set on its ZooKeeper version. Under live
# ingestion a segment commit can change the ideal state between Pinot's read and that write; Pinot then answers
# FAILED with this description and has changed nothing, so the same request is sent again (seen on 1.5.1).
IDEAL_STATE_RACE = "while updating IdealState"
RACE_RESENDS = 3
RACE_PAUSE_SECONDS = 1.0


# A rebalance POST the controller did not answer (it stopped, or broke off the connection) is sent again once it
# answers: a rebalance it had started died with it (Pinot 0.11), or Pinot 1.x answers 409 naming its job, which the
# task then follows. Waits between tries: 2, 4, 8, 16, 30, 30, 30 s (two minutes for a controller restart).
UNANSWERED_RESENDS = 7


def send_rebalance(client, result, params, target, sleep=time.sleep):
    """submit_rebalance, sent again while Pinot did not take it: no answer (UNANSWERED_RESENDS) or an ideal-state
    write that lost a race (RACE_RESENDS). Returns the target assignment, as submit_rebalance does."""
    delays = backoff_delays(2.0, 30.0)
    unanswered = races = 0
    while True:
        try:
            target = submit_rebalance(client, result, params, target)
        except PinotError as exc:
            if not exc.unavailable or unanswered == UNANSWERED_RESENDS:
                raise
            unanswered += 1
            delay = next(delays)
            result["notes"].append("the controller did not answer the rebalance request (%s); sending it again in "
                                   "%.0f s" % (exc, delay))
            sleep(delay)
            continue
        if not lost_ideal_state_race(result) or races == RACE_RESENDS:
            return target
        races += 1
        result["notes"].append("Pinot answered FAILED (%s); its one write of the ideal state fails when the ideal "
                               "state changes at the same moment, as a segment commit does under ingestion; sent the "
                               "same rebalance again (%d of %d)" % (result["description"], races, RACE_RESENDS))
        sleep(RACE_PAUSE_SECONDS)


def lost_ideal_state_race(result):
    """Whether Pinot's synchronous answer says it aborted because the ideal state changed under it."""
    return result["status"] == "FAILED" and IDEAL_STATE_RACE in (result["description"] or "")


def submit_rebalance(client, result, params, target):
    """POST the rebalance of one planned table and record Pinot's answer in `result`.

    The client never repeats a POST by itself; start_table sends it again for a rebalance the controller abandoned,
    and one Pinot did not take (send_rebalance).

    Returns the target assignment: Pinot's answer where it has one, else `target`.
    """
    table, table_type = result["table"], result["table_type"]
    status, reply = client.rebalance(table, table_type, dict(params, dryRun="false"))
    reply = reply if isinstance(reply, dict) else {}
    if status == 409:
        job_id = job_id_from_conflict(reply.get("error"))
        if not job_id:
            running = running_job_ids(client.table_jobs(table, table_type))
            job_id = running[0] if running else None
        result.update(status="IN_PROGRESS", description=reply.get("error"), job_id=job_id, attached=True)
        result["notes"].append("a rebalance of %s was already running (job %s); following it instead of starting "
                               "another" % (table, job_id))
        return target
    # Pinot also names synchronous results (dry run, downtime, NO_OP) with a job id it never stores.
    result.update(status=reply.get("status"), description=reply.get("description"),
                  job_id=reply.get("jobId") if reply.get("status") == "IN_PROGRESS" else None)
    if reply.get("rebalanceSummaryResult"):
        result["summary"] = reply["rebalanceSummaryResult"]
    return reply.get("segmentAssignment") or target


def pinot_aborts(params, plan):
    """Why Pinot's rule aborts this no-downtime rebalance as it starts (plan.min_available_after), or None.

    `params` are the query parameters sent, `plan` the dry run's plan_moves (None when Pinot gave no target).
    """
    if params.get("downtime") == "true" or not plan or plan.get("min_target_replicas") is None:
        return None
    if "minAvailableReplicas" not in params:
        return None  # Pinot's default, which changed between versions: nothing certain to say
    wanted, replicas = int(params["minAvailableReplicas"]), plan["min_target_replicas"]
    if min_available_after(replicas, wanted) is not None:
        return None
    return ("min_available_replicas %d is not less than the %d replica(s) the target gives a moving segment, and Pinot "
            "aborts a no-downtime rebalance then; set min_available_replicas lower, or downtime=true, to move the "
            "table with downtime" % (wanted, replicas))


def start_table(client, result, params, target, wait, deadline, stall_timeout=600.0, poll_interval=0.5,
                follow_jobs=True, cancel_on_timeout=False, can_cancel=False, clock=time.monotonic, sleep=time.sleep,
                abandoned_after=ABANDONED_AFTER_SECONDS):
    """Start (or attach to) the rebalance of one planned table and, with `wait`, follow it to its end.

    `result` comes from plan_table and is updated in place (and returned). A rebalance the controller
    abandoned (Pinot before 1.0, controller restarted) is started again, up to RESTARTS times.
    """
    table, table_type = result["table"], result["table_type"]
    started = clock()
    target = send_rebalance(client, result, params, target, sleep)
    if result["status"] == "NO_OP":
        result.update(outcome="finished", converged=True, changed=False)
        return _finish(client, result, target, started, clock)
    if result["status"] not in ("DONE", "IN_PROGRESS"):
        result.update(outcome="failed", converged=False)
        result["message"] = "Pinot did not start the rebalance: %s %s" % (result["status"], result["description"])
        return _finish(client, result, target, started, clock)
    result["changed"] = True
    if not wait:
        result["outcome"] = "not_waited"
        return _finish(client, result, target, started, clock)
    restarts = 0
    while True:
        follow = follow_jobs and result["status"] == "IN_PROGRESS" and bool(result["job_id"])
        outcome = wait_for_rebalance(client, table, table_type, job_id=result["job_id"], target=target,
                                     deadline=deadline, stall_timeout=stall_timeout, poll_interval=poll_interval,
                                     follow_job=follow, clock=clock, sleep=sleep, abandoned_after=abandoned_after)
        if outcome["outcome"] != "abandoned" or restarts == RESTARTS:
            break
        aborts = pinot_aborts(params, result["plan"])
        if aborts:  # started again, it would be aborted again
            outcome = dict(outcome, message="%s. The likeliest: %s. Not started again (Pinot would abort it again)" % (
                outcome["message"], aborts))
            break
        restarts += 1
        result["notes"].extend(outcome["notes"])
        if follow:  # Pinot 1.x answers 409 while its job says IN_PROGRESS: cancel that job first
            if not client.has_rebalance_cancel():
                outcome = dict(outcome, message="%s. Not started again: this controller has no rebalance cancel API "
                                                "(%s) to end that job" % (outcome["message"], FEATURES[FEATURE_CANCEL]))
                break
            cancelled = client.cancel_rebalance(table, table_type)
            result["notes"].append("cancelled job(s) %s, which Pinot still reported IN_PROGRESS" % (
                ", ".join(cancelled) or "(none listed)"))
        result["notes"].append("%s; started it again (restart %d of %d)" % (outcome["message"], restarts, RESTARTS))
        target = send_rebalance(client, result, params, target, sleep)
        if result["status"] not in ("DONE", "IN_PROGRESS"):
            outcome = dict(outcome, outcome="failed", message="Pinot did not restart the rebalance: %s %s" % (
                result["status"], result["description"]))
            break
    result["restarts"] = restarts
    result["outcome"] = outcome["outcome"]
    result["converged"] = outcome["outcome"] == "finished"
    result["progress"] = outcome["progress"]
    result["notes"].extend(outcome["notes"])
    result["job_id"] = outcome["job_id"] or result["job_id"]
    if outcome["status"]:
        result["status"] = outcome["status"]
    elif result["converged"] and result["status"] == "IN_PROGRESS":
        result["status"] = "DONE"  # no job to ask (Pinot < 1.0): the views say it is done
    if outcome.get("job"):
        result["job"] = outcome["job"]
    if outcome.get("message"):
        result["message"] = outcome["message"]
    if outcome.get("stuck_segments"):
        result["stuck_segments"] = outcome["stuck_segments"]
        _name_dead_servers(client, result)
    if result["converged"] and result["plan"]:
        result["segments_moved"] = result["plan"]["replicas_to_add"]
    if outcome["outcome"] in ("timeout", "stalled") and cancel_on_timeout:
        if can_cancel:
            result["cancelled_job_ids"] = client.cancel_rebalance(table, table_type)
        else:
            result["notes"].append("cancel_on_timeout: this controller has no rebalance cancel API (%s); the "
                                   "rebalance keeps running in the controller" % FEATURES[FEATURE_CANCEL])
    result["duration"] = round(clock() - started, 1)
    return result


def _name_dead_servers(client, result):
    """Say in the message when a stuck segment waits for a server that is not live (it never will load it)."""
    try:
        dead = servers_not_live(result["stuck_segments"], client.live_instances())
    except PinotError:
        return  # the message already says what went wrong; liveness is a hint only
    if dead:
        verb = "is" if len(dead) == 1 else "are"
        result["message"] = ("%s; %s %s not live: the rebalance cannot finish while a server it assigns segments to "
                             "is down; bring it back and run again" % (result["message"], ", ".join(dead), verb))


def _finish(client, result, target, started, clock):
    if result["progress"] is None:
        ideal, external = read_views(client, result["table"], result["table_type"])
        result["progress"] = convergence(ideal, external, target)
    result["duration"] = round(clock() - started, 1)
    return result


def failed_table(result, exc, doing):
    """Mark a table result failed by a PinotError raised while `doing` something."""
    result.update(outcome="failed", converged=False)
    result["message"] = "%s: %s" % (doing, exc)
    if isinstance(exc, PinotError):
        result["error"] = exc.to_result()
    return result
