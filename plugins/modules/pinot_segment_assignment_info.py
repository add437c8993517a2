#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_segment_assignment_info
short_description: Show which Apache Pinot servers hold which segments and partitions of a table
version_added: 0.1.0
description:
  - For one table or every table, reads the ideal state (what the servers should serve) and the external view (what
    they serve) and returns, for each view, segments to servers, partitions to servers, servers to partitions and the
    number of segments per server.
  - Also returns what needs attention - segments served by fewer servers than the table's replication, replicas in
    C(ERROR) or C(OFFLINE), and segments whose servers differ between the two views (a rebalance or a restart
    still in progress) - and a one-line summary of each in RV(problems).
  - Partitions come from realtime segment names (C(<table>__<partition>__<sequence>__<time>)), as Pinot names the
    segments it consumes; offline and uploaded segments have no partition, so they appear in the segment maps and
    counts only.
  - Read-only; runs the same in check mode.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.INFO_ATTRIBUTES
options:
  table:
    description:
      - Only these tables, each raw (V(events), both types if it is hybrid) or typed (V(events_REALTIME)).
      - Without it, every table. An empty list is refused, so that a list a template left empty does not turn into
        every table.
    type: list
    elements: str
  table_type:
    description:
      - Only tables of this type. Must agree with the suffix of a typed O(table).
    type: str
    choices: [OFFLINE, REALTIME]
  short_names:
    description:
      - Name servers by their pod (V(pinot-server-3) for
        V(Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098)) everywhere in the
        result; RV(server_names) maps them back to the instance ids.
      - Ids that are IP addresses or have no dots keep C(<host>_<port>); ids whose short names would collide keep
        the full id.
    type: bool
    default: false
  include_segments:
    description:
      - Include the per-segment map (RV(tables.ideal_state.segments_to_servers)) in both views.
      - Turn it off for tables with many segments when the partition maps and counts are enough.
    type: bool
    default: true
notes:
  - A replica counts as served when its state is C(ONLINE) or C(CONSUMING); the other states appear only in
    RV(tables.error_segments), RV(tables.offline_segments) and RV(tables.under_replicated).
  - Reads three endpoints per raw table (table config, ideal state, external view); without O(table), lists the
    tables first (two calls).
"""

EXAMPLES = r"""
- name: Servers to partitions of the events table, by pod name
  pinotops.pinot.pinot_segment_assignment_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    table: events_REALTIME
    short_names: true
    include_segments: false
  register: assignment

- name: Show it
  ansible.builtin.debug:
    msg: "{{ assignment.tables.events_REALTIME.external_view.servers_to_partitions }}"

- name: Fail when any table is below its replication or has replicas in ERROR
  pinotops.pinot.pinot_segment_assignment_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
  register: all_tables
  failed_when: all_tables.problems | length > 0

- name: Check that pinot-server-3 no longer serves any partition of the events table
  ansible.builtin.assert:
    that: "'pinot-server-3' not in assignment.tables.events_REALTIME.external_view.servers_to_partitions"
"""

RETURN = r"""
tables:
  description: Per typed table name, what both views say and what needs attention.
  returned: always
  type: dict
  sample:
    events_REALTIME:
      table_type: REALTIME
      replication: 2
      ideal_state:
        segment_count: 2
        segments_to_servers:
          events__0__0__20260101T0000Z: [pinot-server-0, pinot-server-1]
          events__1__0__20260101T0000Z: [pinot-server-1, pinot-server-2]
        partitions_to_servers: {"0": [pinot-server-0, pinot-server-1], "1": [pinot-server-1, pinot-server-2]}
        servers_to_partitions: {pinot-server-0: [0], pinot-server-1: [0, 1], pinot-server-2: [1]}
        segments_per_server: {pinot-server-0: 1, pinot-server-1: 2, pinot-server-2: 1}
      external_view:
        segment_count: 2
        segments_to_servers:
          events__0__0__20260101T0000Z: [pinot-server-0, pinot-server-1]
          events__1__0__20260101T0000Z: [pinot-server-1]
        partitions_to_servers: {"0": [pinot-server-0, pinot-server-1], "1": [pinot-server-1]}
        servers_to_partitions: {pinot-server-0: [0], pinot-server-1: [0, 1]}
        segments_per_server: {pinot-server-0: 1, pinot-server-1: 2}
      under_replicated: {events__1__0__20260101T0000Z: {expected: 2, serving: [pinot-server-1]}}
      error_segments: {events__1__0__20260101T0000Z: [pinot-server-2]}
      offline_segments: {}
      not_converged:
        events__1__0__20260101T0000Z: {ideal_state: [pinot-server-1, pinot-server-2], external_view: [pinot-server-1]}
  contains:
    table_type:
      description: V(OFFLINE) or V(REALTIME).
      type: str
    replication:
      description:
        - Replicas each segment should have, from the table config (C(segmentsConfig.replicasPerPartition) for
          realtime tables when set, else C(segmentsConfig.replication)).
      type: int
    ideal_state:
      description: What the servers should serve.
      type: dict
      contains:
        segment_count:
          description: Segments with at least one replica assigned.
          type: int
        segments_to_servers:
          description: Per segment, its servers. Only with O(include_segments=true).
          type: dict
          returned: when O(include_segments=true)
        partitions_to_servers:
          description: Per partition (a string, as JSON keys are), the servers holding any of its segments.
          type: dict
        servers_to_partitions:
          description:
            - Per server, the partitions (numbers) it holds segments of. Servers holding only segments without a
              partition have an empty list.
          type: dict
        segments_per_server:
          description: Per server, the number of segments.
          type: dict
    external_view:
      description: What the servers serve (replicas C(ONLINE) or C(CONSUMING)); same keys as RV(tables.ideal_state).
      type: dict
    under_replicated:
      description:
        - Segments the external view serves on fewer servers than RV(tables.replication) (or than the ideal state
          assigns, when the replication is unknown), with the expected count and the servers that serve them.
      type: dict
    error_segments:
      description: Segments with replicas in C(ERROR) in the external view, with those servers.
      type: dict
    offline_segments:
      description: Segments with replicas in C(OFFLINE) in the external view, with those servers.
      type: dict
    not_converged:
      description: Segments whose serving servers differ between the ideal state and the external view.
      type: dict
    servers:
      description: Every server with a replica of the table in either view, whatever its state, in natural order.
      type: list
      elements: str
      sample: [pinot-server-0, pinot-server-1, pinot-server-2]
