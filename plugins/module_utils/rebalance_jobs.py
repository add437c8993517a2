# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What Pinot says about rebalance jobs: the status of one job, the jobs of a table, the job id in a 409.

Pure functions over Pinot's replies (GET /rebalanceStatus/{jobId}, GET /table/{t}/jobs); no I/O.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

SUCCESS_STATUSES = ("DONE", "NO_OP")
FAILED_STATUSES = ("FAILED", "ABORTED", "CANCELLED", "UNKNOWN_ERROR")


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
        view["remaining_segments_to_delete"] = overall.get("totalRemainingSegmentsToBeDeleted")
        view["remaining_segments_to_converge"] = overall.get("totalRemainingSegmentsToConverge")
        view["estimated_seconds_to_complete"] = overall.get("estimatedTimeToCompleteAddsInSeconds")
        view["segments_force_committed"] = overall.get("totalSegmentsForceCommitted")
    return view


def nothing_remaining(job):
    """True when a job_view's overall progress (Pinot 1.4+) counts no segment left to add, delete or converge.

    False when Pinot gives no such counts (before 1.4): then nothing is known.
    """
    counts = [job.get(key) for key in ("remaining_segments_to_add", "remaining_segments_to_delete",
                                       "remaining_segments_to_converge")]
    return all(count is not None for count in counts) and not any(counts)


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
