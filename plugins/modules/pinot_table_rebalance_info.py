#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_table_rebalance_info
short_description: Show how far the rebalance of Apache Pinot tables is
version_added: 0.1.0
description:
  - For each table, reports how many segments the external view serves as the ideal state asks (converged out
    of the total), the segments in ERROR, Pinot's latest rebalance job and its status (Pinot 1.0 and newer),
    and, for the server instances named in O(instances), how many segments they still hold.
  - RV(done) is true when no rebalance job is running, the external view matches the ideal state, and the
    servers in O(instances) hold nothing; RV(msg) is one line per table, so a loop that prints it shows progress
    (see the examples of M(pinotops.pinot.pinot_table_rebalance)).
  - Read-only; runs the same in check mode.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.INFO_ATTRIBUTES
options:
  table:
    description:
      - Tables to report on, raw (both halves of a hybrid table) or with type.
      - Exactly one of O(table) and O(tenant) is required. An empty list is refused (it would check nothing, and
        RV(done) would be true at once).
    type: list
    elements: str
  tenant:
    description:
      - Report on every table of this server tenant.
    type: str
  table_type:
    description:
      - Only this half of the tables.
    type: str
    choices: [OFFLINE, REALTIME]
  instances:
    description:
      - Server instance ids that should end up holding nothing (for example a server being removed); their
        remaining segments are counted per table, and RV(done) waits for them to reach zero.
      - An empty list is refused; leave the option out when no server is to be emptied.
      - O(servers) is the same option under its first name.
    type: list
    elements: str
    aliases: [servers]
"""

EXAMPLES = r"""
- name: How far is the rebalance of events?
  pinotops.pinot.pinot_table_rebalance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: events
  register: rebalance_progress

- name: Print it
  ansible.builtin.debug:
    msg: "{{ rebalance_progress.msg }}"

- name: Wait until pinot-server-3 holds nothing in any table of the tenant
  pinotops.pinot.pinot_table_rebalance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    tenant: DefaultTenant
    instances: [Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098]
  register: rebalance_progress
  until: rebalance_progress.done
  retries: 240
  delay: 15
"""

RETURN = r"""
done:
  description: True when every table has no running rebalance job, converged views and nothing left on O(instances).
  returned: always
  type: bool
  sample: false
msg:
  description: One line per table with segments converged out of the total and the job status.
  returned: always
  type: str
  sample: "events_OFFLINE: 12/12 segments converged (100.0%), job DONE; events_REALTIME: 40/48 segments converged (83.3%), job IN_PROGRESS"
tables:
  description: One entry per typed table.
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
    done:
      description: No running job, the external view matches the ideal state, and O(instances) hold nothing.
      type: bool
      sample: false
    progress:
      description: Segments converged (external view serving as the ideal state says) out of the total, with samples of the rest.
      type: dict
      sample: {"segments": 48, "converged": 40, "percent_converged": 83.3, "ideal_state_pending": 0,
               "external_view_pending": 8, "remaining_replicas": 8, "error_segments": [], "error_count": 0,
               "not_converged": ["events__0__12__20260101T0000Z"]}
    job:
      description:
        - Pinot's latest rebalance job of the table (Pinot 1.0 and newer; V(null) when there is none or the controller
          keeps no jobs) with its status, attempt and Pinot's own progress figures where the controller reports them.
      type: dict
      sample: {"job_id": "3f1c9a0e-5d1b-4c55-9a53-0d7f5c2b9e11", "status": "IN_PROGRESS", "attempt": 1,
               "original_job_id": "3f1c9a0e-5d1b-4c55-9a53-0d7f5c2b9e11", "elapsed_seconds": 25, "message": null}
    on_servers:
      description: For each server in O(instances), the segments of this table it holds in the ideal state and the external view.
      type: dict
      sample: {"Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098": {"ideal_state": 2, "external_view": 3}}
force_commit_supported:
  description:
    - Whether the controller's rebalance can commit CONSUMING segments before it moves them
      (O(pinotops.pinot.pinot_table_rebalance#module:force_commit), Pinot 1.4 and newer).
    - Read from the controller's API listing (C(GET /swagger.json)), so nothing is probed with a write.
    - V(null) when that listing could not be read (a proxy in front of the controller may hide it).
  returned: always
  type: bool
  sample: true
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.args import empty_list_message, resolve_tables
from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import segments_by_instance
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.convergence import convergence, progress_line
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import split_table_name
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_jobs import job_view, rebalance_jobs
from ansible_collections.pinotops.pinot.plugins.module_utils.rebalance_wait import read_views


def latest_job(client, table, table_type):
    """Pinot's newest rebalance job of a typed table, with its status; None where the controller keeps no jobs."""
    if not client.has_rebalance_status():
        return None
    jobs = rebalance_jobs(client.table_jobs(table, table_type))
    if not jobs:
        return None
    newest = jobs[0]
    job = {"job_id": newest["job_id"], "status": newest["status"], "attempt": newest["attempt"],
           "original_job_id": newest["original_job_id"]}
    reply = client.rebalance_status(newest["job_id"])
    if reply is not None:
        job.update(job_view(reply))
    return job


def report(client, table, table_type, servers):
    ideal, external = read_views(client, table, table_type)
    progress = convergence(ideal, external)
    job = latest_job(client, table, table_type)
    in_ideal, in_external = segments_by_instance(ideal, instances=servers), segments_by_instance(external, instances=servers)
    on_servers = dict((server, {"ideal_state": in_ideal[server], "external_view": in_external[server]}) for server in servers)
    done = (progress["external_view_pending"] == 0 and not (job and job["status"] == "IN_PROGRESS")
            and not any(counts["ideal_state"] or counts["external_view"] for counts in on_servers.values()))
    return {"table": table, "table_type": table_type, "done": done, "progress": progress, "job": job,
            "on_servers": on_servers}


def describe(entry):
    text = progress_line(entry["table"], entry["progress"], (entry["job"] or {}).get("status"))
    left = sum(counts["ideal_state"] + counts["external_view"] for counts in entry["on_servers"].values())
    if entry["on_servers"]:
        text += ", %d segment replicas left on the given servers" % left
    return text


def main():
    module = PinotModule(
        argument_spec=dict(
            table=dict(type="list", elements="str"),
            tenant=dict(type="str"),
            table_type=dict(type="str", choices=["OFFLINE", "REALTIME"]),
            instances=dict(type="list", elements="str", aliases=["servers"]),
        ),
        mutually_exclusive=[("table", "tenant")],
        required_one_of=[("table", "tenant")],
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    # An empty list checks nothing, so `done` would be true at once and an until: loop would pass.
    empty = empty_list_message(params, {"table": "name at least one table, or use tenant",
                                        "instances": "name the servers that should end up holding nothing, or leave instances out"})
    if empty:
        module.fail_json(msg=empty)
    try:
        names = resolve_tables(client, params["table"], params["table_type"], params["tenant"])
        tables = [report(client, name, split_table_name(name)[1], params["instances"] or []) for name in names]
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read the rebalance progress of %s" % (
            params["table"] or "tenant %s" % params["tenant"]))
    try:
        force_commit_supported = client.has_rebalance_force_commit()
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not tell whether the controller's rebalance can force-commit")
    module.exit_json(changed=False, done=all(entry["done"] for entry in tables), tables=tables,
                     force_commit_supported=force_commit_supported,
                     msg="; ".join(describe(entry) for entry in tables) or "no tables")


if __name__ == "__main__":
    main()
