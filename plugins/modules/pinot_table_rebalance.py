#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_table_rebalance
short_description: Rebalance Apache Pinot tables, plan in check mode, wait until the data has really moved
version_added: 0.1.0
description:
  - Rebalances one or more tables (or every table of a server tenant) so that their segments sit on the servers
    that carry the table's tenant tags, for example to move every segment off a server that was untagged before
    it is removed.
  - Always asks Pinot for a dry run of every table first; when one fails, no rebalance is started. The dry run is
    the plan (segments to add and remove per server, Pinot's own summary and pre-checks where the controller has
    them); in check mode nothing else happens.
    When Pinot answers C(NO_OP), or its target assignment is the current ideal state (Pinot before 1.4 answers
    C(DONE) for that when O(reassign_instances=true)), the table is already balanced, so nothing is started and the
    task reports no change.
  - With O(wait=true) the task follows the rebalance until it has really finished. Pinot's job status (Pinot 1.0
    and newer) is only taken as a hint; finished means the job says so B(and) the external view serves what
    the ideal state says. Without a job (Pinot older than 1.0) the ideal state must also have reached the
    target assignment of the dry run.
  - A rebalance that is already running for a table (Pinot 1.4 and newer answers HTTP 409) is followed instead
    of failing. The start request is not repeated on a connection error that may have reached the controller; it
    is sent again only for a rebalance the controller stopped running (see O(stall_timeout)).
  - O(state=cancelled) cancels the running rebalances of the tables (Pinot 1.1 and newer).
  - Knobs that are not set are not sent, so Pinot's own default applies, except O(reassign_instances),
    O(include_consuming) and O(min_available_replicas), which this module always sends because Pinot's
    defaults changed between versions and the old ones make the common case (untag a server, rebalance) move
    nothing. Pinot silently ignores parameters it does not know, so a knob that needs a newer Pinot than the
    controller fails the task before anything starts.
  - To see progress while a long rebalance runs, start it with O(wait=false) and follow it with
    M(pinotops.pinot.pinot_table_rebalance_info) (see the examples).
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.ATTRIBUTES
attributes:
  check_mode:
    support: full
    description: Runs Pinot's dry run (with pre-checks where available) and returns the plan; nothing moves.
  diff_mode:
    support: full
    description: Shows the number of segments per server before and after, per table.
