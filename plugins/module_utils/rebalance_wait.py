# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Following one rebalance to its real end: the wait loop.

"Finished" means Pinot's job says so (where there is a job) AND the external
view serves what the ideal state asks for: Pinot has reported DONE before the
external view converged, and IN_PROGRESS with a job id it never stored.
Without a job (Pinot older than 1.0, or a job id Pinot forgot) the ideal
state must also have reached the target assignment, because a running
rebalance moves the ideal state in steps and the external view catches up
with every step.

The loop takes a PinotClient and a clock/sleep pair, so tests drive it with a
fake controller and fake time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import time

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delays
from ansible_collections.pinotops.pinot.plugins.module_utils.convergence import convergence, error_replicas_to_reset, stuck_segments
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_jobs import (
    FAILED_STATUSES, SUCCESS_STATUSES, find_retry, job_view, nothing_remaining)

# Polls back off from the first interval by half each time, to one every 30 seconds.
POLL_CAP_SECONDS = 30.0
POLL_FACTOR = 1.5

# Pinot 1.0-1.2 answer IN_PROGRESS before the job is in ZooKeeper; its status is 404 for a few seconds.
STATUS_GRACE_SECONDS = 15.0

# Without a job to follow (Pinot before 1.0), a running rebalance writes its next ideal-state step within a
# second or two of the external view catching up. Views that stay caught up, short of the target, this long
# mean the controller no longer runs the rebalance, and Pinot has no job to say why.
ABANDONED_AFTER_SECONDS = 30.0

# Pinot 1.5.1 answers IN_PROGRESS for a job whose views are at the target long after it finished: after a
# controller restart (SIGKILL) with the job's counts frozen (RebalanceChecker leaves a job alone for
# heartbeatTimeoutInMs, an hour by default), and after the controller logged "Finished rebalancing" while other
# tables' rebalances wrote their progress at the same moment: all jobs share one ZooKeeper record, written with a
# version check whose failure the job's observer ignores (ControllerZkHelixUtils.addControllerJobToZK), so the final
# DONE can be lost. Seen that way on this many polls over this long, the table is finished here. A job between two
# steps does not look like this: its ideal state is short of the target (Pinot writes the next step within
# milliseconds of the external view catching up).
SETTLED_AFTER_SECONDS = 10.0
SETTLED_AFTER_POLLS = 3

# Why a rebalance stops with nothing said, as seen on Pinot 0.11; never asserted, only listed.
ABANDONED_CAUSES = ("Pinot aborted it (its controller log says why, for example \"Illegal config for "
                    "minReplicasToKeepUpForNoDowntime\" when min_available_replicas is not less than the table's "
                    "replication, or a timeout waiting for the external view), or the controller restarted (Pinot "
                    "before 1.0 forgets a running rebalance then)")


def read_views(client, table, table_type):
    """(ideal state, external view) of one typed table, each {segment: {instance: state}}."""
    ideal = client.ideal_state(table, table_type).get(table_type) or {}
    external = client.external_view(table, table_type).get(table_type) or {}
    return ideal, external


