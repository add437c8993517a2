# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Table rebalance: knobs, plans, progress, and following a rebalance to its real end.

The pure parts (knob table, plan diff, convergence of ideal state / external
view, job-status interpretation, poll schedule) have no I/O. The waiting loop
and the per-table run take a PinotClient and a clock/sleep pair, so tests can
drive them with a fake controller and fake time.

"Finished" means Pinot's job says so (where there is a job) AND the external
view serves what the ideal state asks for: Pinot has reported DONE before the
external view converged, and IN_PROGRESS with a job id it never stored.
Without a job (Pinot older than 1.0, or a job id Pinot forgot) the ideal
state must also have reached the target assignment, because a running
rebalance moves the ideal state in steps and the external view catches up
with every step.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.pinotops.pinot.plugins.module_utils.client import PinotError

# ---- knobs -----------------------------------------------------------------------------------

FEATURE_JOB_STATUS = "rebalance_status"
FEATURE_CANCEL = "rebalance_cancel"
FEATURE_SUMMARY = "rebalance_summary"

# How each feature is detected, for messages.
FEATURES = {
    FEATURE_JOB_STATUS: "Pinot 1.0 or newer (detected by GET /rebalanceStatus/{jobId} existing)",
    FEATURE_CANCEL: "Pinot 1.1 or newer (detected by DELETE /tables/{table}/rebalance existing)",
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


# ---- statuses --------------------------------------------------------------------------------

SUCCESS_STATUSES = ("DONE", "NO_OP")
FAILED_STATUSES = ("FAILED", "ABORTED", "CANCELLED", "UNKNOWN_ERROR")
SERVING_STATES = ("ONLINE", "CONSUMING")


def job_view(reply):
    """The parts of a GET /rebalanceStatus/{jobId} reply that matter, in one flat dict."""
    stats = (reply or {}).get("tableRebalanceProgressStats") or {}
    context = (reply or {}).get("tableRebalanceContext") or {}
    overall = stats.get("rebalanceProgressStatsOverall") or {}
    view = {
        "status": stats.get("status"),
        "message": stats.get("completionStatusMsg"),
        "original_job_id": context.get("originalJobId"),
        "attempt": context.get("attemptId"),
        "elapsed_seconds": (reply or {}).get("timeElapsedSinceStartInSeconds"),
    }
    if overall:
        view["segments_to_add"] = overall.get("totalSegmentsToBeAdded")
        view["remaining_segments_to_add"] = overall.get("totalRemainingSegmentsToBeAdded")
        view["remaining_segments_to_converge"] = overall.get("totalRemainingSegmentsToConverge")
        view["estimated_seconds_to_complete"] = overall.get("estimatedTimeToCompleteAddsInSeconds")
    return view


def _json_field(value):
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def rebalance_jobs(jobs):
    """GET /table/{t}/jobs reply -> [{"job_id", "status", "original_job_id", "attempt", "submitted_ms"}], newest first."""
    found = []
    for job_id, meta in (jobs or {}).items():
        if (meta or {}).get("jobType", "TABLE_REBALANCE") != "TABLE_REBALANCE":
            continue
        stats = _json_field(meta.get("REBALANCE_PROGRESS_STATS"))
        context = _json_field(meta.get("REBALANCE_CONTEXT"))
        found.append({
            "job_id": meta.get("jobId") or job_id,
            "status": stats.get("status"),
            "original_job_id": context.get("originalJobId") or meta.get("jobId") or job_id,
            "attempt": int(context.get("attemptId") or 1),
            "submitted_ms": int(meta.get("submissionTimeMs") or 0),
        })
    return sorted(found, key=lambda job: job["submitted_ms"], reverse=True)


def find_retry(jobs, original_job_id, attempt):
    """Id of a later attempt of the same rebalance (RebalanceChecker retries FAILED/ABORTED jobs), or None."""
    later = [job for job in rebalance_jobs(jobs) if job["original_job_id"] == original_job_id and job["attempt"] > attempt]
    return max(later, key=lambda job: job["attempt"])["job_id"] if later else None


def running_job_ids(jobs):
    """Ids of the IN_PROGRESS rebalance jobs in a GET /table/{t}/jobs reply."""
    return [job["job_id"] for job in rebalance_jobs(jobs) if job["status"] == "IN_PROGRESS"]


def job_id_from_conflict(message):
    """The running job's id from Pinot's 409 '... already in progress for table: t, jobId: <id>. Please wait ...'."""
    match = re.search(r"jobId:\s*([^\s.,]+)", message or "")
    return match.group(1) if match else None


# ---- plans and progress (pure) ---------------------------------------------------------------

def assigned(replicas):
    """Instances a segment is assigned to (every state but OFFLINE)."""
    return set(instance for instance, state in (replicas or {}).items() if state != "OFFLINE")


def plan_moves(current, target):
    """What a rebalance from `current` to `target` ({segment: {instance: state}}) moves, per server.

    Only segments in both are compared (a segment created or deleted in between is not the rebalance's doing).
    Returns {"servers": {server: {"before", "after", "add", "remove"}}, "segments_to_move", "replicas_to_add",
    "replicas_to_remove", "servers_added", "servers_removed"}.
    """
    servers = {}
    segments_to_move = 0
    for segment in set(current) & set(target):
        before, after = assigned(current[segment]), assigned(target[segment])
        if before != after:
            segments_to_move += 1
        for server in before | after:
            entry = servers.setdefault(server, {"before": 0, "after": 0, "add": 0, "remove": 0})
            entry["before"] += server in before
            entry["after"] += server in after
            entry["add"] += server in after and server not in before
            entry["remove"] += server in before and server not in after
    return {
        "servers": dict(sorted(servers.items())),
        "segments_to_move": segments_to_move,
        "replicas_to_add": sum(entry["add"] for entry in servers.values()),
        "replicas_to_remove": sum(entry["remove"] for entry in servers.values()),
        "servers_added": sorted(s for s, e in servers.items() if e["before"] == 0 and e["after"] > 0),
        "servers_removed": sorted(s for s, e in servers.items() if e["after"] == 0 and e["before"] > 0),
    }


def error_replicas_to_reset(external, target, done=()):
    """[(segment, instance)] the external view has in ERROR where the target assigns the segment, minus `done`.

    These are replicas the rebalance asked a server to load and the load failed, typically because the segment
    could not be downloaded (from a controller that was restarting, when it is the deep store). Sorted.
    """
    found = []
    for segment, replicas in (target or {}).items():
        held = external.get(segment) or {}
        for instance in assigned(replicas):
            if held.get(instance) == "ERROR" and (segment, instance) not in done:
                found.append((segment, instance))
    return sorted(found)


def segment_served(ideal_replicas, external_replicas):
    """True when the external view serves one segment exactly as the ideal state asks.

    Every replica the ideal state assigns is in the same state in the external view, and no other
    instance still holds it (a replica being dropped counts until it is gone).
    """
    external_replicas = external_replicas or {}
    for instance, state in ideal_replicas.items():
        if state != "OFFLINE" and external_replicas.get(instance) != state:
            return False
    extra = assigned(external_replicas) - set(ideal_replicas)
    return not extra


def convergence(ideal, external, target=None, sample=20):
    """Progress of one typed table from its ideal state, external view and (optionally) the target assignment.

    A segment is converged when the external view serves it as the ideal state says and, for segments in
    `target`, the ideal state assigns it to the target's instances. `remaining_replicas` counts replica
    loads and drops still to happen (towards the target where known); it only goes down while the
    rebalance makes progress, so the stall detector watches it.
    Returns the summary dict; `not_converged` lists up to `sample` segment names.
    """
    target = target or {}
    converged = 0
    ideal_pending = 0
    external_pending = 0
    remaining = 0
    not_converged = []
    errors = []
    for segment in sorted(ideal):
        replicas = ideal[segment]
        held = external.get(segment) or {}
        want = assigned(target[segment]) if segment in target else assigned(replicas)
        at_target = segment not in target or assigned(replicas) == want
        served = segment_served(replicas, held)
        ideal_pending += not at_target
        external_pending += not served
        serving = set(i for i, s in held.items() if s in SERVING_STATES)
        remaining += len(want - serving) + len(assigned(held) - want)
        if any(state == "ERROR" for state in held.values()):
            errors.append(segment)
        if at_target and served:
            converged += 1
        else:
            not_converged.append(segment)
    total = len(ideal)
    return {
        "segments": total,
        "converged": converged,
        "percent_converged": round(100.0 * converged / total, 1) if total else 100.0,
        "ideal_state_pending": ideal_pending,
        "external_view_pending": external_pending,
        "remaining_replicas": remaining,
        "error_segments": errors[:sample],
        "error_count": len(errors),
        "not_converged": not_converged[:sample],
    }


def stuck_segments(ideal, external, target, names):
    """{segment: {"ideal_state", "external_view", "target"}} for the named segments (what to show when stalled)."""
    target = target or {}
    return dict((name, {"ideal_state": dict(ideal.get(name) or {}), "external_view": dict(external.get(name) or {}),
                        "target": sorted(assigned(target[name])) if name in target else None}) for name in names)


def progress_line(table, progress, status=None):
    """One line a person can read: `events_REALTIME: 40/48 segments converged (83.3%), job IN_PROGRESS`."""
    text = "%s: %d/%d segments converged (%s%%)" % (
        table, progress["converged"], progress["segments"], progress["percent_converged"])
    if progress.get("error_count"):
        text += ", %d in ERROR" % progress["error_count"]
    if status:
        text += ", job %s" % status
    return text


def poll_delays(initial, cap=30.0, factor=1.5):
    """Seconds to sleep between polls: `initial`, growing by `factor`, never above max(cap, initial)."""
    cap = max(cap, initial)
    delay = initial
    while True:
        yield delay
        delay = min(cap, delay * factor)


# ---- following one rebalance ------------------------------------------------------------------

# Pinot 1.0-1.2 answer IN_PROGRESS before the job is in ZooKeeper; its status is 404 for a few seconds.
STATUS_GRACE_SECONDS = 15.0

# Without a job to follow (Pinot before 1.0), a running rebalance writes its next ideal-state step within a
# second or two of the external view catching up. Views that stay caught up, short of the target, this long
# mean the controller no longer runs the rebalance: Pinot 0.11 forgets it when the controller restarts.
ABANDONED_AFTER_SECONDS = 30.0


def read_views(client, table, table_type):
    """(ideal state, external view) of one typed table, each {segment: {instance: state}}."""
    ideal = client.ideal_state(table, table_type).get(table_type) or {}
    external = client.external_view(table, table_type).get(table_type) or {}
    return ideal, external


def wait_for_rebalance(client, table, table_type, job_id=None, target=None, deadline=None, stall_timeout=600.0,
                       poll_interval=0.5, follow_job=True, clock=time.monotonic, sleep=time.sleep,
                       status_grace=STATUS_GRACE_SECONDS, abandoned_after=ABANDONED_AFTER_SECONDS):
    """Follow one typed table's rebalance until it has really finished, failed, stalled, or the deadline passed.

    follow_job: poll GET /rebalanceStatus/{job_id} (the controller has it and the job is tracked);
    otherwise only the ideal state / external view are watched. `deadline` is a clock() value.
    A controller that does not answer (or answers 502/503/504) makes a poll without progress: the wait goes
    on, bounded by stall_timeout and the deadline. A replica the target assigns that is in ERROR is reset once.
    Without a job, views that stay caught up short of the target for `abandoned_after` seconds end the wait as
    "abandoned" (the caller may start the rebalance again).
    Returns {"outcome": finished|failed|timeout|stalled|abandoned, "status", "job_id", "message", "progress",
    "stuck_segments", "notes"}.
    """
    start = clock()
    delays = poll_delays(poll_interval)
    following = bool(job_id) and follow_job
    job = None
    notes = []
    best = None
    last_progress = start
    ideal, external, progress = {}, {}, None
    unavailable_since, unavailable_error = None, None
    caught_up_since = None
    reset = []
    while True:
        now = clock()
        try:
            if following:
                reply = client.rebalance_status(job_id)
                if reply is None:
                    if now - start >= status_grace:
                        notes.append("Pinot has no status for job %s (404 for %d s); following the ideal state and "
                                     "external view instead" % (job_id, now - start))
                        following = False
                else:
                    job = job_view(reply)
                    if job["status"] in FAILED_STATUSES:
                        retry = _retry_of(client, table, table_type, job, job_id)
                        if retry:
                            notes.append("job %s ended %s; following Pinot's retry %s" % (job_id, job["status"], retry))
                            job_id = retry
                            continue
                        ideal, external = read_views(client, table, table_type)
                        return _outcome("failed", job, job_id, convergence(ideal, external, target), notes,
                                        message="Pinot reports the rebalance job %s as %s: %s" % (
                                            job_id, job["status"], job["message"] or "no message"))
            ideal, external = read_views(client, table, table_type)
        except PinotError as exc:
            if not exc.unavailable:
                raise
            if unavailable_since is None:
                unavailable_since = now
                notes.append("the controller stopped answering after %.0f s of waiting (%s); still waiting" % (
                    now - start, exc))
            unavailable_error = exc
        else:
            if unavailable_since is not None:
                notes.append("the controller answered again after %.0f s" % (now - unavailable_since))
                unavailable_since = None
            progress = convergence(ideal, external, target)
            _reset_error_replicas(client, table, table_type, external, target, reset, notes)
            if following and job is not None:
                finished = job["status"] in SUCCESS_STATUSES and progress["external_view_pending"] == 0
            else:
                finished = progress["converged"] == progress["segments"]
            if finished:
                return _outcome("finished", job, job_id, progress, notes)
            if best is None or progress["remaining_replicas"] < best:
                best = progress["remaining_replicas"]
                last_progress = now
            caught_up = (not following and progress["external_view_pending"] == 0
                         and progress["ideal_state_pending"] > 0)
            if not caught_up:
                caught_up_since = None
            elif caught_up_since is None:
                caught_up_since = now
            if caught_up and abandoned_after and now - caught_up_since >= abandoned_after:
                return _outcome("abandoned", job, job_id, progress, notes, message=(
                    "the external view has served the ideal state for %.0f s but %d segments are not at their target "
                    "yet: the controller is no longer running this rebalance (Pinot before 1.0 forgets a rebalance "
                    "when the controller restarts)" % (now - caught_up_since, progress["ideal_state_pending"])))
        said = _job_said(job["status"] if following and job else None)
        if unavailable_since is not None:
            said += "; the controller has not answered for %.0f s (last error: %s)" % (
                now - unavailable_since, unavailable_error)
        if stall_timeout and now - last_progress >= stall_timeout:
            return _outcome("stalled", job, job_id, progress, notes, stuck=_stuck(ideal, external, target, progress),
                            message="no segment moved for %.0f s%s" % (now - last_progress, said))
        if deadline is not None and now >= deadline:
            return _outcome("timeout", job, job_id, progress, notes, stuck=_stuck(ideal, external, target, progress),
                            message="wait_timeout reached, not finished after %.0f s of waiting%s" % (now - start, said))
        delay = next(delays)
        if deadline is not None:
            delay = min(delay, max(deadline - now, 0.0))
        sleep(delay)


def _retry_of(client, table, table_type, job, job_id):
    """Id of Pinot's retry of a FAILED or ABORTED job, or None (a CANCELLED job is never retried)."""
    if job["status"] == "CANCELLED":
        return None
    return find_retry(client.table_jobs(table, table_type), job["original_job_id"] or job_id, job["attempt"] or 1)


def _reset_error_replicas(client, table, table_type, external, target, reset, notes):
    """Reset, once each, the ERROR replicas the rebalance waits for (see error_replicas_to_reset); `reset` is the
    list of those already done. A controller that does not answer leaves the rest for the next poll."""
    for segment, instance in error_replicas_to_reset(external, target, reset):
        try:
            client.reset_segment(table, table_type, segment, instance)
        except PinotError as exc:
            if exc.unavailable:
                return
            notes.append("could not reset %s on %s: %s" % (segment, instance, exc))
        else:
            notes.append("%s failed to load on %s (ERROR); asked Pinot to reset it (load it again)" % (segment, instance))
        reset.append((segment, instance))


def _stuck(ideal, external, target, progress):
    return stuck_segments(ideal, external, target, progress["not_converged"]) if progress else None


def _job_said(status):
    if status in SUCCESS_STATUSES:
        return " (Pinot's job says %s, but the external view has not converged)" % status
    return " (job %s)" % status if status else ""


def _outcome(outcome, job, job_id, progress, notes, stuck=None, message=None):
    result = {"outcome": outcome, "status": job["status"] if job else None, "job_id": job_id, "progress": progress,
              "notes": list(notes), "message": message}
    if job:
        result["job"] = job
    if stuck:
        result["stuck_segments"] = stuck
    return result


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
    result["already_balanced"] = result["status"] == "NO_OP" or (result["status"] == "DONE" and target == current)
    if result["status"] == "DONE" and result["already_balanced"]:
        result["notes"].append("Pinot answered DONE (%s) but its target assignment is the current ideal state: no "
                               "segment would move, so no rebalance is started" % result["description"])
    has_summary = "rebalanceSummaryResult" in reply or "preChecksResult" in reply
    return result, target, has_summary


# How many times a rebalance the controller abandoned (see ABANDONED_AFTER_SECONDS) is started again.
RESTARTS = 3


def submit_rebalance(client, result, params, target):
    """POST the rebalance of one planned table and record Pinot's answer in `result`.

    The client never repeats a POST by itself; start_table sends it again only for a rebalance the controller
    abandoned.

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


def start_table(client, result, params, target, wait, deadline, stall_timeout=600.0, poll_interval=0.5,
                follow_jobs=True, cancel_on_timeout=False, can_cancel=False, clock=time.monotonic, sleep=time.sleep,
                abandoned_after=ABANDONED_AFTER_SECONDS):
    """Start (or attach to) the rebalance of one planned table and, with `wait`, follow it to its end.

    `result` comes from plan_table and is updated in place (and returned). A rebalance the controller
    abandoned (Pinot before 1.0, controller restarted) is started again, up to RESTARTS times.
    """
    table, table_type = result["table"], result["table_type"]
    started = clock()
    target = submit_rebalance(client, result, params, target)
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
        restarts += 1
        result["notes"].extend(outcome["notes"])
        result["notes"].append("%s; started it again (restart %d of %d)" % (outcome["message"], restarts, RESTARTS))
        target = submit_rebalance(client, result, params, target)
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


def servers_not_live(stuck, live):
    """Servers the stuck segments' ideal state assigns that are not in `live`, sorted."""
    assigned_to = set()
    for segment in stuck.values():
        assigned_to.update(assigned(segment["ideal_state"]))
    return sorted(assigned_to - set(live))


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


def run_parallel(items, worker, parallelism):
    """worker(item) for every item, at most `parallelism` at a time; results in the order of `items`."""
    if parallelism <= 1 or len(items) <= 1:
        return [worker(item) for item in items]
    with ThreadPoolExecutor(max_workers=parallelism) as pool:
        return list(pool.map(worker, items))