options:
  table:
    description:
      - Tables to rebalance, raw (V(events)) or with type (V(events_REALTIME)).
      - A raw name of a hybrid table means both its OFFLINE and REALTIME halves unless O(table_type) is set.
      - Exactly one of O(table) and O(tenant) is required. An empty list is refused.
    type: list
    elements: str
  tenant:
    description:
      - Rebalance every table of this server tenant (C(GET /tenants/{tenant}/tables)), for example V(DefaultTenant).
    type: str
  table_type:
    description:
      - Only this half of the tables.
    type: str
    choices: [OFFLINE, REALTIME]
  state:
    description:
      - V(rebalanced) rebalances the tables.
      - V(cancelled) cancels their running rebalances (C(DELETE /tables/{table}/rebalance), Pinot 1.1 and newer);
        in check mode it lists the running jobs it would cancel.
    type: str
    choices: [rebalanced, cancelled]
    default: rebalanced
  reassign_instances:
    description:
      - Recompute which servers a table may use from the current tags before moving segments
        (Pinot C(reassignInstances)).
      - Pinot's default is V(false) before 1.4 and V(true) from 1.4; this module always sends it, V(true) by
        default, because untagging a server and rebalancing without it moves nothing.
    type: bool
    default: true
  include_consuming:
    description:
      - Also move CONSUMING segments of realtime tables (Pinot C(includeConsuming)); needed to empty a server.
      - Pinot's default is V(false) before 1.4 and V(true) from 1.4; this module always sends it, V(true) by default.
    type: bool
    default: true
  min_available_replicas:
    description:
      - Replicas of every segment that stay serving while it moves (Pinot C(minAvailableReplicas)); a negative
        value is the number of replicas that may be down at once.
      - Pinot's default is V(1) before 1.4 and V(-1) from 1.4; this module always sends it, V(1) by default, so
        that a table with one replica fails clearly instead of going offline. Set V(0) or O(downtime=true)
        to accept downtime.
    type: int
    default: 1
  bootstrap:
    description:
      - Reassign every segment from scratch, round-robin, instead of moving as few as possible (Pinot C(bootstrap)).
      - Not sent unless set; Pinot's default is V(false).
    type: bool
  downtime:
    description:
      - Replace the ideal state in one step, accepting that segments are unavailable while they load
        (Pinot C(downtime)). The task still waits for the external view when O(wait=true).
      - Not sent unless set; Pinot's default is V(false).
      - Pinot writes that ideal state once, as a compare-and-set. When it answers C(FAILED) because the ideal state
        changed at the same moment (a segment commit under ingestion does this), the module sends the same rebalance
        again, up to 3 times, and says so in RV(tables[].notes).
    type: bool
  best_efforts:
    description:
      - Carry on when the no-downtime contract or external view convergence cannot be met instead of failing
        the rebalance (Pinot C(bestEfforts)). Pinot can then drop the last serving replicas of a segment.
      - Not sent unless set; Pinot's default is V(false).
    type: bool
  update_target_tier:
    description:
      - Also update the target tier of segments (Pinot C(updateTargetTier)). Needs Pinot 1.0 or newer.
    type: bool
  external_view_check_interval:
    description:
      - Seconds between Pinot's own external view checks during the rebalance (Pinot
        C(externalViewCheckIntervalInMs), default 1 s). Needs Pinot 1.0 or newer.
    type: float
  external_view_stabilization_timeout:
    description:
      - Seconds Pinot waits for the external view to converge after each step before failing the rebalance
        (Pinot C(externalViewStabilizationTimeoutInMs), default 3600 s). Needs Pinot 1.0 or newer.
    type: float
  low_disk_mode:
    description:
      - Drop segments from a server before adding new ones, to need less disk (Pinot C(lowDiskMode)).
        Needs Pinot 1.1 or newer.
    type: bool
  heartbeat_interval:
    description:
      - Seconds between the rebalance job's heartbeats in ZooKeeper (Pinot C(heartbeatIntervalInMs)).
        Needs Pinot 1.1 or newer.
    type: float
  heartbeat_timeout:
    description:
      - Seconds without a heartbeat after which Pinot's RebalanceChecker aborts the job (Pinot
        C(heartbeatTimeoutInMs)). Needs Pinot 1.1 or newer.
    type: float
  max_attempts:
    description:
      - How often Pinot's RebalanceChecker retries a failed or aborted job (Pinot C(maxAttempts)).
        Needs Pinot 1.1 or newer.
    type: int
  retry_initial_delay:
    description:
      - Seconds before the first retry of a failed job (Pinot C(retryInitialDelayInMs)). Needs Pinot 1.1 or newer.
    type: float
  minimize_data_movement:
    description:
      - Whether instance assignment minimises data movement (Pinot C(minimizeDataMovement)); V(default) uses the
        table config. Needs Pinot 1.4 or newer.
    type: str
    choices: [enable, disable, default]
  batch_size_per_server:
    description:
      - At most this many segments added to one server per step; V(-1) for no limit (Pinot C(batchSizePerServer)).
        Needs Pinot 1.4 or newer.
    type: int
  disk_utilization_threshold:
    description:
      - Disk usage ratio (0.0 to 1.0) above which Pinot's disk pre-check warns (Pinot C(diskUtilizationThreshold)).
        Needs Pinot 1.4 or newer.
    type: float
  force_commit:
    description:
      - Commit CONSUMING segments before moving them, so fewer offsets are consumed again (Pinot C(forceCommit);
        realtime tables only). Needs Pinot 1.4 or newer.
    type: bool
  force_commit_batch_size:
    description:
      - Segments force-committed at once (Pinot C(forceCommitBatchSize)). Needs Pinot 1.4 or newer.
    type: int
  force_commit_batch_status_check_interval:
    description:
      - Seconds between checks of a force-commit batch (Pinot C(forceCommitBatchStatusCheckIntervalMs)).
        Needs Pinot 1.4 or newer.
    type: float
  force_commit_batch_status_check_timeout:
    description:
      - Seconds to wait for a force-commit batch (Pinot C(forceCommitBatchStatusCheckTimeoutMs)).
        Needs Pinot 1.4 or newer.
    type: float
  wait:
    description:
      - Follow every started rebalance until it has finished (job done where Pinot has jobs, and the external
        view matching the ideal state).
      - While it waits, a replica the target assigns that is in ERROR (a server could not load it, for example
        because the download from a restarting controller failed) is reset once, as an operator would with
        C(POST /segments/{table}/{segment}/reset); C(notes) lists each reset.
      - Pinot 1.5.1 was seen reporting a job C(IN_PROGRESS) long after it had moved everything, with nothing left to
        move in its counts, and after a controller restart with its counts frozen (Pinot's RebalanceChecker looks at
        such a job only after an hour). When the ideal state is at the rebalance's target with the external view
        serving it for 60 seconds and at least 3 polls while the job says C(IN_PROGRESS), the table is finished
        (C(status) stays what Pinot says) and C(notes) says what was seen. The same when the task attached to
        such a job after Pinot answered 409. When such a job stays unchanged while the external view serves an ideal
        state short of the target for 30 seconds, the task cancels it (Pinot 1.1 or newer) and starts the rebalance
        again, up to 3 times.
      - With V(false) the task returns right after starting, with the job ids and a first progress snapshot.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds the whole task may wait. When it passes, the task fails with each unfinished table's job id and
        last progress (the rebalance itself keeps running unless O(cancel_on_timeout=true)).
    type: int
    default: 3600
  stall_timeout:
    description:
      - Fail a table early when no segment replica was loaded or dropped for this many seconds, listing the stuck
        segments. V(0) turns the stall check off.
      - A controller that does not answer, or answers 502, 503 or 504, while the task waits counts as no progress.
        The wait goes on (and says so in C(notes)) until the controller is back, bounded by this and O(wait_timeout).
      - Before Pinot 1.0 a rebalance can stop without Pinot saying why (there is no job to ask), because the
        controller restarted or Pinot aborted it. When the external view has served the ideal state for 30 seconds while
        segments are still short of their target, the task starts the rebalance again (up to 3 times; C(restarts)
        counts them), and its message lists the likely causes. It is not started again when Pinot's own rule says it
        aborts it (O(min_available_replicas) of 0 or more and not less than the replicas a moving segment gets); the
        message names that as the likeliest cause. From 1.1 on, Pinot's RebalanceChecker aborts a
        job whose heartbeat stopped, after O(heartbeat_timeout) (1 hour by default), and retries it; the task
        follows the retry if it comes within this timeout.
    type: int
    default: 600
  poll_interval:
    description:
      - Seconds before the first progress check; later checks back off by half each time, up to 30 seconds.
      - The short first wait notices a table that moves in seconds; the back-off keeps a long rebalance at one check
        every 30 seconds.
    type: float
    default: 0.5
  cancel_on_timeout:
    description:
      - Cancel the rebalance of a table that timed out or stalled (Pinot 1.1 and newer; older controllers cannot
        cancel, which the result notes).
    type: bool
    default: false
  parallelism:
    description:
      - Tables rebalanced at the same time; each is followed on its own.
    type: int
    default: 1
