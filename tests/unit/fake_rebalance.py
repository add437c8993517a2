# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Table rebalance for the fake controller, shaped like Pinot's (pinot-controller-api.md sections 2.1-2.7).

`RebalanceSim(fake, version)` adds the rebalance routes to a FakePinot with the
behaviour of one Pinot line:

- "0.11": POST only; an async rebalance answers IN_PROGRESS with no jobId and
  there is no status or cancel endpoint; GET /table/{t}/jobs exists but lists
  no rebalance (200 {}, as live 0.11 answers).
- "1.0": + jobId, GET /rebalanceStatus/{id}, rebalance jobs in GET /table/{t}/jobs.
- "1.1": + DELETE /tables/{t}/rebalance (cancel), tableRebalanceContext (retries).
- "1.4": + rebalanceSummaryResult / preChecksResult, 409 when a job is running.

A running job moves on every time the table's external view is read: after the
first read the ideal state is the target, after `polls` reads the external view
catches up and the job is DONE. Knobs for misbehaviour: `stuck` (tables whose
job never moves), `lost_status_polls` (404 for a new job's first status polls,
as Pinot 1.0-1.2 do), `done_early` (job DONE that many reads before the
external view converges), `fail_first` (the first attempt FAILS and Pinot's
RebalanceChecker starts attempt 2), `never_done` (tables whose job moves every
segment but stays IN_PROGRESS with nothing remaining, as seen on Pinot 1.5.1).
From 1.4 the job's overall progress counts what remains: nothing once the
external view has caught up with the target. Every answer but a failure carries
`instanceAssignment`, the target instance partitions (one partition and replica
group, "0_0", of the servers with the tenant tag); live 1.5.1 adds instanceToPartitionIdMap, modelled here
from 1.0 (the release that added it was not checked).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import json
import uuid
from urllib.parse import unquote

from ansible_collections.pinotops.pinot.tests.unit.fake_controller import Reply, error

ORDER = ["0.11", "1.0", "1.1", "1.4"]

# (first line, query parameters of POST /tables/{t}/rebalance it added)
QUERY_PARAMETERS = [
    ("0.11", ["type", "dryRun", "reassignInstances", "includeConsuming", "bootstrap", "downtime",
              "minAvailableReplicas", "bestEfforts"]),
    ("1.0", ["updateTargetTier", "externalViewCheckIntervalInMs", "externalViewStabilizationTimeoutInMs"]),
    ("1.1", ["lowDiskMode", "heartbeatIntervalInMs", "heartbeatTimeoutInMs", "maxAttempts", "retryInitialDelayInMs"]),
    ("1.4", ["preChecks", "minimizeDataMovement", "batchSizePerServer", "diskUtilizationThreshold", "forceCommit",
             "forceCommitBatchSize", "forceCommitBatchStatusCheckIntervalMs", "forceCommitBatchStatusCheckTimeoutMs"]),
]


def target_assignment(fake, typed, reassign=True, include_consuming=True):
    """Where Pinot would put each segment: keep replicas on servers that still carry the tenant tag, fill up
    with the least loaded tagged servers. Without reassignInstances nothing moves (operators' pain point 18)."""
    table = fake.tables[typed]
    current = table["idealstate"]
    if not reassign:
        return copy.deepcopy(current)
    tag = "%s_%s" % (table["config"]["tenants"]["server"], table["type"])
    eligible = sorted(name for name, conf in fake.instances.items() if tag in conf["tags"])
    replication = int(table["config"]["segmentsConfig"]["replication"])
    load = dict((name, 0) for name in eligible)
    target = {}
    for segment in sorted(current):
        replicas = current[segment]
        consuming = "CONSUMING" in replicas.values()
        if consuming and not include_consuming:
            target[segment] = dict(replicas)
            continue
        keep = [name for name in sorted(replicas) if name in load][:replication]
        for name in sorted(load, key=lambda n: (load[n], n)):
            if len(keep) >= replication:
                break
            if name not in keep:
                keep.append(name)
        state = "CONSUMING" if consuming else "ONLINE"
        target[segment] = dict((name, state) for name in keep)
        for name in keep:
            load[name] += 1
    return target