def wait_for_rebalance(client, table, table_type, job_id=None, target=None, deadline=None, stall_timeout=600.0,
                       poll_interval=0.5, follow_job=True, clock=time.monotonic, sleep=time.sleep,
                       status_grace=STATUS_GRACE_SECONDS, abandoned_after=ABANDONED_AFTER_SECONDS,
                       settled_after=None):
    """Follow one typed table's rebalance until it has really finished, failed, stalled, or the deadline passed.

    follow_job: poll GET /rebalanceStatus/{job_id} (the controller has it and the job is tracked);
    otherwise only the ideal state / external view are watched. `deadline` is a clock() value.
    A controller that does not answer (or answers 502/503/504) makes a poll without progress: the wait goes
    on, bounded by stall_timeout and the deadline. A replica the target assigns that is in ERROR is reset once.
    Without a job, views that stay caught up short of the target for `abandoned_after` seconds end the wait as
    "abandoned" (the caller may start the rebalance again).
    A job Pinot keeps reporting IN_PROGRESS with nothing remaining while the views are at `target` (see
    SETTLED_AFTER_SECONDS) ends the wait as "finished", with a note saying so.
    Returns {"outcome": finished|failed|timeout|stalled|abandoned, "status", "job_id", "message", "progress",
    "stuck_segments", "notes"}.
    """
    settled_after = SETTLED_AFTER_SECONDS if settled_after is None else settled_after
    start = clock()
    delays = backoff_delays(poll_interval, POLL_CAP_SECONDS, POLL_FACTOR)
    following = bool(job_id) and follow_job
    job = None
    notes = []
    best = None
    last_progress = start
    ideal, external, progress = {}, {}, None
    unavailable_since, unavailable_error = None, None
    caught_up_since = None
    job_seen, job_unchanged = None, False
    settled_since, settled_polls = None, 0
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
                    seen = dict(job, elapsed_seconds=None)
                    job_unchanged, job_seen = seen == job_seen, seen
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
                if _settled_in_progress(job, target, progress):
                    settled_since = now if settled_since is None else settled_since
                    settled_polls += 1
                    if settled_polls >= SETTLED_AFTER_POLLS and now - settled_since >= settled_after:
                        notes.append(_settled_note(job, job_id, now - settled_since, settled_polls))
                        finished = True
                else:
                    settled_since, settled_polls = None, 0
            else:
                finished = progress["converged"] == progress["segments"]
            if finished:
                return _outcome("finished", job, job_id, progress, notes)
            if best is None or progress["remaining_replicas"] < best:
                best = progress["remaining_replicas"]
                last_progress = now
            # A job Pinot still reports IN_PROGRESS, unchanged, is no better than no job: a controller killed
            # mid-rebalance leaves it that way for an hour (tests/harness/PINOT_VERSIONS.md).
            job_frozen = following and job is not None and job["status"] == "IN_PROGRESS" and job_unchanged
            caught_up = ((not following or job_frozen) and progress["external_view_pending"] == 0
                         and progress["ideal_state_pending"] > 0)
            if not caught_up:
                caught_up_since = None
            elif caught_up_since is None:
                caught_up_since = now
            if caught_up and abandoned_after and now - caught_up_since >= abandoned_after:
                if following:
                    message = ("Pinot still reports job %s IN_PROGRESS, its progress unchanged, while the external view "
                               "has served the ideal state for %.0f s with %d segments not at their target: the "
                               "rebalance stopped moving them and Pinot did not say why. Likely causes: the controller "
                               "restarted (Pinot 1.x leaves the job IN_PROGRESS until its heartbeat timeout, an hour "
                               "by default), or Pinot aborted it without updating the job (its controller log says)" % (
                                   job_id, now - caught_up_since, progress["ideal_state_pending"]))
                else:
                    message = ("the external view has served the ideal state for %.0f s but %d segments are not at "
                               "their target yet: the rebalance stopped moving them and Pinot did not say why (there "
                               "is no job to ask before Pinot 1.0). Likely causes: %s" % (
                                   now - caught_up_since, progress["ideal_state_pending"], ABANDONED_CAUSES))
                return _outcome("abandoned", job, job_id, progress, notes, message=message)
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


def _settled_in_progress(job, target, progress):
    """A job still IN_PROGRESS with the ideal state at the (known) target and the external view serving it."""
    return job["status"] == "IN_PROGRESS" and bool(target) and progress["converged"] == progress["segments"]


def _settled_note(job, job_id, seconds, polls):
    """What was seen of a job that stayed IN_PROGRESS with its views at the target."""
    if nothing_remaining(job):
        return ("Pinot still reports the job %s IN_PROGRESS with nothing left to move (for %.0f s, %d polls); the "
                "external view matches the target" % (job_id, seconds, polls))
    counts = [job.get(key) for key in ("remaining_segments_to_add", "remaining_segments_to_delete")]
    said = ("counting %s segment(s) to add and %s to delete" % tuple(counts) if None not in counts
            else "without progress counts")
    return ("Pinot still reports the job %s IN_PROGRESS, %s, but the ideal state has been at the rebalance's target "
            "and the external view has served it for %.0f s (%d polls): the job is no longer being updated. Likely "
            "causes: the controller restarted, or Pinot lost the job's last status write (it drops a conflicting "
            "write when several rebalances update their jobs at once); Pinot's RebalanceChecker looks at such a job "
            "only after its heartbeatTimeoutInMs (an hour by default)" % (job_id, said, seconds, polls))


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
