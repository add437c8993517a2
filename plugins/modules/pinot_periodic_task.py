#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_periodic_task
short_description: Run an Apache Pinot controller periodic task now
version_added: 0.1.0
description:
  - Asks the Pinot controllers to run one of their periodic tasks (for example C(SegmentStatusChecker),
    C(RetentionManager), C(RealtimeSegmentValidationManager)) now, for every table or for the tables named, instead of
    waiting for its next scheduled run. This is what C(GET /periodictask/run?taskname=...&tableName=...&type=...) does
    by hand, once per table.
  - The task name is checked against the controller's list (C(GET /periodictask/names)) first; a wrong name fails
    with the valid names and nothing runs. Every table named is checked to exist before the first run as well.
  - Task properties (O(properties)) need a controller that takes them (C(POST /periodictask/run), Pinot 1.4 and
    newer); with an older controller the module fails before running anything.
  - Pinot only starts the run. Every controller receives a message and runs the task for the tables it leads; Pinot
    reports neither progress nor completion, so the module does not wait. It returns the run's id, RV(task_id);
    look for it in the controller logs to follow the run.
  - Running a task is an action, so the module always reports a change when it ran. Use
    M(pinotops.pinot.pinot_periodic_task_info) to list the task names without running anything.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.ATTRIBUTES
attributes:
  check_mode:
    support: full
    description: Checks the task name, table and properties, then reports that the task would run; nothing runs.
  diff_mode:
    support: none
    description: Running a task changes no configuration to compare.
options:
  name:
    description:
      - The periodic task to run, exactly as the controller names it (case matters), for example
        V(SegmentStatusChecker).
      - Which tasks exist depends on the Pinot version and the controller's configuration (tasks that are not
        scheduled are not listed before Pinot 1.5).
    type: str
    required: true
  table:
    description:
      - Run the task only for these tables, raw (V(events)) or typed (V(events_REALTIME)), one run per table in the
        order given (a table named twice runs once). One name alone, as a string, is fine.
      - A raw name of a hybrid table (one with both an offline and a realtime table) needs O(table_type).
      - Without it, the task runs once for every table. An empty list or an empty name is refused.
      - If a run fails, the tables after it are not run; RV(runs) says which ran.
    type: list
    elements: str
  table_type:
    description:
      - The type of the tables in O(table) (needs O(table)). Must agree with the suffix of a typed name.
    type: str
    choices: [OFFLINE, REALTIME]
  properties:
    description:
      - Properties passed to the task, for example C(runSegmentLevelValidation) for the segment validation managers.
        Values are sent as strings (V(true) becomes V("true")).
      - Needs a controller with C(POST /periodictask/run) (Pinot 1.4 and newer); with an older one the module fails
        before running anything.
    type: dict
notes:
  - Pinot reports no completion for periodic tasks. The module returns when the controllers have been notified, not
    when the task has finished.
seealso:
  - module: pinotops.pinot.pinot_periodic_task_info
"""

EXAMPLES = r"""
- name: Recompute segment status metrics for one table now
  pinotops.pinot.pinot_periodic_task:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    name: SegmentStatusChecker
    table: events
    table_type: REALTIME
  register: run

- name: Show the id to look for in the controller logs
  ansible.builtin.debug:
    msg: "Look for {{ run.task_id }} in the controller logs"

- name: Recompute the segment status of two tables, one after the other
  pinotops.pinot.pinot_periodic_task:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    name: SegmentStatusChecker
    table: [events_REALTIME, stats_OFFLINE]
  register: runs

- name: Show each table's task id
  ansible.builtin.debug:
    msg: "{{ runs.runs | items2dict(key_name='table', value_name='task_id') }}"

- name: Apply retention to every table now
  pinotops.pinot.pinot_periodic_task:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    name: RetentionManager

- name: Validate segments one by one (Pinot 1.4 and newer take properties)
  pinotops.pinot.pinot_periodic_task:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    name: RealtimeSegmentValidationManager
    table: events_REALTIME
    properties:
      runSegmentLevelValidation: true
