#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_decommission_plan_info
short_description: Check whether Apache Pinot servers can be removed without lowering any table's replication
version_added: 0.1.0
description:
  - Reads the servers, tables and ideal states of a Pinot cluster (and the external views of the affected tables) and
    answers, before anything changes, what removing
    some servers would affect - which tables hold segments on them or are served by their tenant tags, and whether
    every such table keeps at least its replication on the live servers that remain in its tenant.
  - The decommission role runs it as its preflight and refuses to start when RV(safe) is false, or when a table in
    RV(downtime_tables) was not allowed to move with downtime.
  - Read-only; runs the same in check mode.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.INFO_ATTRIBUTES
options:
  instances:
    description:
      - Ids of the servers to remove.
      - Ids Pinot does not know are listed in RV(missing); they hold nothing, so they do not make the plan unsafe.
      - Exactly one of O(instances) and O(statefulset) is required. An empty list is refused.
    type: list
    elements: str
  statefulset:
    description:
      - Remove the servers a StatefulSet scale-down removes. Kubernetes removes the highest ordinals first, so the
        servers are ordinals O(statefulset.replicas) up to O(statefulset.current_replicas) - 1, plus any higher ordinal
        Pinot still knows (its pod is already gone, for example after an interrupted run).
    type: dict
    suboptions:
      name:
        description: StatefulSet name.
        type: str
        default: pinot-server
      namespace:
        description: Its namespace.
        type: str
        default: pinot-quickstart
      replicas:
        description: The replica count after the scale-down.
        type: int
        required: true
      current_replicas:
        description: The replica count now.
        type: int
        required: true
      headless_service:
        description: The governing headless service; defaults to C(<name>-headless) as in the Helm chart.
        type: str
      cluster_domain:
        description: The Kubernetes cluster domain.
        type: str
        default: cluster.local
      port:
        description: The servers' netty port, the last part of their ids.
        type: int
        default: 8098
      instance_template:
        description:
          - How a pod's instance id is built. The default matches the Helm chart
            (C(pinot.set.instance.id.to.hostname=true)); change it when C(pinot.server.instance.id) is customised.
        type: str
        default: "Server_{pod}.{service}.{namespace}.svc.{domain}_{port}"
  min_available_replicas:
    description:
      - The O(pinotops.pinot.pinot_table_rebalance#module:min_available_replicas) the rebalance will use, the replicas of
        every segment that stay serving while it moves; a negative value is the number of replicas that may be down at
        once. Same default as there.
      - Decides RV(tables[].moves_without_downtime) and RV(downtime_tables) by Pinot's rule. Pinot aborts a no-downtime
        rebalance when a value of 0 or more is not less than the table's replication, and a value that leaves 0
        replicas up lets every replica of a segment move at once.
    type: int
    default: 1
  plan_statefulset:
    description:
      - The StatefulSet a plan scales, recorded in RV(plan.fingerprint) (its replicas now) and RV(plan.decision) (the
        replica count after). Omit when no StatefulSet is scaled.
    type: dict
    suboptions:
      name:
        description: StatefulSet name.
        type: str
        required: true
      namespace:
        description: Its namespace.
        type: str
        required: true
      replicas:
        description: Its replica count now.
        type: int
        required: true
      target_replicas:
        description: The replica count the run scales it to.
        type: int
        required: true
  plan:
    description:
      - The text of a plan file an earlier (check mode) run wrote, to check against the cluster now (or that text
        already parsed into a dictionary, as ansible-core 2.18 templating hands it over). The result lists in
        RV(plan_refusals) every reason not to apply it.
    type: raw
  plan_hash:
    description:
      - The hash of the approved plan (RV(plan.hash) of the plan run). Listed in RV(plan_refusals) when the cluster
        or the request no longer hashes to it, or when it is not a hash.
    type: str
  plan_max_age:
    description:
      - Seconds; a plan O(plan) older than this is refused. V(0) accepts any age. Only a plan file has a creation
        time, so with O(plan_hash) alone the age is not checked.
    type: int
    default: 0
  include_bytes:
    description: Ask Pinot for the size of the affected tables' segments (the C(bytes) in RV(plan.servers)).
    type: bool
    default: true
notes:
  - A table's replication is C(segmentsConfig.replicasPerPartition) for realtime tables (when set), otherwise
    C(segmentsConfig.replication).
  - Servers that are not live do not count towards a table's remaining replicas, so a second server that died during
    a decommission shows up here as a problem.
"""

EXAMPLES = r"""
- name: Can pinot-server-3 go?
  pinotops.pinot.pinot_decommission_plan_info:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instances:
      - Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
  register: plan

- name: Refuse when a table would lose replicas
  ansible.builtin.assert:
    that: plan.safe
    fail_msg: "{{ plan.problems | join('; ') }}"

- name: Refuse when a table cannot move without downtime
  ansible.builtin.assert:
    that: plan.downtime_tables | length == 0
    fail_msg: "{{ plan.tables | rejectattr('moves_without_downtime') | map(attribute='downtime_reason') | join('; ') }}"
"""

RETURN = r"""
safe:
  description:
    - Whether every affected table keeps its replication on the live servers that remain.
    - It does not look at downtime while the segments move; see RV(downtime_tables).
  returned: always
  type: bool
  sample: true
problems:
  description: One sentence per table that would fall below its replication.
  returned: always
  type: list
  elements: str
  sample: ["table events_REALTIME needs 2 live servers tagged DefaultTenant_REALTIME, but only 1 would remain (Server_a_8098)"]
tables:
  description: The tables the removal affects.
  returned: always
  type: list
  elements: dict
  contains:
    table:
      description: Typed table name.
      type: str
      sample: events_REALTIME
    server_tag:
      description: The tag a server must carry to host the table.
      type: str
      sample: DefaultTenant_REALTIME
    replication:
      description: The table's replication.
      type: int
      sample: 2
    segments_on_removed:
      description: Per removed server, the number of segments its ideal state still assigns to it (servers holding none are left out).
      type: dict
      sample: {"Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098": 4}
    servers_before:
      description: Servers carrying the table's tag now.
      type: list
      elements: str
    servers_after:
      description: Servers that would carry it after the removal.
      type: list
      elements: str
    live_servers_after:
      description: The live ones among RV(tables[].servers_after).
      type: list
      elements: str
    moves_without_downtime:
      description:
        - Whether Pinot can move the table's segments while every one keeps at least one replica serving, under
          O(min_available_replicas).
        - False when the replication is 1, when Pinot would abort the no-downtime rebalance (O(min_available_replicas)
          of 0 or more and not less than the replication), or when O(min_available_replicas) leaves 0 replicas serving.
      type: bool
      sample: true
    downtime_reason:
      description: Why RV(tables[].moves_without_downtime) is false; V(null) when it is true.
      type: str
      sample: "replication 1: a segment's only replica cannot keep serving while it moves (Pinot aborts its no-downtime
        rebalance, because min_available_replicas 1 is not less than the replication 1)"
    servers_to_partitions:
      description:
        - Per server, the partitions it serves now as the external view says (replicas C(ONLINE) or C(CONSUMING)),
          servers in natural order. Segments without a partition (offline, uploaded) are not listed.
        - The decommission role reports it as the map before the removal.
      type: dict
      sample: {"Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098": [0, 1]}
