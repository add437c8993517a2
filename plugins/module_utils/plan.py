# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Planning a server removal: pure functions, no I/O.

Given what the controller says (server tags, tables with their tenant and
replication, ideal states), decide which tables are affected by removing some
servers and whether every affected table keeps its replication on the servers
that remain in its tenant. The decommission role refuses to start when it does
not ("never lower a table below its replication without saying so").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import segments_by_instance
from ansible_collections.pinotops.pinot.plugins.module_utils.names import HELM_INSTANCE_TEMPLATE, PodInstanceIds


def statefulset_instances(statefulset, target, current, known, template=HELM_INSTANCE_TEMPLATE, **fields):
    """Server ids to remove when `statefulset` goes from `current` to `target` replicas.

    Kubernetes removes the highest ordinals first, so these are ordinals
    target..current-1, plus any ordinal >= target whose id Pinot still
    knows (`known`): its pod is already gone, as after an interrupted run or
    the hand procedure's scale-first order. `template` and `fields`: see names.PodInstanceIds.
    """
    ids = PodInstanceIds(statefulset, template, **fields)
    ordinals = set(range(target, max(current, target)))
    ordinals.update(ordinal for ordinal in map(ids.ordinal, known) if ordinal is not None and ordinal >= target)
    return [ids.instance(ordinal) for ordinal in sorted(ordinals)]


def table_replication(table_config):
    """Replication of one typed table config: `replicasPerPartition` for realtime (when set), else `replication`."""
    segments_config = table_config.get("segmentsConfig") or {}
    value = None
    if table_config.get("tableType") == "REALTIME":
        value = segments_config.get("replicasPerPartition")
    if value in (None, ""):
        value = segments_config.get("replication")
    try:
        return int(value)
    except (TypeError, ValueError):
        return 1


def table_server_tag(table_config):
    """The tag a server must carry to host this typed table: `<tenant>_OFFLINE|_REALTIME`."""
    tenant = (table_config.get("tenants") or {}).get("server") or "DefaultTenant"
    return "%s_%s" % (tenant, table_config.get("tableType"))


def min_available_after(replicas, min_available_replicas):
    """Replicas of a moving segment Pinot keeps serving in a no-downtime rebalance; None when Pinot aborts it.

    Pinot's rule, TableRebalancer.rebalance (pinot-controller, org/apache/pinot/controller/helix/core/rebalance/
    TableRebalancer.java; the same from 0.11 to 1.4 for a replication of 1 or more): `replicas` is the fewest replicas
    the target assignment gives a segment to move. A minAvailableReplicas (minReplicasToKeepUpForNoDowntime) of 0 or
    more that is not less than it fails the rebalance ("Illegal config for minReplicasToKeepUpForNoDowntime: 1 ... must
    be less than number of replicas: 1, aborting the rebalance"); a negative one is how many replicas may be down at
    once, so max(replicas + value, 0) stay up.
    """
    if min_available_replicas >= 0:
        return None if min_available_replicas >= replicas else min_available_replicas
    return max(replicas + min_available_replicas, 0)


def downtime_reason(replication, min_available_replicas):
    """None when a table of this replication moves without downtime under `min_available_replicas`, else why not."""
    kept = min_available_after(replication, min_available_replicas)
    if kept is None:
        why = ("Pinot aborts its no-downtime rebalance, because min_available_replicas %d is not less than the "
               "replication %d" % (min_available_replicas, replication))
    elif kept <= 0:
        why = ("min_available_replicas %d keeps none of the %d replicas of a moving segment serving: every replica may "
               "move at once" % (min_available_replicas, replication))
    else:
        return None
    if replication <= 1:
        return "replication %d: a segment's only replica cannot keep serving while it moves (%s)" % (replication, why)
    return why


def plan_removal(removing, server_tags, tables, live, min_available_replicas=1):
    """Decide whether `removing` (server ids) can leave the cluster without lowering any table's replication.

    server_tags: {server id: [tags]} for every server Pinot knows.
    tables: {typed table: {"config": table config, "ideal_state": {segment: {instance: state}}}}.
    live: ids of the live instances.
    min_available_replicas: what the rebalance will send (see min_available_after).
    Returns {"tables": [...], "problems": [...], "safe": bool, "downtime_tables": [...]}: one entry per table whose tag
    a removed server carries or whose ideal state mentions one; a problem per table that
    would keep fewer live, tagged servers than its replication; the affected tables that cannot move without downtime
    (each entry says why in downtime_reason). Whether those may go with downtime is the caller's decision.
    """
    removing = set(removing)
    affected = []
    problems = []
    for table in sorted(tables):
        config = tables[table]["config"]
        ideal_state = tables[table].get("ideal_state") or {}
        tag = table_server_tag(config)
        replication = table_replication(config)
        held = dict((name, count) for name, count in segments_by_instance(ideal_state, instances=removing).items() if count)
        consuming = dict((name, count) for name, count in segments_by_instance(
            ideal_state, states=("CONSUMING",), instances=removing).items() if count)
        tagged = sorted(name for name, tags in server_tags.items() if tag in tags)
        if not held and not removing.intersection(tagged):
            continue
        remaining = [name for name in tagged if name not in removing]
        remaining_live = [name for name in remaining if name in live]
        entry = {
            "table": table,
            "server_tag": tag,
            "replication": replication,
            "segments_on_removed": held,
            "consuming_on_removed": consuming,
            "servers_before": tagged,
            "servers_after": remaining,
            "live_servers_after": remaining_live,
            "replication_after": min(replication, len(remaining_live)),
            "downtime_reason": downtime_reason(replication, min_available_replicas),
        }
        entry["moves_without_downtime"] = entry["downtime_reason"] is None
        affected.append(entry)
        if len(remaining_live) < replication:
            problems.append(
                "table %s needs %d live servers tagged %s, but only %d would remain (%s)%s" % (
                    table, replication, tag, len(remaining_live), ", ".join(remaining_live) or "none",
                    "; not live: %s" % ", ".join(sorted(set(remaining) - set(remaining_live)))
                    if len(remaining) > len(remaining_live) else ""))
    return {"tables": affected, "problems": problems, "safe": not problems,
            "downtime_tables": [entry["table"] for entry in affected if not entry["moves_without_downtime"]]}