notes:
  - Pinot answers a dry run, an already balanced table and O(downtime=true) synchronously and runs other
    rebalances in the controller's background; from Pinot 1.0 they carry a job id followed through
    C(GET /rebalanceStatus/{jobId}). A 404 for a job id right after it started is tolerated for 15 seconds,
    then the task follows the external view instead. A job that ends C(FAILED) or C(ABORTED) is checked for a
    retry attempt by Pinot's RebalanceChecker before the task gives up.
  - Ansible's C(async) with C(poll) runs the module in the background but shows nothing until it ends; for
    progress, use O(wait=false) and M(pinotops.pinot.pinot_table_rebalance_info).
seealso:
  - module: pinotops.pinot.pinot_table_rebalance_info
"""

EXAMPLES = r"""
- name: What would a rebalance of events move? (dry run)
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: events
  check_mode: true
  register: plan

- name: Rebalance both halves of a hybrid table and wait until the data has moved
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: events
    wait_timeout: 7200

- name: Rebalance every table of a tenant, two at a time, cancel what is stuck
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    tenant: DefaultTenant
    parallelism: 2
    stall_timeout: 900
    cancel_on_timeout: true

- name: Pinot 1.4 knobs (the task fails before starting anything on an older controller)
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: [events_REALTIME]
    batch_size_per_server: 100
    force_commit: true
    minimize_data_movement: enable

