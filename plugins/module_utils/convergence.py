# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Convergence arithmetic of one typed table: what a rebalance moves, and how far it is (pure, no I/O).

Views are what `/tables/{t}/idealstate` and `/externalview` return for one table type,
{segment: {instance: state}}; a target is Pinot's dry-run `segmentAssignment`, of the same shape.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import SERVING_STATES


def assigned(replicas):
    """Instances a segment is assigned to (every state but OFFLINE)."""
    return set(instance for instance, state in (replicas or {}).items() if state != "OFFLINE")


def plan_moves(current, target):
    """What a rebalance from `current` to `target` ({segment: {instance: state}}) moves, per server.

    Only segments in both are compared (a segment created or deleted in between is not the rebalance's doing).
    Returns {"servers": {server: {"before", "after", "add", "remove"}}, "segments_to_move", "replicas_to_add",
    "replicas_to_remove", "servers_added", "servers_removed", "min_target_replicas"}; the last is the fewest
    replicas the target gives a segment that moves (None when none moves), the number Pinot checks
    minAvailableReplicas against (plan.min_available_after).
    """
    servers = {}
    segments_to_move = 0
    min_target_replicas = None
    for segment in set(current) & set(target):
        before, after = assigned(current[segment]), assigned(target[segment])
        if before != after:
            segments_to_move += 1
            # Pinot counts the target's replicas whatever their state (TableRebalancer: targetAssignment.get(s).size()).
            replicas = len(target[segment])
            min_target_replicas = replicas if min_target_replicas is None else min(min_target_replicas, replicas)
        for server in before | after:
            entry = servers.setdefault(server, {"before": 0, "after": 0, "add": 0, "remove": 0})
            entry["before"] += server in before
            entry["after"] += server in after
            entry["add"] += server in after and server not in before
            entry["remove"] += server in before and server not in after
    return {
        "servers": dict(sorted(servers.items())),
        "segments_to_move": segments_to_move,
        "replicas_to_add": sum(entry["add"] for entry in servers.values()),
        "replicas_to_remove": sum(entry["remove"] for entry in servers.values()),
        "servers_added": sorted(s for s, e in servers.items() if e["before"] == 0 and e["after"] > 0),
        "servers_removed": sorted(s for s, e in servers.items() if e["after"] == 0 and e["before"] > 0),
        "min_target_replicas": min_target_replicas,
    }


def error_replicas_to_reset(external, target, done=()):
    """[(segment, instance)] the external view has in ERROR where the target assigns the segment, minus `done`.

    These are replicas the rebalance asked a server to load and the load failed, typically because the segment
    could not be downloaded (from a controller that was restarting, when it is the deep store). Sorted.
    """
    found = []
    for segment, replicas in (target or {}).items():
        held = external.get(segment) or {}
        for instance in assigned(replicas):
            if held.get(instance) == "ERROR" and (segment, instance) not in done:
                found.append((segment, instance))
    return sorted(found)


def segment_served(ideal_replicas, external_replicas):
    """True when the external view serves one segment exactly as the ideal state asks.

    Every replica the ideal state assigns is in the same state in the external view, and no other
    instance still holds it (a replica being dropped counts until it is gone).
    """
    external_replicas = external_replicas or {}
    for instance, state in ideal_replicas.items():
        if state != "OFFLINE" and external_replicas.get(instance) != state:
            return False
    extra = assigned(external_replicas) - set(ideal_replicas)
    return not extra


def convergence(ideal, external, target=None, sample=20):
    """Progress of one typed table from its ideal state, external view and (optionally) the target assignment.

    A segment is converged when the external view serves it as the ideal state says and, for segments in
    `target`, the ideal state assigns it to the target's instances. `remaining_replicas` counts replica
    loads and drops still to happen (towards the target where known); it only goes down while the
    rebalance makes progress, so the stall detector watches it.
    Returns the summary dict; `not_converged` lists up to `sample` segment names.
    """
    target = target or {}
    converged = 0
    ideal_pending = 0
    external_pending = 0
    remaining = 0
    not_converged = []
    errors = []
    for segment in sorted(ideal):
        replicas = ideal[segment]
        held = external.get(segment) or {}
        want = assigned(target[segment]) if segment in target else assigned(replicas)
        at_target = segment not in target or assigned(replicas) == want
        served = segment_served(replicas, held)
        ideal_pending += not at_target
        external_pending += not served
        serving = set(i for i, s in held.items() if s in SERVING_STATES)
        remaining += len(want - serving) + len(assigned(held) - want)
        if any(state == "ERROR" for state in held.values()):
            errors.append(segment)
        if at_target and served:
            converged += 1
        else:
            not_converged.append(segment)
    total = len(ideal)
    return {
        "segments": total,
        "converged": converged,
        "percent_converged": round(100.0 * converged / total, 1) if total else 100.0,
        "ideal_state_pending": ideal_pending,
        "external_view_pending": external_pending,
        "remaining_replicas": remaining,
        "error_segments": errors[:sample],
        "error_count": len(errors),
        "not_converged": not_converged[:sample],
    }


def stuck_segments(ideal, external, target, names):
    """{segment: {"ideal_state", "external_view", "target"}} for the named segments (what to show when stalled)."""
    target = target or {}
    return dict((name, {"ideal_state": dict(ideal.get(name) or {}), "external_view": dict(external.get(name) or {}),
                        "target": sorted(assigned(target[name])) if name in target else None}) for name in names)


def progress_line(table, progress, status=None):
    """One line a person can read: `events_REALTIME: 40/48 segments converged (83.3%), job IN_PROGRESS`."""
    text = "%s: %d/%d segments converged (%s%%)" % (
        table, progress["converged"], progress["segments"], progress["percent_converged"])
    if progress.get("error_count"):
        text += ", %d in ERROR" % progress["error_count"]
    if status:
        text += ", job %s" % status
    return text


def servers_not_live(stuck, live):
    """Servers the stuck segments' ideal state assigns that are not in `live`, sorted."""
    assigned_to = set()
    for segment in stuck.values():
        assigned_to.update(assigned(segment["ideal_state"]))
    return sorted(assigned_to - set(live))