downtime_tables:
  description:
    - The affected tables (RV(tables[].table)) that cannot be moved without downtime under O(min_available_replicas),
      each with its reason in RV(tables[].downtime_reason).
  returned: always
  type: list
  elements: str
  sample: [airlineStats_OFFLINE]
instances:
  description: The servers asked about, as Pinot knows them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Instance id.
      type: str
    live:
      description: Whether it is connected to the cluster.
      type: bool
    tags:
      description: Its tags.
      type: list
      elements: str
    segments:
      description: Segments its ideal state assigns to it, summed over all tables.
      type: int
targets:
  description: The server ids asked about (O(instances), or those derived from O(statefulset)).
  returned: always
  type: list
  elements: str
  sample: ["Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098"]
missing:
  description: Ids in RV(targets) that Pinot does not know (already dropped, or a wrong name).
  returned: always
  type: list
  elements: str
  sample: []
plan:
  description:
    - The plan as a record to review and later apply - what the decommission role writes to its plan file.
    - Its RV(plan.hash) is over RV(plan.fingerprint) and RV(plan.decision) only, so the same request on an unchanged
      cluster hashes the same; segment counts and bytes are not hashed (a realtime segment commit changes them).
  returned: always
  type: dict
  contains:
    format:
      description: The plan format, 1.
      type: int
    kind:
      description: V(server_decommission).
      type: str
    created_at:
      description: When it was computed (UTC, ISO 8601).
      type: str
    hash:
      description: sha256 (64 hex characters) of the format, kind, fingerprint and decision.
      type: str
    decision:
      description: What the run does - C(remove) (server ids) and C(target_replicas) (V(null) without a StatefulSet).
      type: dict
    fingerprint:
      description:
        - The cluster state the plan depends on - C(cluster) (Pinot cluster name), C(statefulset) (namespace, name,
          replicas), C(instances) (every server's sorted tags and liveness), C(tables) (per affected table its server
          tag, replication and C(layout), a hash of which servers its ideal state assigns each realtime partition or
          other segment to; a segment commit does not change it, a rebalance does).
      type: dict
    servers:
      description:
        - Per server to remove - C(name), C(live), C(tags) and C(tables) - per affected table C(segments) (segments
          its ideal state assigns to the server), C(consuming) (of which consuming), C(bytes) (Pinot's figure, when a
          server reported one), C(replication), C(replication_after) and C(servers_after) (the live servers that remain
          tagged for it).
      type: list
      elements: dict
    problems:
      description: RV(problems).
      type: list
      elements: str
    sources:
      description: Which figures pinotops computes and which come from Pinot.
      type: dict