def bytes_by_server(size_reply, table_type, servers):
    """{server: bytes on disk} of one typed table's segments on `servers`, from GET /tables/{t}/size?detailed=true.

    Servers Pinot reported no size for (down, or the reply has no figure) are left out.
    """
    section = (size_reply or {}).get("offlineSegments" if table_type == "OFFLINE" else "realtimeSegments") or {}
    totals = {}
    for segment in (section.get("segments") or {}).values():
        for server, info in ((segment or {}).get("serverInfo") or {}).items():
            size = (info or {}).get("diskSizeInBytes")
            if server in servers and isinstance(size, int) and size >= 0:
                totals[server] = totals.get(server, 0) + size
    return totals


# Where each figure of a plan comes from, written into the plan file so that a reviewer need not guess.
PLAN_SOURCES = {
    "computed": "segments, consuming, servers_after, replication and replication_after are computed by pinotops from "
                "the ideal states, instance tags and live instances the controller returned when the plan was made",
    "from_pinot": "bytes are the servers' own segment sizes from the controller's GET /tables/{table}/size (left out "
                  "where a server reported none)",
    "not_used": "Pinot's rebalance dry run is not asked: asked before the untag it answers 'already balanced', so it "
                "cannot show what the decommission will move",
}


def decommission_moves(removing, live, server_tags, tables, table_bytes):
    """Per server to remove, each affected table with what must move off it (see plan_removal for `tables`)."""
    servers = []
    for name in removing:
        moves = []
        for entry in tables:
            if name not in entry["segments_on_removed"] and name not in entry["servers_before"]:
                continue
            move = {"table": entry["table"], "segments": entry["segments_on_removed"].get(name, 0),
                    "consuming": entry["consuming_on_removed"].get(name, 0),
                    "servers_after": entry["live_servers_after"], "replication": entry["replication"],
                    "replication_after": entry["replication_after"]}
            size = (table_bytes.get(entry["table"]) or {}).get(name)
            if size is not None:
                move["bytes"] = size
            moves.append(move)
        servers.append({"name": name, "live": name in live, "tags": sorted(server_tags.get(name) or []),
                        "tables": moves})
    return servers


def plan_markdown(record):
    """A short Markdown summary of a decommission plan record, for a pull request or an approval node."""
    decision = record["decision"]
    lines = ["# Decommission plan `%s`" % record["hash"], "",
             "- Created: %s; Pinot cluster `%s`" % (record.get("created_at"), record["fingerprint"].get("cluster")),
             "- Remove: %s" % (", ".join("`%s`" % name for name in decision["remove"]) or "nothing")]
    statefulset = record["fingerprint"].get("statefulset")
    if statefulset:
        lines.append("- StatefulSet `%s/%s`: %s -> %s replicas" % (
            statefulset["namespace"], statefulset["name"], statefulset["replicas"], decision["target_replicas"]))
    lines += ["", "| Server | Table | Segments to move | Consuming | Bytes | Replication | Servers after |",
              "|---|---|---|---|---|---|---|"]
    for server in record["servers"]:
        for move in server["tables"] or [{"table": "(none)", "segments": 0, "consuming": 0, "servers_after": [],
                                          "replication": "", "replication_after": ""}]:
            lines.append("| `%s`%s | %s | %d | %d | %s | %s -> %s | %d |" % (
                server["name"], "" if server["live"] else " (not live)", move["table"], move["segments"],
                move["consuming"], move.get("bytes", "n/a"), move["replication"], move["replication_after"],
                len(move["servers_after"])))
    if record.get("problems"):
        lines += ["", "Problems: " + "; ".join(record["problems"])]
    lines += ["", "Figures: " + "; ".join("%s: %s" % item for item in sorted(PLAN_SOURCES.items())), ""]
    return "\n".join(lines)