class RebalanceSim:
    def __init__(self, fake, version="1.4", polls=2, stuck=(), lost_status_polls=0, done_early=0, fail_first=False,
                 never_done=()):
        self.fake = fake
        self.version = version
        self.polls = polls
        self.stuck = set(stuck)
        self.lost_status_polls = lost_status_polls
        self.done_early = done_early
        self.fail_first = fail_first
        self.never_done = set(never_done)
        self.jobs = {}
        self.catch_up = {}  # typed table -> external view reads until it matches a downtime ideal state
        self.running_now = 0
        self.max_running = 0
        self.clock_ms = 1767225600000
        self._install()

    def since(self, version):
        return ORDER.index(self.version) >= ORDER.index(version)

    # ---- state ---------------------------------------------------------------------------------

    def _set_status(self, job, status):
        if job["status"] == "IN_PROGRESS" and status != "IN_PROGRESS":
            self.running_now -= 1
        job["status"] = status

    def start_job(self, typed, target, job_id=None, attempt=1, original=None):
        job_id = job_id or str(uuid.uuid4())
        self.clock_ms += 1000
        job = {"job_id": job_id, "table": typed, "status": "IN_PROGRESS", "target": target, "reads": 0,
               "attempt": attempt, "original": original or job_id, "submitted": self.clock_ms, "status_polls": 0}
        self.jobs[job_id] = job
        self.running_now += 1
        self.max_running = max(self.max_running, self.running_now)
        return job

    def running(self, typed):
        return [j for j in self.jobs.values() if j["table"] == typed and j["status"] == "IN_PROGRESS"]

    def advance(self, typed):
        """One read of the table's external view: running jobs take a step."""
        table = self.fake.tables[typed]
        if typed in self.catch_up:
            self.catch_up[typed] -= 1
            if self.catch_up[typed] <= 0:
                del self.catch_up[typed]
                table["externalview"] = copy.deepcopy(table["idealstate"])
        for job in list(self.running(typed)):
            if typed in self.stuck:
                continue
            job["reads"] += 1
            if self.fail_first and job["attempt"] == 1:
                self._set_status(job, "FAILED")
                self.start_job(typed, job["target"], job_id=job["job_id"] + "_2", attempt=2, original=job["job_id"])
                continue
            table["idealstate"] = copy.deepcopy(job["target"])
            if job["reads"] >= self.polls - self.done_early and typed not in self.never_done:
                self._set_status(job, "DONE")
            if job["reads"] >= self.polls:
                table["externalview"] = copy.deepcopy(table["idealstate"])
        for job in self.jobs.values():  # a DONE-too-early job's external view still catches up
            if job["table"] == typed and job["status"] == "DONE" and job["reads"] < self.polls:
                job["reads"] += 1
                if job["reads"] >= self.polls:
                    table["externalview"] = copy.deepcopy(table["idealstate"])

    # ---- replies -------------------------------------------------------------------------------

    def status_reply(self, job):
        stats = {"status": job["status"], "startTimeMs": job["submitted"], "timeToFinishInSeconds": 0,
                 "completionStatusMsg": None if job["status"] == "IN_PROGRESS" else
                 job.get("message") or "job %s" % job["status"].lower(),
                 "initialToTargetStateConvergence": {"_segmentsMissing": 0, "_segmentsToRebalance": 1}}
        if self.since("1.4"):
            left = 0 if job["reads"] >= self.polls else 1
            stats["rebalanceProgressStatsOverall"] = {
                "totalSegmentsToBeAdded": 2, "totalSegmentsToBeDeleted": 2, "totalRemainingSegmentsToBeAdded": left,
                "totalRemainingSegmentsToBeDeleted": left, "totalRemainingSegmentsToConverge": left,
                "percentageRemainingSegmentsToBeAdded": 50.0 * left, "percentageRemainingSegmentsToBeDeleted": 50.0 * left,
                "estimatedTimeToCompleteAddsInSeconds": 3.5 * left}
        reply = {"tableRebalanceProgressStats": stats, "timeElapsedSinceStartInSeconds": 5}
        if self.since("1.1"):
            reply["tableRebalanceContext"] = {"jobId": job["job_id"], "originalJobId": job["original"],
                                              "attemptId": job["attempt"], "allowRetries": True, "config": {}}
        return reply

    def summary(self, current, target):
        servers = sorted(set(i for r in list(current.values()) + list(target.values()) for i in r))
        info = {}
        for server in servers:
            before = sum(1 for r in current.values() if server in r)
            after = sum(1 for r in target.values() if server in r)
            info[server] = {"serverStatus": "REMOVED" if not after else ("ADDED" if not before else "UNCHANGED"),
                            "totalSegmentsBeforeRebalance": before, "totalSegmentsAfterRebalance": after}
        return {"serverInfo": {"serverSegmentChangeInfo": info}, "segmentInfo": {"totalSegmentsToBeMoved": 0}}

    def instance_assignment(self, typed):
        """RebalanceResult.instanceAssignment of a table without replica groups: {OFFLINE|CONSUMING: partitions}."""
        table = self.fake.tables[typed]
        tag = "%s_%s" % (table["config"]["tenants"]["server"], table["type"])
        servers = sorted(name for name, conf in self.fake.instances.items() if tag in conf["tags"])
        kind = "OFFLINE" if table["type"] == "OFFLINE" else "CONSUMING"
        partitions = {"instancePartitionsName": "%s_%s" % (table["raw"], kind),
                      "partitionToInstancesMap": {"0_0": servers}}
        if self.since("1.0"):
            partitions["instanceToPartitionIdMap"] = dict((name, 0) for name in servers)
        return {kind: partitions}

    def _install(self):
        fake = self.fake

        def typed_names(name, table_type=None):
            names = [name] if name in fake.tables else [name + "_OFFLINE", name + "_REALTIME"]
            return [n for n in names if n in fake.tables and (not table_type or fake.tables[n]["type"] == table_type.upper())]

        def flag(query, name, default=False):
            values = query.get(name)
            return values[0].lower() == "true" if values else default

        def rebalance(fake, match, query, body):
            raw = unquote(match.group("name"))
            table_type = (query.get("type") or [""])[0].upper()
            if table_type not in ("OFFLINE", "REALTIME"):
                return error(400, "Illegal table type: %s" % table_type)
            typed = raw if raw.endswith("_" + table_type) else raw + "_" + table_type
            if typed not in fake.tables:
                return error(404, "Failed to find table config for table: %s" % typed)
            dry_run = flag(query, "dryRun")
            pre_checks = flag(query, "preChecks") and self.since("1.4")
            if self.since("1.4") and not dry_run and self.running(typed):
                return error(409, "Rebalance job is already in progress for table: %s, jobId: %s. Please wait for the "
                                  "job to complete or cancel it before starting a new one." % (typed, self.running(typed)[0]["job_id"]))
            current = fake.tables[typed]["idealstate"]
            target = target_assignment(fake, typed, flag(query, "reassignInstances", self.since("1.4")),
                                       flag(query, "includeConsuming", self.since("1.4")))
            reply = {}
            if self.since("1.0"):
                reply["jobId"] = str(uuid.uuid4())
            reassign = flag(query, "reassignInstances", self.since("1.4"))
            if target == current and reassign and not self.since("1.4") and dry_run:
                # Older Pinot never stores default instance partitions, so they always look "reassigned".
                reply.update(status="DONE", description="Instance reassigned in dry-run mode, table is already balanced")
            elif target == current and not (reassign and not self.since("1.4")):
                reply.update(status="NO_OP", description="Table is already balanced")
            elif dry_run:
                reply.update(status="DONE", description="Dry-run mode")
            elif flag(query, "downtime"):
                fake.tables[typed]["idealstate"] = copy.deepcopy(target)
                self.catch_up[typed] = self.polls
                reply.update(status="DONE", description="Success with downtime (replaced IdealState with the target "
                                                        "segment assignment, ExternalView might not reach the target "
                                                        "segment assignment yet)")
            else:
                job = self.start_job(typed, target, job_id=reply.get("jobId"))
                reply.update(status="IN_PROGRESS", description="In progress, check controller logs for updates")
                # TableRebalancer's check, in the background after the answer: the fewest replicas the target gives a
                # moving segment against minAvailableReplicas (Pinot's default 1 before 1.4, -1 from 1.4).
                moving = [seg for seg in target if set(target[seg]) != set(current.get(seg) or {})]
                replicas = min(len(target[seg]) for seg in moving) if moving else None
                wanted = int((query.get("minAvailableReplicas") or ["-1" if self.since("1.4") else "1"])[0])
                if replicas is not None and wanted >= 0 and wanted >= replicas:
                    # 0.11 has no job to tell: the rebalance silently never moves; 1.0+ marks the job FAILED.
                    job["message"] = ("For rebalanceId: %s, Illegal config for minReplicasToKeepUpForNoDowntime: %d for "
                                      "table: %s, must be less than number of replicas: %d, aborting the rebalance"
                                      % (job["job_id"], wanted, typed, replicas))
                    self._set_status(job, "FAILED")
            reply["instanceAssignment"] = self.instance_assignment(typed)
            if pre_checks:
                reply["preChecksResult"] = {"isMinimizeDataMovement": {"preCheckStatus": "PASS", "message": "ok"}}
            if self.since("1.4"):
                reply["rebalanceSummaryResult"] = self.summary(current, target)
            reply["segmentAssignment"] = target
            return Reply(200, reply)

        def rebalance_status(fake, match, query, body):
            job = self.jobs.get(unquote(match.group("id")))
            message = ("Rebalance job with ID: %s not found" if self.since("1.4") else "Failed to find controller job id: %s")
            if job is None:
                return error(404, message % match.group("id"))
            job["status_polls"] += 1
            if job["status_polls"] <= self.lost_status_polls:
                return error(404, message % job["job_id"])
            return Reply(200, self.status_reply(job))

        def cancel(fake, match, query, body):
            raw = unquote(match.group("name"))
            table_type = (query.get("type") or [""])[0].upper()
            typed = raw if raw.endswith("_" + table_type) else raw + "_" + table_type
            cancelled = []
            for job in self.running(typed):
                self._set_status(job, "CANCELLED")
                cancelled.append(job["job_id"])
            return Reply(200, cancelled)

        def table_jobs(fake, match, query, body):
            raw = unquote(match.group("name"))
            found = typed_names(raw, (query.get("type") or [None])[0])
            if not found:
                return error(404, "Table '%s' not found." % raw)
            reply = {}
            for job in self.jobs.values() if self.since("1.0") else ():  # 0.11 keeps no rebalance jobs
                if job["table"] not in found:
                    continue
                meta = {"jobId": job["job_id"], "tableName": job["table"], "jobType": "TABLE_REBALANCE",
                        "submissionTimeMs": str(job["submitted"]),
                        "REBALANCE_PROGRESS_STATS": json.dumps(self.status_reply(job)["tableRebalanceProgressStats"])}
                if self.since("1.1"):
                    meta["REBALANCE_CONTEXT"] = json.dumps(self.status_reply(job)["tableRebalanceContext"])
                reply[job["job_id"]] = meta
            return Reply(200, reply)

        def external_view(fake, match, query, body):
            table_type = (query.get("tableType") or [None])[0]
            found = typed_names(unquote(match.group("name")), table_type)
            if not found:
                return error(404, "Table not found")
            reply = {"OFFLINE": None, "REALTIME": None}
            for typed in found:
                self.advance(typed)
                reply[fake.tables[typed]["type"]] = fake.tables[typed]["externalview"]
            return Reply(200, reply)

        # the query parameters each line's listing names (pinot-controller-api.md 2.1); forceCommit is listed and
        # accepted from 1.4, but not simulated: consuming segments move as they are
        rebalance.query_parameters = [name for first, names in QUERY_PARAMETERS for name in names if self.since(first)]
        fake.route("POST", r"/tables/(?P<name>[^/]+)/rebalance", rebalance)
        fake.route("GET", r"/tables/(?P<name>[^/]+)/externalview", external_view)
        fake.route("GET", r"/table/(?P<name>[^/]+)/jobs", table_jobs)
        if self.since("1.0"):
            fake.route("GET", r"/rebalanceStatus/(?P<id>[^/]+)", rebalance_status)
        if self.since("1.1"):
            fake.route("DELETE", r"/tables/(?P<name>[^/]+)/rebalance", cancel)