plan_markdown:
  description: A short Markdown summary of RV(plan), for a pull request or an approval node.
  returned: always
  type: str
plan_refusals:
  description:
    - Why O(plan) or O(plan_hash) may not be applied to the cluster as it is now (another cluster or StatefulSet, an
      edited plan, too old, and each change since the plan - server gone, new table, tags changed, replicas changed).
    - Empty when neither was given, or when the cluster is still in the state the plan was computed for.
  returned: always
  type: list
  elements: str
  sample: ["cluster changed since the plan: tags changed on Server_a_8098: DefaultTenant_OFFLINE, now none"]
"""

import datetime

from ansible_collections.pinotops.pinot.plugins.module_utils.args import empty_list_message
from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import view_summary
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.names import instance_type, split_table_name
from ansible_collections.pinotops.pinot.plugins.module_utils.plan import (PLAN_SOURCES, bytes_by_server, decommission_moves,
                                                                          plan_markdown, plan_removal, statefulset_instances)
from ansible_collections.pinotops.pinot.plugins.module_utils.plan_record import (PLAN_FORMAT, fingerprint, parse_plan,
                                                                                 plan_hash, plan_refusals)

KIND = "server_decommission"


def read_cluster(client):
    """(server tags, tables with config and ideal state, live ids) as plan_removal wants them."""
    server_tags = {}
    for name in client.list_instances():
        if instance_type(name) == "server":
            config = client.get_instance(name)
            if config is not None:
                server_tags[name] = config.get("tags") or []
    tables = {}
    for table, table_type in client.typed_tables():
        config = client.get_table_config(table).get(table_type)
        if config is None:  # deleted while we were reading
            continue
        tables[table] = {"config": config, "ideal_state": client.ideal_state(table, table_type).get(table_type, {})}
    return server_tags, tables, set(client.live_instances())


def targets_of(module, sts, known):
    """Server ids a scale-down of the StatefulSet removes (see plan.statefulset_instances)."""
    if not 0 <= sts["replicas"] <= sts["current_replicas"]:
        module.fail_json(msg="statefulset.replicas (%d) must be between 0 and current_replicas (%d): a decommission only "
                             "lowers the replica count" % (sts["replicas"], sts["current_replicas"]))
    try:
        return statefulset_instances(
            sts["name"], sts["replicas"], sts["current_replicas"], known, template=sts["instance_template"],
            service=sts["headless_service"] or sts["name"] + "-headless", namespace=sts["namespace"],
            domain=sts["cluster_domain"], port=sts["port"])
    except (KeyError, ValueError) as exc:
        module.fail_json(msg="statefulset.instance_template %r cannot be used: %s; it may use {pod}, {service}, "
                             "{namespace}, {domain} and {port}" % (sts["instance_template"], exc))


def main():
    module = PinotModule(
        argument_spec=dict(
            instances=dict(type="list", elements="str"),
            statefulset=dict(type="dict", options=dict(
                name=dict(type="str", default="pinot-server"),
                namespace=dict(type="str", default="pinot-quickstart"),
                replicas=dict(type="int", required=True),
                current_replicas=dict(type="int", required=True),
                headless_service=dict(type="str"),
                cluster_domain=dict(type="str", default="cluster.local"),
                port=dict(type="int", default=8098),
                instance_template=dict(type="str", default="Server_{pod}.{service}.{namespace}.svc.{domain}_{port}"),
            )),
            min_available_replicas=dict(type="int", default=1),
            plan_statefulset=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                namespace=dict(type="str", required=True),
                replicas=dict(type="int", required=True),
                target_replicas=dict(type="int", required=True),
            )),
            plan=dict(type="raw"),
            plan_hash=dict(type="str"),
            plan_max_age=dict(type="int", default=0),
            include_bytes=dict(type="bool", default=True),
        ),
        mutually_exclusive=[("instances", "statefulset")],
        required_one_of=[("instances", "statefulset")],
        supports_check_mode=True,
    )
    empty = empty_list_message(module.params, {"instances": "name at least one server id, or use statefulset"})
    if empty:
        module.fail_json(msg=empty)
    try:
        server_tags, tables, live = read_cluster(module.client)
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read the cluster to plan the removal")
    wanted = module.params["instances"] if module.params["instances"] is not None else targets_of(module, module.params["statefulset"], server_tags)
    not_servers = [name for name in wanted if instance_type(name) != "server"]
    if not_servers:
        module.fail_json(msg="instances must be server ids (Server_...); not servers: %s" % ", ".join(not_servers))
    present = [name for name in wanted if name in server_tags]
    plan = plan_removal(present, server_tags, tables, live, module.params["min_available_replicas"])
    try:
        for entry in plan["tables"]:
            table_type = split_table_name(entry["table"])[1]
            external_view = module.client.external_view(entry["table"], table_type).get(table_type) or {}
            entry["servers_to_partitions"] = view_summary(external_view)["servers_to_partitions"]
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read the external views of the tables the removal affects")
    instances = []
    for name in present:
        held = sum(entry["segments_on_removed"].get(name, 0) for entry in plan["tables"])
        instances.append({"name": name, "live": name in live, "tags": server_tags[name], "segments": held})
    try:
        record = plan_record(module, present, server_tags, tables, live, plan)
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read the Pinot cluster name for the plan's fingerprint")
    given = None
    refusals = []
    if module.params["plan"] is not None:
        given, error = parse_plan(module.params["plan"])
        refusals = [error] if error else []
    if not refusals:
        refusals = plan_refusals(record, given_hash=module.params["plan_hash"], plan=given,
                                 max_age=module.params["plan_max_age"], now=utc_now())
    module.exit_json(changed=False, safe=plan["safe"], problems=plan["problems"], tables=plan["tables"],
                     downtime_tables=plan["downtime_tables"],
                     instances=instances, targets=wanted, missing=sorted(set(wanted) - set(present)),
                     plan=record, plan_markdown=plan_markdown(record), plan_refusals=refusals)


def utc_now():
    """Now, in UTC, without a time zone (as plan_record.parse_time reads a plan's created_at)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def plan_record(module, present, server_tags, tables, live, plan):
    """The reviewable plan: the decision, the fingerprint of the state it depends on, its hash, and per server the moves."""
    sts = module.params["plan_statefulset"]
    affected = dict((entry["table"], {"server_tag": entry["server_tag"], "replication": entry["replication"],
                                      "ideal_state": tables[entry["table"]].get("ideal_state")})
                    for entry in plan["tables"])
    state = fingerprint(module.client.cluster_name(), server_tags, live, affected,
                        statefulset=dict((key, sts[key]) for key in ("namespace", "name", "replicas")) if sts else None)
    decision = {"remove": sorted(present), "target_replicas": sts["target_replicas"] if sts else None}
    table_bytes = {}
    if module.params["include_bytes"]:
        for entry in plan["tables"]:
            try:
                reply = module.client.table_size(entry["table"])
            except PinotError:  # the figure is optional: a controller that cannot size a table leaves it out
                continue
            table_bytes[entry["table"]] = bytes_by_server(reply, split_table_name(entry["table"])[1], set(present))
    return {"format": PLAN_FORMAT, "kind": KIND, "hash": plan_hash(KIND, state, decision),
            "created_at": utc_now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "decision": decision, "fingerprint": state,
            "servers": decommission_moves(sorted(present), live, server_tags, plan["tables"], table_bytes),
            "problems": plan["problems"], "sources": PLAN_SOURCES}


if __name__ == "__main__":
    main()
