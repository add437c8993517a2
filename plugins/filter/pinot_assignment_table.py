# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_assignment_table
short_description: Servers, segments and partitions of Pinot tables as aligned text lines
version_added: 0.1.0
description:
  - Turns the C(tables) of M(pinotops.pinot.pinot_segment_assignment_info) (or a dict of table name to one view with
    C(segments_per_server) and C(servers_to_partitions)) into lines a person can read - per table, one row per server
    with the segments it serves and, where the table has partitions, which ones.
  - With O(after), each table shows the view before, then the view after.
  - Servers are named by their pod (V(pinot-server-3)) where the instance id is a host name, in natural order.
  - Partitions are written as ranges (V(0-3, 7)).
  - Returns a list of lines, so that C(ansible.builtin.debug) prints one line per row at any verbosity.
author:
  - pinotops maintainers (@pinotops)
positional: after
options:
  _input:
    description:
      - Table name to its view. A view is the C(external_view) (used when present) of a table of
        M(pinotops.pinot.pinot_segment_assignment_info), or any dict with C(segments_per_server) and
        C(servers_to_partitions) (server to list of partitions).
    type: dict
    required: true
  after:
    description: The same shape, read after a change; each table then shows before and after.
    type: dict
"""

EXAMPLES = r"""
- name: Read the assignment
  pinotops.pinot.pinot_segment_assignment_info:
    table: events
    include_segments: false
  register: assignment

- name: Print servers, segments and partitions
  ansible.builtin.debug:
    msg: "{{ assignment.tables | pinotops.pinot.pinot_assignment_table }}"

# before and after a change, each table in turn
- name: Print the view before and after
  ansible.builtin.debug:
    msg: "{{ before.tables | pinotops.pinot.pinot_assignment_table(after.tables) }}"
"""

RETURN = r"""
_value:
  description: Text lines, for example C(events_REALTIME), C(  server          segments  partitions),
    C(  pinot-server-0        12  0-3).
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import natural_key, short_server_names


def _view(value):
    """The view of one table entry: its external view when it is a pinot_segment_assignment_info entry."""
    if not isinstance(value, dict):
        raise AnsibleFilterError("pinot_assignment_table: each table must map to a dict, got %r" % (value,))
    return value.get("external_view") or value


def partition_ranges(partitions):
    """[0, 1, 2, 3, 7] -> '0-3, 7'."""
    numbers = sorted(set(int(p) for p in partitions))
    parts = []
    start = prev = None
    for number in numbers + [None]:
        if start is not None and number == prev + 1:
            prev = number
            continue
        if start is not None:
            parts.append(str(start) if start == prev else "%d-%d" % (start, prev))
        start = prev = number
    return ", ".join(parts)


def table_rows(view, names):
    """[(server short name, segments, partitions text)] of one view, servers in natural order."""
    counts = view.get("segments_per_server") or {}
    partitions = view.get("servers_to_partitions") or {}
    servers = sorted(set(counts) | set(partitions), key=lambda server: natural_key(names[server]))
    return [(names[server], counts.get(server), partition_ranges(partitions.get(server) or [])) for server in servers]


def format_rows(rows, with_partitions, indent="  "):
    if not rows:
        return [indent + "(no server serves a segment)"]
    header = ("server", "segments", "partitions")
    width = max(len(header[0]), max(len(row[0]) for row in rows))
    count_width = len(header[1])
    lines = []
    for server, count, parts in [header] + [(r[0], "?" if r[1] is None else str(r[1]), r[2] or "-") for r in rows]:
        line = "%s%s  %s" % (indent, server.ljust(width), count.rjust(count_width))
        if with_partitions:
            line += "  " + parts
        lines.append(line.rstrip())
    return lines


def assignment_table(tables, after=None):
    """Lines per table: its name, then server / segments / partitions rows (before, then after when given)."""
    if not isinstance(tables, dict) or (after is not None and not isinstance(after, dict)):
        raise AnsibleFilterError("pinot_assignment_table expects dicts of table name to view")
    views = [dict((name, _view(value)) for name, value in tables.items())]
    if after is not None:
        views.append(dict((name, _view(value)) for name, value in after.items()))
    servers = set()
    for side in views:
        for view in side.values():
            servers.update(view.get("segments_per_server") or {})
            servers.update(view.get("servers_to_partitions") or {})
    names = short_server_names(servers)
    lines = []
    for table in sorted(set().union(*views), key=natural_key):
        shown = [side.get(table) for side in views]
        # Offline and uploaded segments carry no partition: the column is left out rather than shown empty.
        with_partitions = any(parts for view in shown if view
                              for parts in (view.get("servers_to_partitions") or {}).values())
        lines.append(table)
        for label, view in zip(("before", "after"), shown):
            indent = "  "
            if after is not None:
                lines.append("  %s:" % label)
                indent = "    "
            if view is None:
                lines.append(indent + "(not read)")
                continue
            lines.extend(format_rows(table_rows(view, names), with_partitions, indent))
    return lines


class FilterModule:
    def filters(self):
        return {"pinot_assignment_table": assignment_table}