server_names:
  description: Short name to instance id, for every server in the result. Only with O(short_names=true).
  returned: when O(short_names=true)
  type: dict
  sample: {pinot-server-0: Server_pinot-server-0.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098}
problems:
  description: One line per table and kind of problem found (below replication, replicas in ERROR or OFFLINE).
  returned: always
  type: list
  elements: str
  sample: ["events_REALTIME: 1 segment(s) below replication 2", "events_REALTIME: 1 segment(s) with replicas in ERROR"]
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.args import empty_list_message, resolve_tables, typed_table_names
from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import (
    instances_of,
    rename_servers,
    short_server_names,
    table_assignment,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import split_table_name
from ansible_collections.pinotops.pinot.plugins.module_utils.plan import table_replication


def read_tables(client, tables, table_type):
    """Yield (typed name, table config, ideal state, external view) of the tables asked for (all when None).

    One raw table is read as the caller asks for the next, so only its views are held, not every table's. Named
    tables are resolved from their configs, which are read anyway: three reads per raw table, no listing.
    """
    asked = {}  # raw name -> the arguments naming it, or the typed names listed
    for table in resolve_tables(client, None, table_type) if tables is None else tables:
        asked.setdefault(split_table_name(table)[0], []).append(table)
    for raw in sorted(asked):
        configs = client.get_table_config(raw)
        if tables is None:  # a table dropped since the listing is simply left out
            typed_names = [typed for typed in asked[raw] if split_table_name(typed)[1] in configs]
        else:
            typed_names = typed_table_names(asked[raw], table_type, {raw: configs})
        if not typed_names:
            continue
        ideal_state, external_view = client.ideal_state(raw), client.external_view(raw)
        for typed in typed_names:
            kind = split_table_name(typed)[1]
            yield typed, configs[kind], ideal_state.get(kind) or {}, external_view.get(kind) or {}


def problems_of(name, table):
    """One line per kind of problem of one table."""
    lines = []
    if table["under_replicated"]:
        lines.append("%s: %d segment(s) below replication %s" % (name, len(table["under_replicated"]), table["replication"]))
    for key, state in (("error_segments", "ERROR"), ("offline_segments", "OFFLINE")):
        if table[key]:
            lines.append("%s: %d segment(s) with replicas in %s" % (name, len(table[key]), state))
    return lines


def main():
    module = PinotModule(
        argument_spec=dict(
            table=dict(type="list", elements="str"),
            table_type=dict(type="str", choices=["OFFLINE", "REALTIME"]),
            short_names=dict(type="bool", default=False),
            include_segments=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    empty = empty_list_message(params, {"table": "name at least one table, or leave table out for every table"})
    if empty:
        module.fail_json(msg=empty)
    # Each table is summarised as soon as it is read and its views dropped: all tables' views at once can be
    # larger than the memory of the host. Short names need every server first, so they are put in at the end.
    tables, problems, servers = {}, [], set()
    try:
        for typed, config, ideal_state, external_view in read_tables(client, params["table"], params["table_type"]):
            if params["short_names"]:
                servers.update(instances_of(ideal_state, external_view))
            table = {"table_type": split_table_name(typed)[1]}
            table.update(table_assignment(ideal_state, external_view, table_replication(config)))
            if not params["include_segments"]:
                for view in ("ideal_state", "external_view"):
                    del table[view]["segments_to_servers"]
            tables[typed] = table
            problems.extend(problems_of(typed, table))
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read the segment assignment of %s" % (
            ", ".join(params["table"] or []) or "the tables"))

    names = {}
    if params["short_names"]:
        names = short_server_names(servers)
        for typed in tables:
            tables[typed] = rename_servers(tables[typed], names)

    result = dict(changed=False, tables=tables, problems=problems)
    if params["short_names"]:
        result["server_names"] = dict((short, full) for full, short in sorted(names.items()))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
