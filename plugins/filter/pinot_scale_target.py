# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_scale_target
short_description: The StatefulSet replica count that removes exactly the given Pinot servers
version_added: 0.1.0
description:
  - Maps server instance ids to the ordinals of a StatefulSet's pods and answers the replica count a scale-down needs
    to remove exactly those pods. Kubernetes removes the highest ordinals first, so this works only when the servers
    still running are the highest ordinals; otherwise RV(_value.problems) says which ordinals are in the way.
  - Servers whose ordinal is at or above the current replica count have no pod any more (an earlier scale-down);
    they need no scaling.
  - The decommission role uses it in its preflight when C(server_decommission_instances) is given with the scale step on.
extends_documentation_fragment:
  - pinotops.pinot.pod_instance_id
author:
  - pinotops maintainers (@pinotops)
positional: statefulset, current_replicas
options:
  _input:
    description: Server instance ids.
    type: list
    elements: str
    required: true
  statefulset:
    description: StatefulSet name; its pods are C(<statefulset>-<ordinal>).
    type: str
    required: true
  current_replicas:
    description: The StatefulSet's replica count now.
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Which replica count removes these servers?
  ansible.builtin.set_fact:
    scale: >-
      {{ servers | pinotops.pinot.pinot_scale_target('pinot-server', 4, service='pinot-server-headless',
                                                     namespace='pinot-quickstart') }}
# scale.replicas is 3 for [Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098]
"""

RETURN = r"""
_value:
  description: The answer.
  type: dict
  contains:
    replicas:
      description: The replica count that removes the servers' pods; V(null) when RV(_value.problems) is not empty.
      type: int
      sample: 3
    ordinals:
      description: Server id to its pod's ordinal (V(null) for an id that is not a pod of the StatefulSet).
      type: dict
      sample: {"Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098": 3}
    problems:
      description: Why no scale-down removes exactly these servers, one sentence each; empty when one does.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.module_utils.names import HELM_INSTANCE_TEMPLATE, PodInstanceIds


def scale_target(instances, statefulset, current_replicas, template=HELM_INSTANCE_TEMPLATE,
                 service="", namespace="", domain="cluster.local", port=8098):
    """{"replicas", "ordinals", "problems"} for removing `instances` by scaling `statefulset` down."""
    try:
        ids = PodInstanceIds(statefulset, template, service=service or statefulset + "-headless", namespace=namespace,
                             domain=domain, port=port)
    except ValueError as exc:
        raise AnsibleFilterError("pinot_scale_target: %s" % exc)
    current = int(current_replicas)
    ordinals = dict((name, ids.ordinal(name)) for name in instances)
    problems = []
    strangers = sorted(name for name, ordinal in ordinals.items() if ordinal is None)
    if strangers:
        problems.append("%s %s not a pod of StatefulSet %s (its ids look like %s)" % (
            ", ".join(strangers), "is" if len(strangers) == 1 else "are", statefulset,
            ids.instance(0)))
    running = sorted(set(o for o in ordinals.values() if o is not None and o < current))
    wanted = list(range(current - len(running), current))
    if running != wanted:
        in_the_way = sorted(set(range(min(running), current)) - set(running))
        problems.append(
            "Kubernetes removes the highest ordinals first: StatefulSet %s has %d replicas (ordinals 0-%d), so removing "
            "ordinal%s %s means removing ordinal%s %s too" % (
                statefulset, current, current - 1, "s" if len(running) > 1 else "", ", ".join(map(str, running)),
                "s" if len(in_the_way) > 1 else "", ", ".join(map(str, in_the_way))))
    target = current - len(running)
    if not problems and target < 1:
        problems.append("removing every pod of StatefulSet %s leaves no server" % statefulset)
    return {"replicas": None if problems else target, "ordinals": ordinals, "problems": problems}


class FilterModule:
    def filters(self):
        return {"pinot_scale_target": scale_target}
