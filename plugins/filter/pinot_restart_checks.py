# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_restart_checks
short_description: What restarting one Pinot server would cost, and whether it serves everything again
version_added: 0.1.0
description:
  - From the tables' ideal state and external view (RV(pinotops.pinot.pinot_segment_assignment_info#module:tables)
    read with C(include_segments=true)), three answers about one server.
  - RV(_value.sole_replica_tables) - tables where the server holds a segment (ideal state) that no other server
    serves (C(ONLINE) or C(CONSUMING) in the external view); restarting the server makes those segments unavailable.
  - RV(_value.not_served) - replicas the ideal state gives the server that the external view does not serve yet (a
    restarted server is back when this is empty - the external view equals the ideal state for it).
  - RV(_value.serving_tables) - tables the external view still serves on the server (brokers route only to replicas
    the external view serves, so after the server is disabled this empty means no broker routes to it).
  - The role C(pinotops.pinot.server_rolling_restart) uses it before, during and after each restart.
author:
  - pinotops maintainers (@pinotops)
positional: server
options:
  _input:
    description: Per typed table name, the views (C(tables) of M(pinotops.pinot.pinot_segment_assignment_info)).
    type: dict
    required: true
  server:
    description: The server's instance id.
    type: str
    required: true
  returning:
    description:
      - Instance ids of servers that are coming back before this one is restarted (a resumed roll waits for the
        servers it restarted before it restarts another). Their ideal-state replicas count as serving for
        RV(_value.sole_replica_tables), even while the external view does not serve them yet.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Tables whose segments on pinot-server-1 have no other replica serving
  ansible.builtin.set_fact:
    alone: "{{ (view.tables | pinotops.pinot.pinot_restart_checks(server_id)).sole_replica_tables }}"
"""

RETURN = r"""
_value:
  description: The answers.
  type: dict
  contains:
    sole_replica_tables:
      description: Typed tables with a segment only this server holds among the servers serving it.
      type: list
      elements: str
      sample: [events_r1_REALTIME]
    not_served:
      description: C(<table> <segment>) per replica the ideal state gives the server that the external view does not serve.
      type: list
      elements: str
      sample: ["events_REALTIME events__1__0__20260101T0000Z"]
    serving_tables:
      description: Typed tables the external view serves on the server.
      type: list
      elements: str
      sample: [events_REALTIME, stats_OFFLINE]
"""

from ansible.errors import AnsibleFilterError


def restart_checks(tables, server, returning=None):
    """{"sole_replica_tables", "not_served", "serving_tables"} for `server` over the tables' two views."""
    sole, missing, serving = [], [], []
    returning = set(returning or []) - set([server])
    for table, view in sorted((tables or {}).items()):
        ideal = (view.get("ideal_state") or {}).get("segments_to_servers")
        external = view.get("external_view") or {}
        served = external.get("segments_to_servers")
        if ideal is None or served is None:
            raise AnsibleFilterError("pinot_restart_checks: %s has no segments_to_servers; read the views with "
                                     "include_segments=true" % table)
        for segment, servers in sorted(ideal.items()):
            if server not in servers:
                continue
            others = (set(served.get(segment) or []) | (returning & set(servers))) - set([server])
            if not others and table not in sole:
                sole.append(table)
            if server not in (served.get(segment) or []):
                missing.append("%s %s" % (table, segment))
        if (external.get("segments_per_server") or {}).get(server):
            serving.append(table)
    return {"sole_replica_tables": sole, "not_served": missing, "serving_tables": serving}


class FilterModule:
    def filters(self):
        return {"pinot_restart_checks": restart_checks}