"""

RETURN = r"""
name:
  description: The task that ran (or would run in check mode).
  returned: always
  type: str
  sample: SegmentStatusChecker
table:
  description:
    - The typed table of the last run (the only one unless O(table) names several tables); V(null) when the task ran
      for every table. RV(runs) has each run.
  returned: always
  type: str
  sample: events_REALTIME
properties:
  description: The properties sent to the task, as strings; V({}) when none.
  returned: always
  type: dict
  sample: {"runSegmentLevelValidation": "true"}
task_id:
  description:
    - The id Pinot gave the last run (C(taskId); C(Log Request Id) on Pinot 0.9 and 0.10). The controllers log it when
      they run the task.
    - V(null) in check mode.
  returned: always
  type: str
  sample: api-1a2b3c4d
accepted:
  description:
    - Whether Pinot notified at least one controller of the last run (C(isSuccessful); C(Controllers notified) on Pinot 0.9 and
      0.10). The module fails when Pinot says false.
    - V(null) in check mode.
  returned: always
  type: bool
  sample: true
response:
  description: The controller's reply to the last run as it came; V(null) in check mode.
  returned: always
  type: dict
  sample: {"taskId": "api-1a2b3c4d", "isSuccessful": true}
runs:
  description:
    - One entry per run, in order; a single entry with O(table) left out (the task ran for every table).
    - After a failure, the runs that were started; in check mode, the runs that would start (with V(null) ids).
  returned: always
  type: list
  elements: dict
  contains:
    table:
      description: The typed table this run was for; V(null) for every table.
      type: str
    task_id:
      description: The id Pinot gave this run; V(null) in check mode.
      type: str
    accepted:
      description: Whether Pinot notified at least one controller; V(null) in check mode.
      type: bool
    response:
      description: The controller's reply as it came; V(null) in check mode.
      type: dict
  sample: [{"table": "events_REALTIME", "task_id": "api-1a2b3c4d", "accepted": true,
            "response": {"taskId": "api-1a2b3c4d", "isSuccessful": true}}]
task_names:
  description: The periodic tasks this controller can run.
  returned: always
  type: list
  elements: str
  sample: [RetentionManager, SegmentStatusChecker, RealtimeSegmentValidationManager]
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.args import typed_table_names
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import split_table_name


def task_name_error(name, names):
    """The message for a task name the controller does not know, with the names it does."""
    message = "Periodic task '%s' is not one this controller runs; nothing was run. Valid names: %s" % (
        name, ", ".join(names) or "(none)")
    same_but_case = [known for known in names if known.lower() == name.lower()]
    if same_but_case:
        message += ". Names are case-sensitive: did you mean %s?" % same_but_case[0]
    return message


def as_strings(properties):
    """Task properties as Pinot reads them: a map of strings (booleans as true/false)."""
    return dict((key, str(value).lower() if isinstance(value, bool) else str(value))
                for key, value in (properties or {}).items())


def parse_reply(reply):
    """(task id, accepted) from {"taskId","isSuccessful"} (0.11+) or {"Log Request Id","Controllers notified"} (0.9/0.10)."""
    reply = reply if isinstance(reply, dict) else {}
    task_id = reply.get("taskId", reply.get("Log Request Id"))
    accepted = reply.get("isSuccessful", reply.get("Controllers notified"))
    if isinstance(accepted, str):
        accepted = accepted.lower() == "true"
    return task_id, accepted


def resolve_table(client, table, table_type):
    """The one typed table name the task runs for, checked to exist (raises PinotError)."""
    raw = split_table_name(table)[0]
    found = typed_table_names([table], table_type, {raw: client.get_table_config(raw)})
    if len(found) > 1:
        raise PinotError("More than one table matches Table '%s'. Matching names: [%s]" % (table, ", ".join(found)),
                         hint="Set table_type (OFFLINE or REALTIME), or give the typed name")
    return found[0]