# Progress an operator can watch: start without waiting, then look every 15 s until pinot-server-3 holds nothing.
# Each look's result (msg: segments converged/total per table) shows with -vvv; the last msg is printed at the end.
- name: Start the rebalance of the tables that used pinot-server-3
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: [events, clicks]
    wait: false
  register: started

- name: Look every 15 s, for up to an hour
  pinotops.pinot.pinot_table_rebalance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: "{{ started.tables | map(attribute='table') | list }}"
    servers: [Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098]
  register: rebalance_progress
  until: rebalance_progress.done
  retries: 240
  delay: 15

- name: Show where it ended
  ansible.builtin.debug:
    msg: "{{ rebalance_progress.msg }}"

- name: Cancel the running rebalance of events
  pinotops.pinot.pinot_table_rebalance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: events
    state: cancelled
"""

RETURN = r"""
tables:
  description: One entry per typed table, in the order the tables were given.
  returned: always
  type: list
  elements: dict
  contains:
    table:
      description: Table name with type.
      type: str
      sample: events_REALTIME
    table_type:
      description: V(OFFLINE) or V(REALTIME).
      type: str
      sample: REALTIME
    status:
      description:
        - Pinot's last word on the rebalance, V(NO_OP), V(DONE), V(IN_PROGRESS), V(FAILED), V(ABORTED) or
          V(CANCELLED). In check mode the dry run's status (V(DONE) means something would move).
        - Without a job to ask (Pinot older than 1.0) V(DONE) once the views show it finished.
      type: str
      sample: DONE
    description:
      description: Pinot's description of the result.
      type: str
      sample: In progress, check controller logs for updates
    job_id:
      description: Pinot's rebalance job id; V(null) when there is none (Pinot older than 1.0, dry runs, NO_OP, downtime).
      type: str
      sample: 3f1c9a0e-5d1b-4c55-9a53-0d7f5c2b9e11
    attached:
      description: Whether a rebalance was already running and the task followed it instead of starting one.
      type: bool
      sample: false
    already_balanced:
      description:
        - Whether the dry run moves no segment. Pinot answers V(NO_OP), or, before 1.4 with O(reassign_instances=true),
          V(DONE) with a target equal to the current ideal state; either way no rebalance is started.
      type: bool
      sample: false
    changed:
      description:
        - Whether a rebalance of this table was started (or followed, when one was already running) or cancelled; in
          check mode, whether one would be.
      type: bool
      sample: true
    outcome:
      description:
        - V(planned) (check mode), V(not_started) (another table's dry run failed, so none was started), V(finished),
          V(not_waited) (O(wait=false)), V(failed), V(timeout), V(stalled),
          V(abandoned) (the rebalance stopped without Pinot saying why, and starting it again did not help or would
          not),
          V(cancelled) or V(nothing_to_cancel) (O(state=cancelled)).
      type: str
      sample: finished
    converged:
      description: Whether the external view matched the ideal state (and the target) when the task returned.
      type: bool
      sample: true
    duration:
      description: Seconds from the start request to the end of the wait.
      type: float
      sample: 84.2
    segments_moved:
      description: Segment replicas added to servers, once the rebalance finished (from the plan).
      type: int
      sample: 12
    restarts:
      description: How many times the task started the rebalance again because the controller had abandoned it.
      type: int
      sample: 0
    plan:
      description:
        - What the dry run moves, computed from the ideal state and Pinot's target assignment; V(null) when
          Pinot returned no target.
        - C(servers) maps each server to C(before), C(after), C(add) and C(remove) segment counts.
        - C(min_target_replicas) is the fewest replicas the target gives a segment that moves (V(null) when none
          moves), which Pinot checks O(min_available_replicas) against.
      type: dict
      sample:
        servers:
          Server_pinot-server-0.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098:
            {before: 3, after: 4, add: 1, remove: 0}
          Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098:
            {before: 3, after: 0, add: 0, remove: 3}
        segments_to_move: 3
        replicas_to_add: 3
        replicas_to_remove: 3
        servers_added: []
        servers_removed: [Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098]
        min_target_replicas: 2
    summary:
      description: Pinot's C(rebalanceSummaryResult) (Pinot 1.4 and newer), else V(null).
      type: dict
    pre_checks:
      description: Pinot's C(preChecksResult) of the dry run, check name to status and message (Pinot 1.4 and newer), else V(null).
      type: dict
      sample: {"isMinimizeDataMovement": {"preCheckStatus": "PASS", "message": "minimizeDataMovement is enabled"}}
    progress:
      description: Segments converged out of the total, and what is still pending, when the task returned.
      type: dict
      sample:
        segments: 48
        converged: 40
        percent_converged: 83.3
        ideal_state_pending: 0
        external_view_pending: 8
        remaining_replicas: 8
        error_segments: []
        error_count: 0
        not_converged: [events__0__12__20260101T0000Z]
    job:
      description:
        - What Pinot's job status (C(GET /rebalanceStatus/{jobId}), Pinot 1.0 and newer) said last, for a table that
          was followed. The counts are Pinot's own (Pinot 1.4 and newer), V(null) where it does not give them;
          C(segments_force_committed) counts the consuming segments committed before they moved
          (O(force_commit)).
      type: dict
      returned: when Pinot's job was followed
      sample: {"status": "DONE", "message": "Success with minAvailableReplicas: 1 ...", "original_job_id": "3f1c...",
               "attempt": 1, "elapsed_seconds": 21, "segments_to_add": 12, "remaining_segments_to_add": 0,
               "remaining_segments_to_delete": 0, "remaining_segments_to_converge": 0,
               "estimated_seconds_to_complete": 0.0, "segments_force_committed": 3}
    stuck_segments:
      description: For a stalled or timed out table, the segments not converged with their ideal state, external view and target.
      type: dict
      returned: on timeout or stall
    cancelled_job_ids:
      description: Job ids Pinot cancelled (O(state=cancelled), or O(cancel_on_timeout=true) after a timeout).
      type: list
      elements: str
      returned: when something was cancelled or would be
    message:
      description: Why the table failed, timed out or stalled.
      type: str
    notes:
      description: Things worth knowing, such as following Pinot's retry of a failed job.
      type: list
      elements: str
msg:
  description: One line per table with its outcome and progress.
  returned: always
  type: str
  sample: "events_REALTIME: finished (DONE, job 3f1c...), 48/48 segments converged (100.0%)"
"""

import time

from ansible_collections.pinotops.pinot.plugins.module_utils.args import empty_list_message, resolve_tables
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule, error_traceback
from ansible_collections.pinotops.pinot.plugins.module_utils.convergence import progress_line
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import split_table_name
from ansible_collections.pinotops.pinot.plugins.module_utils.parallel import run_parallel
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance import (
    FEATURE_CANCEL,
    FEATURE_JOB_STATUS,
    FEATURE_SUMMARY,
    FEATURES,
    KNOBS,
    failed_table,
    knobs_needing,
    new_table_result,
    plan_table,
    rebalance_params,
    start_table,
    unsupported_knobs_message,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_jobs import running_job_ids

PROBLEM_OUTCOMES = ("failed", "timeout", "stalled", "abandoned")


def knob_spec():
    spec = {}
    kinds = {"bool": "bool", "int": "int", "seconds": "float", "float": "float", "enum": "str"}
    for option, (_param, kind, _feature) in KNOBS.items():
        spec[option] = dict(type=kinds[kind])
    spec["reassign_instances"]["default"] = True
    spec["include_consuming"]["default"] = True
    spec["min_available_replicas"]["default"] = 1
    spec["minimize_data_movement"]["choices"] = ["enable", "disable", "default"]
    return spec


def table_line(result):
    text = "%s: %s" % (result["table"], result["outcome"])
    details = [result["status"] or "no status"]
    if result["job_id"]:
        details.append("job %s" % result["job_id"])
    text += " (%s)" % ", ".join(details)
    if result.get("message"):
        text += ": %s" % result["message"]
    if result.get("progress"):
        text += "; " + progress_line("progress", result["progress"]).split(": ", 1)[1]
    return text


def diff_of(results):
    before, after = {}, {}
    for result in results:
        servers = (result.get("plan") or {}).get("servers") or {}
        before[result["table"]] = dict((server, counts["before"]) for server, counts in servers.items())
        after[result["table"]] = dict((server, counts["after"]) for server, counts in servers.items())
    return {"before": before, "after": after}


def cancel(module, client, targets):
    if not client.has_rebalance_cancel():
        module.fail_json(msg="Cannot cancel rebalances of %s: cancelling needs %s. On older Pinot a rebalance runs in the "
                             "controller until it ends; wait for it (pinot_table_rebalance_info) instead"
                             % (", ".join(t for t, _k in targets), FEATURES[FEATURE_CANCEL]))
    results = []
    for table, table_type in targets:
        result = new_table_result(table, table_type)
        if module.check_mode:
            ids = running_job_ids(client.table_jobs(table, table_type))
        else:
            ids = client.cancel_rebalance(table, table_type)
        result.update(cancelled_job_ids=list(ids), changed=bool(ids),
                      outcome="cancelled" if ids else "nothing_to_cancel")
        results.append(result)
    return results


def main():
    module = PinotModule(
        argument_spec=dict(
            table=dict(type="list", elements="str"),
            tenant=dict(type="str"),
            table_type=dict(type="str", choices=["OFFLINE", "REALTIME"]),
            state=dict(type="str", choices=["rebalanced", "cancelled"], default="rebalanced"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=3600),
            stall_timeout=dict(type="int", default=600),
            poll_interval=dict(type="float", default=0.5),
            cancel_on_timeout=dict(type="bool", default=False),
            parallelism=dict(type="int", default=1),
            **knob_spec()
        ),
        mutually_exclusive=[("table", "tenant")],
        required_one_of=[("table", "tenant")],
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    empty = empty_list_message(params, {"table": "name at least one table, or use tenant"})
    if empty:
        module.fail_json(msg=empty)
    for option in ("wait_timeout", "parallelism"):
        if params[option] < 1:
            module.fail_json(msg="%s must be 1 or more, got %s" % (option, params[option]))
    if params["stall_timeout"] < 0 or params["poll_interval"] <= 0:
        module.fail_json(msg="stall_timeout must be 0 (off) or more and poll_interval more than 0")
    started = time.monotonic()
    deadline = started + params["wait_timeout"]

    try:
        targets = [(name, split_table_name(name)[1])
                   for name in resolve_tables(client, params["table"], params["table_type"], params["tenant"])]
    except PinotError as exc:
        module.fail_from_error(exc, msg="Cannot rebalance %s" % (params["table"] or "tenant %s" % params["tenant"]))
    if not targets:
        module.exit_json(changed=False, tables=[], msg="tenant %s serves no %stables: nothing to rebalance" % (
            params["tenant"], (params["table_type"] + " ") if params["table_type"] else ""))

    try:
        if params["state"] == "cancelled":
            results = cancel(module, client, targets)
            module.exit_json(changed=any(r["changed"] for r in results), tables=results,
                             msg="; ".join("%s: %s %s" % (r["table"], r["outcome"], ", ".join(r["cancelled_job_ids"]))
                                           for r in results))
        for feature, has in ((FEATURE_JOB_STATUS, client.has_rebalance_status),
                             (FEATURE_CANCEL, client.has_rebalance_cancel)):
            if knobs_needing(params, feature) and not has():
                module.fail_json(msg="Cannot rebalance: " + unsupported_knobs_message(params, feature))
        follow_jobs = client.has_rebalance_status()
        can_cancel = client.has_rebalance_cancel() if params["cancel_on_timeout"] else False
    except PinotError as exc:
        module.fail_from_error(exc, msg="Cannot %s %s" % ("cancel the rebalance of" if params["state"] == "cancelled"
                                                          else "rebalance", ", ".join(t for t, _k in targets)))

    query = rebalance_params(params)
    target_of = {}
    errors = {}  # table -> the PinotError that failed it, for the traceback -vvv shows

    def plan_worker(client, item):
        table, table_type = item
        try:
            result, target, has_summary = plan_table(client, table, table_type, query)
        except PinotError as exc:
            errors[table] = exc
            return failed_table(new_table_result(table, table_type), exc, "dry run failed"), False
        target_of[table] = target
        if result["status"] not in ("DONE", "NO_OP", "IN_PROGRESS"):
            result.update(outcome="failed", converged=False,
                          message="Pinot's dry run answered %s: %s" % (result["status"], result["description"]))
        else:
            result["outcome"] = "planned"
        return result, has_summary

    planned = run_parallel(client, targets, plan_worker, params["parallelism"])
    results = [result for result, _has in planned]
    answered = [has for result, has in planned if result["outcome"] == "planned" and result["status"] != "IN_PROGRESS"]
    if knobs_needing(params, FEATURE_SUMMARY) and answered and not any(answered):
        module.fail_json(msg="Cannot rebalance: " + unsupported_knobs_message(params, FEATURE_SUMMARY), tables=results)
    planning_failed = [r for r in results if r["outcome"] == "failed"]
    for result in results:
        # In check mode, what would change; otherwise nothing has yet, and nothing will when a dry run failed.
        result["changed"] = (module.check_mode and result["outcome"] == "planned"
                             and result["status"] in ("DONE", "IN_PROGRESS") and not result["already_balanced"])
        if planning_failed and not module.check_mode and result["outcome"] == "planned":
            result["outcome"] = "not_started"

    if module.check_mode or planning_failed:
        finish(module, results, started, nothing_started=bool(planning_failed) and not module.check_mode,
               errors=errors)

    def start_worker(client, result):
        if result["already_balanced"]:
            result.update(outcome="finished", converged=True, changed=False)
            return result
        try:
            return start_table(client, result, query, target_of.get(result["table"]), params["wait"], deadline,
                               stall_timeout=params["stall_timeout"], poll_interval=params["poll_interval"],
                               follow_jobs=follow_jobs, cancel_on_timeout=params["cancel_on_timeout"],
                               can_cancel=can_cancel)
        except PinotError as exc:
            errors[result["table"]] = exc
            return failed_table(result, exc, "rebalance of %s failed" % result["table"])

    results = run_parallel(client, results, start_worker, params["parallelism"])
    finish(module, results, started, errors=errors)


def finish(module, results, started, nothing_started=False, errors=None):
    """Exit with every table's result; `changed` says whether anything was (in check mode: would be) started.

    `errors` maps a table to the PinotError that failed it: their tracebacks go to `exception` (shown with -vvv).
    """
    changed = any(r["changed"] for r in results)
    problems = [r for r in results if r["outcome"] in PROBLEM_OUTCOMES]
    msg = "; ".join(table_line(r) for r in results)
    extra = {"diff": diff_of(results)} if module._diff else {}
    if problems:
        tracebacks = ["%s:\n%s" % (table, error_traceback(exc)) for table, exc in sorted((errors or {}).items())]
        if tracebacks:
            extra["exception"] = "\n".join(tracebacks)
        module.fail_json(msg="Rebalance did not complete for %d of %d tables after %d s%s: %s" % (
            len(problems), len(results), time.monotonic() - started,
            " (nothing was started: every dry run must succeed first)" if nothing_started else "",
            "; ".join(table_line(r) for r in problems)), changed=changed, tables=results, **extra)
    module.exit_json(changed=changed, tables=results, msg=msg, **extra)


if __name__ == "__main__":
    main()
