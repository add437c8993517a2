# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_scale_out_plan
short_description: Which Pinot servers a StatefulSet scale-out adds, and which an earlier run added but left empty
version_added: 0.1.0
description:
  - Names the Pinot server ids of the pods a scale-out of a StatefulSet from O(current_replicas) to O(replicas) adds
    (ordinals O(current_replicas) to O(replicas) - 1).
  - A run interrupted after the scale finds the StatefulSet already at the target. So that it finishes, the servers
    of ordinals below O(current_replicas) that Pinot does not list yet or that hold no segment replica in any ideal
    state count as new too (RV(_value.unfinished)).
  - The scale-out role uses it in its preflight.
extends_documentation_fragment:
  - pinotops.pinot.pod_instance_id
author:
  - pinotops maintainers (@pinotops)
positional: statefulset, current_replicas, replicas
options:
  _input:
    description:
      - The servers Pinot lists, as in RV(pinotops.pinot.pinot_instance_info#module:instances) with
        O(pinotops.pinot.pinot_instance_info#module:include_segments=true) (C(name), C(tags) and C(total_segments) are read).
    type: list
    elements: dict
    required: true
  statefulset:
    description: StatefulSet name; its pods are C(<statefulset>-<ordinal>).
    type: str
    required: true
  current_replicas:
    description: The StatefulSet's replica count now.
    type: int
    required: true
  replicas:
    description: The replica count after the scale-out.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Which servers does 4 -> 5 add?
  ansible.builtin.set_fact:
    plan: >-
      {{ servers.instances | pinotops.pinot.pinot_scale_out_plan('pinot-server', 4, 5, namespace='pinot-quickstart') }}
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    servers:
      description: Every new server id (the pods the scale adds, then RV(_value.unfinished)), by ordinal.
      type: list
      elements: str
      sample: [Server_pinot-server-4.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098]
    pods:
      description: Server id to its pod's name, for every id in RV(_value.servers).
      type: dict
      sample: {"Server_pinot-server-4.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098": pinot-server-4}
    added:
      description: The ids of the pods the scale adds (ordinals O(current_replicas) and up).
      type: list
      elements: str
    unfinished:
      description: Ids of existing pods that Pinot does not list or that hold no segment (an earlier run's new servers).
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.module_utils.names import HELM_INSTANCE_TEMPLATE, PodInstanceIds

DRAINED_TAG = "server_untagged"


def scale_out_plan(instances, statefulset, current_replicas, replicas,  # pylint: disable=too-many-arguments
                   template=HELM_INSTANCE_TEMPLATE, service="", namespace="", domain="cluster.local", port=8098):
    """{"servers", "pods", "added", "unfinished"} of a scale-out of `statefulset` to `replicas`."""
    try:
        ids = PodInstanceIds(statefulset, template, service=service or statefulset + "-headless", namespace=namespace,
                             domain=domain, port=port)
    except ValueError as exc:
        raise AnsibleFilterError("pinot_scale_out_plan: %s" % exc)
    current, target = int(current_replicas), int(replicas)

    listed = dict((item.get("name"), item) for item in instances or [])

    def empty(name):
        """Pinot does not list it, or it holds nothing and was not drained on purpose (server_untagged)."""
        item = listed.get(name)
        return item is None or (not (item.get("total_segments") or {}).get("ideal_state", 0)
                                and DRAINED_TAG not in (item.get("tags") or []))

    pods, added, unfinished = {}, [], []
    for ordinal in range(max(target, current)):
        pod, name = ids.pod(ordinal), ids.instance(ordinal)
        if current <= ordinal < target:
            added.append(name)
        elif ordinal < min(current, target) and empty(name):
            unfinished.append(name)
        else:
            continue
        pods[name] = pod
    servers = sorted(pods, key=lambda name: int(pods[name].rsplit("-", 1)[1]))
    return {"servers": servers, "pods": pods, "added": added, "unfinished": unfinished}


class FilterModule:
    def filters(self):
        return {"pinot_scale_out_plan": scale_out_plan}
