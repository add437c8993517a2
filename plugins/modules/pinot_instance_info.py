#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_instance_info
short_description: List Apache Pinot instances with their tags, liveness and segments
version_added: 0.1.0
description:
  - Lists the instances (controllers, brokers, servers, minions) the Pinot controller knows, dead ones included,
    with type, host, port, tags, whether they are enabled and whether they are live.
  - Optionally counts, per instance and table, the segments it holds in the ideal state and the external view
    (what it should serve and what it serves), which tells whether a server still holds data.
  - Read-only; runs the same in check mode.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.INFO_ATTRIBUTES
options:
  instances:
    description:
      - Only these instance ids, for example V(Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098).
      - Ids Pinot does not know are listed in RV(missing) rather than failing the task.
      - An empty list is refused; leave O(instances) out to list every instance.
      - O(name) is the same option under its first name.
    type: list
    elements: str
    aliases: [name]
  type:
    description:
      - Only instances of these types (Pinot derives the type from the id's prefix).
      - An empty list is refused; leave O(type) out to list every type.
    type: list
    elements: str
    choices: [controller, broker, server, minion]
  tag:
    description:
      - Only instances carrying this tag, for example V(DefaultTenant_OFFLINE) or V(server_untagged).
    type: str
  include_segments:
    description:
      - Also count, per instance and table, the segments in the ideal state and in the external view.
      - Reads the ideal state and external view of every table (two calls per table), so it is slower on large clusters.
      - O(segments) is the same option under its first name.
    type: bool
    default: false
    aliases: [segments]
"""

EXAMPLES = r"""
- name: List every server with its tags and liveness
  pinotops.pinot.pinot_instance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    type: [server]
  register: servers

- name: Does pinot-server-3 still hold segments?
  pinotops.pinot.pinot_instance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instances: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    include_segments: true
  register: server3

- name: Show what it holds
  ansible.builtin.debug:
    msg: "{{ server3.instances[0].segments }}"

- name: Servers that were drained
  pinotops.pinot.pinot_instance_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    tag: server_untagged
"""

RETURN = r"""
instances:
  description: The matching instances, sorted by id.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance id.
      type: str
      sample: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    type:
      description: V(controller), V(broker), V(server) or V(minion), from the id's prefix; V(null) if unrecognised.
      type: str
      sample: server
    host:
      description: Host name Pinot routes to.
      type: str
      sample: pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local
    port:
      description: Port Pinot routes to (Pinot stores it as a string).
      type: str
      sample: "8098"
    tags:
      description: Tenant tags.
      type: list
      elements: str
      sample: [DefaultTenant_OFFLINE, DefaultTenant_REALTIME]
    enabled:
      description: Whether the instance is enabled in Helix.
      type: bool
    live:
      description: Whether the instance is connected to the cluster now.
      type: bool
    shutdown_in_progress:
      description:
        - Pinot's C(shutdownInProgress) flag of the instance. A server sets it while it stops, and also while it
          starts, until it has loaded its segments; brokers route no query to it meanwhile, so a server is ready
          to serve when it is live and this is V(false).
        - V(null) when the controller does not report it (Pinot before 1.x answers without it).
      type: bool
      sample: false
    segments:
      description:
        - Only with O(include_segments=true). Per typed table name, the number of segments this instance holds in the
          ideal state and in the external view; tables where it holds none are left out.
      type: dict
      returned: when O(include_segments=true)
      sample: {"events_REALTIME": {"ideal_state": 4, "external_view": 4}}
    total_segments:
      description: Only with O(include_segments=true). Segments summed over all tables, in the ideal state and the external view.
      type: dict
      returned: when O(include_segments=true)
      sample: {"ideal_state": 4, "external_view": 4}
missing:
  description: Ids given in O(instances) that Pinot does not know.
  returned: always
  type: list
  elements: str
  sample: []
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import segments_by_instance
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import instance_type


def segment_counts(client):
    """{instance: {typed table: {"ideal_state": n, "external_view": n}}} over every table."""
    counts = {}
    for table, table_type in client.typed_tables():
        for view_name, read in (("ideal_state", client.ideal_state), ("external_view", client.external_view)):
            view = read(table, table_type).get(table_type, {})
            for instance, count in segments_by_instance(view).items():
                per_table = counts.setdefault(instance, {}).setdefault(table, {"ideal_state": 0, "external_view": 0})
                per_table[view_name] = count
    return counts


def describe(config, live):
    name = config["instanceName"]
    return {
        "name": name,
        "type": instance_type(name),
        "host": config.get("hostName"),
        "port": config.get("port"),
        "tags": config.get("tags") or [],
        "enabled": config.get("enabled"),
        "live": name in live,
        "shutdown_in_progress": config.get("shutdownInProgress"),
    }


def main():
    module = PinotModule(
        argument_spec=dict(
            instances=dict(type="list", elements="str", aliases=["name"]),
            type=dict(type="list", elements="str", choices=["controller", "broker", "server", "minion"]),
            tag=dict(type="str"),
            include_segments=dict(type="bool", default=False, aliases=["segments"]),
        ),
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    module.fail_on_empty_list("instances", "give at least one instance id, or leave instances out to list every instance")
    module.fail_on_empty_list("type", "give at least one type, or leave type out to list every type")
    try:
        known = client.list_instances()
        wanted = params["instances"] if params["instances"] is not None else known
        missing = sorted(name for name in wanted if name not in known)
        names = sorted(name for name in wanted if name in known and
                       (not params["type"] or instance_type(name) in params["type"]))
        live = set(client.live_instances())
        instances = []
        for name in names:
            config = client.get_instance(name)
            if config is None:  # dropped between the two calls
                continue
            if params["tag"] and params["tag"] not in (config.get("tags") or []):
                continue
            instances.append(describe(config, live))
        if params["include_segments"]:
            counts = segment_counts(client)
            for instance in instances:
                per_table = counts.get(instance["name"], {})
                instance["segments"] = per_table
                instance["total_segments"] = {
                    view: sum(table[view] for table in per_table.values()) for view in ("ideal_state", "external_view")}
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not list the instances")
    module.exit_json(changed=False, instances=instances, missing=missing)


if __name__ == "__main__":
    main()
