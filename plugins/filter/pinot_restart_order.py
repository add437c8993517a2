# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_restart_order
short_description: Which server pods a rolling restart restarts, in which order, and which it already did
version_added: 0.1.0
description:
  - From the pods of a StatefulSet (as M(kubernetes.core.k8s_info) returns them), the pods to restart one at a time -
    the highest ordinal first, or the pods named in O(chosen) in the order given.
  - With O(started_uids) (each pod's uid when the roll began, as recorded by an earlier run), a pod whose uid changed
    since, or that is gone right now, was deleted since the roll began - restarted - and is listed in
    RV(_value.skipped) rather than in RV(_value.todo).
  - The role C(pinotops.pinot.server_rolling_restart) uses it in its preflight.
author:
  - pinotops maintainers (@pinotops)
positional: statefulset
options:
  _input:
    description: The StatefulSet's pods (C(resources) of M(kubernetes.core.k8s_info)).
    type: list
    elements: dict
    required: true
  statefulset:
    description: StatefulSet name; its pods are C(<statefulset>-<ordinal>).
    type: str
    required: true
  chosen:
    description: Pod names to restart, in this order; empty for every pod, highest ordinal first.
    type: list
    elements: str
    default: []
  started_uids:
    description: Pod name to its uid when the roll began; empty when no roll is under way.
    type: dict
    default: {}
  routing_off:
    description:
      - The pod whose query routing the roll turned off last, as recorded on the StatefulSet. When that pod is still
        to do (a run was interrupted after turning its routing off and before deleting it), it comes first in
        RV(_value.todo), so that the resumed roll restarts it and turns its routing on again before another server goes.
    type: str
"""

EXAMPLES = r"""
- name: Which pods, in which order?
  ansible.builtin.set_fact:
    order: "{{ pods.resources | pinotops.pinot.pinot_restart_order('pinot-server') }}"
# order.todo is [pinot-server-3, pinot-server-2, pinot-server-1, pinot-server-0] for 4 pods
"""

RETURN = r"""
_value:
  description: The answer.
  type: dict
  contains:
    order:
      description:
        - Every selected pod, in the order the role handles them - RV(_value.skipped) first (a roll that resumes
          waits for them before it restarts another server), then RV(_value.todo).
      type: list
      elements: str
      sample: [pinot-server-3, pinot-server-2, pinot-server-1, pinot-server-0]
    todo:
      description: The pods still to restart, in order.
      type: list
      elements: str
    skipped:
      description: The pods recreated since the roll began (their uid changed), in order.
      type: list
      elements: str
    missing:
      description: Names in O(chosen) that are not pods of the StatefulSet.
      type: list
      elements: str
    uids:
      description: Pod name to its uid now, for the selected pods (V(null) for a pod of the roll that is gone right now).
      type: dict
"""

import re

from ansible.errors import AnsibleFilterError


def _ordinal(name, statefulset):
    match = re.match("^%s-(\\d+)$" % re.escape(statefulset), name or "")
    return int(match.group(1)) if match else None


def restart_order(pods, statefulset, chosen=None, started_uids=None, routing_off=None):
    """{"order", "todo", "skipped", "missing", "uids"} of a rolling restart of `statefulset`'s pods."""
    if not isinstance(pods, list):
        raise AnsibleFilterError("pinot_restart_order: expected a list of pods, got %r" % type(pods).__name__)
    uids = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        if _ordinal(meta.get("name"), statefulset) is not None:
            uids[meta["name"]] = meta.get("uid")
    started = dict(started_uids or {})
    # A pod of the roll that is gone right now was deleted since the roll began (its successor is on its way).
    for name in started:
        uids.setdefault(name, None)
    chosen = list(chosen or [])
    missing = [name for name in chosen if name not in uids]
    if chosen:
        order = [name for name in dict.fromkeys(chosen) if name in uids]
    else:
        order = sorted(uids, key=lambda name: _ordinal(name, statefulset), reverse=True)
    skipped = [name for name in order if name in started and started[name] != uids[name]]
    todo = [name for name in order if name not in skipped]
    if routing_off in todo:
        todo = [routing_off] + [name for name in todo if name != routing_off]
    # The restarted ones first: their replicas are back before the next server goes.
    return {"order": skipped + todo, "todo": todo, "skipped": skipped,
            "missing": missing, "uids": dict((name, uids[name]) for name in order)}


class FilterModule:
    def filters(self):
        return {"pinot_restart_order": restart_order}