def for_tables(tables):
    """" for events_REALTIME, stats_OFFLINE" for a message; "" when the task runs for every table."""
    return " for %s" % ", ".join(tables) if tables and tables != [None] else ""


def ran_before(runs):
    """What already ran, for a failure message: the tables after a failed run are not run."""
    if not runs:
        return ""
    return " (it already ran for %s, task ids %s; the tables after this one were not run)" % (
        ", ".join(run["table"] for run in runs), ", ".join(str(run["task_id"]) for run in runs))


def main():
    module = PinotModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            table=dict(type="list", elements="str"),
            table_type=dict(type="str", choices=["OFFLINE", "REALTIME"]),
            properties=dict(type="dict"),
        ),
        required_by={"table_type": "table"},
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    name = params["name"]
    properties = as_strings(params["properties"])
    result = dict(changed=False, name=name, table=None, properties=properties, task_id=None, accepted=None,
                  response=None, task_names=[], runs=[])
    # An empty list or name (a variable that came out empty) would otherwise run the task for every table.
    if params["table"] == [] or any(not table.strip() for table in params["table"] or []):
        module.fail_json(msg="table is empty or names an empty table: give table names, or leave table out to run the "
                             "task for every table. Nothing was run.", **result)
    no_properties = ("Task properties need a controller that takes them (POST /periodictask/run, Pinot 1.4 and newer); "
                     "this controller only runs tasks without properties. Nothing was run. Remove properties or upgrade "
                     "the controller.")
    try:
        result["task_names"] = names = client.periodic_task_names()
        if name not in names:
            module.fail_json(msg=task_name_error(name, names), **result)
        tables = [None]  # None: the task runs for every table
        if params["table"]:
            tables = []
            for table in params["table"]:
                typed = resolve_table(client, table, params["table_type"])
                if typed not in tables:
                    tables.append(typed)
        # Read from the controller's API listing; None when it cannot be read: then the POST itself tells (405).
        takes_properties = client.has_periodic_task_post() if properties else True
        if takes_properties is False:
            module.fail_json(msg=no_properties, **result)
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not check periodic task %s" % name, **result)

    result["table"] = tables[-1]
    result["runs"] = [dict(table=table, task_id=None, accepted=None, response=None) for table in tables]
    result["changed"] = True
    if module.check_mode:
        if takes_properties is None:
            module.warn("Check mode cannot tell whether this controller takes task properties (its API listing, "
                        "GET /swagger.json, could not be read); a real run finds out before running anything.")
        module.exit_json(msg="Would run periodic task %s%s" % (name, for_tables(tables)), **result)
    runs = result["runs"]
    result["runs"] = []
    for run in runs:
        result.update(table=run["table"], task_id=None, accepted=None, response=None)
        table_type = split_table_name(run["table"])[1] if run["table"] else None
        try:
            reply = client.run_periodic_task(name, run["table"], table_type, properties)
        except PinotError as exc:
            result["changed"] = bool(result["runs"])
            if exc.unsupported:
                module.fail_from_error(exc, msg=no_properties.rstrip(".") + ran_before(result["runs"]), **result)
            module.fail_from_error(exc, msg="Could not run periodic task %s%s%s" % (
                name, for_tables([run["table"]]), ran_before(result["runs"])), **result)
        run["response"] = result["response"] = reply
        run["task_id"], run["accepted"] = result["task_id"], result["accepted"] = parse_reply(reply)
        if run["accepted"] is False:
            result["changed"] = bool(result["runs"])
            module.fail_json(msg="Pinot notified no controller to run periodic task %s%s (task id %s); it did not run. "
                                 "Check that the controllers are live%s." % (
                                     name, for_tables([run["table"]]), run["task_id"], ran_before(result["runs"])),
                             **result)
        result["runs"].append(run)
    module.exit_json(msg="Started periodic task %s%s (task id %s); Pinot reports no completion, look for the id in the "
                         "controller logs" % (name, for_tables(tables), ", ".join(str(run["task_id"]) for run in runs)),
                     **result)


if __name__ == "__main__":
    main()
