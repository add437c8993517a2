# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure functions over Pinot segment assignments (no I/O).

An assignment is what `/tables/{t}/idealstate` and `/externalview` return for
one table type: {segment: {instance: state}}.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import functools
import re

# Replica states that mean "this instance holds (or is loading) the segment".
HOLDING_STATES = ("ONLINE", "CONSUMING")


def segments_by_instance(assignment, states=None):
    """{instance: number of segments} of one table's assignment, counting replicas in `states` (all if None)."""
    counts = {}
    for replicas in assignment.values():
        for instance, state in replicas.items():
            if states is None or state in states:
                counts[instance] = counts.get(instance, 0) + 1
    return counts


# ---- the segment assignment view (pinot_segment_assignment_info) -------------------------------

def segment_partition(segment):
    """Partition of a realtime LLC segment `<raw>__<partition>__<sequence>__<time>`; None for other names.

    Uploaded and offline segments carry no partition in their name.
    """
    parts = segment.split("__")
    if len(parts) == 4 and parts[1].isdigit() and parts[2].isdigit():
        return int(parts[1])
    return None


@functools.lru_cache(maxsize=8192)
def natural_key(text):
    """Sort key that puts pinot-server-2 before pinot-server-10.

    Cached: one table's segment names are sorted several times and server names recur everywhere; the bound
    keeps memory flat on clusters with hundreds of thousands of segments.
    """
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def short_server_name(instance):
    """`Server_pinot-server-3.pinot-server-headless.<ns>.svc.cluster.local_8098` -> `pinot-server-3` (the pod).

    Only host names are shortened to their first label; an IP address or a dotless host keeps `host_port`.
    """
    name = instance.split("_", 1)[1] if instance.startswith("Server_") else instance
    host, _sep, port = name.rpartition("_")
    if not host or not port.isdigit():
        host, port = name, ""
    if "." in host and not re.match(r"^[\d.]+$", host):
        return host.split(".", 1)[0]
    return name


def short_server_names(instances):
    """{instance: short name}; instances whose short names would collide keep their full id."""
    short = dict((instance, short_server_name(instance)) for instance in instances)
    taken = {}
    for name in short.values():
        taken[name] = taken.get(name, 0) + 1
    return dict((instance, name if taken[name] == 1 else instance) for instance, name in short.items())


def rename_instances(assignment, names):
    """The assignment with instance ids replaced through `names` (ids not in it are kept)."""
    return dict((segment, dict((names.get(instance, instance), state) for instance, state in replicas.items()))
                for segment, replicas in assignment.items())


def holders(replicas, states=HOLDING_STATES):
    """Sorted instances of one segment's replicas that are in `states`."""
    return sorted((instance for instance, state in replicas.items() if state in states), key=natural_key)


def view_summary(assignment, states=HOLDING_STATES):
    """What one view says about one typed table, counting replicas in `states`.

    Returns segment_count, segments_to_servers {segment: [servers]}, partitions_to_servers
    {"<partition>": [servers]}, servers_to_partitions {server: [partitions]} and segments_per_server
    {server: count}. Segments without a partition (offline, uploaded) are in the segment maps and counts only.
    """
    segments_to_servers = {}
    partitions = {}
    server_partitions = {}
    for segment in sorted(assignment, key=natural_key):
        servers = holders(assignment[segment], states)
        if not servers:
            continue
        segments_to_servers[segment] = servers
        partition = segment_partition(segment)
        for server in servers:
            server_partitions.setdefault(server, set())
            if partition is not None:
                server_partitions[server].add(partition)
                partitions.setdefault(partition, set()).add(server)
    return {
        "segment_count": len(segments_to_servers),
        "segments_to_servers": segments_to_servers,
        "partitions_to_servers": dict((str(p), sorted(partitions[p], key=natural_key)) for p in sorted(partitions)),
        "servers_to_partitions": dict((s, sorted(server_partitions[s])) for s in sorted(server_partitions, key=natural_key)),
        "segments_per_server": dict(sorted(segments_by_instance(assignment, states).items(), key=lambda item: natural_key(item[0]))),
    }


def segments_in_states(assignment, states):
    """{segment: [instances]} of the replicas in `states` (for example ERROR), only segments that have some."""
    found = {}
    for segment in sorted(assignment, key=natural_key):
        instances = holders(assignment[segment], states)
        if instances:
            found[segment] = instances
    return found


def under_replicated(ideal_state, external_view, replication=None):
    """Segments the external view serves on fewer servers than they should be.

    A segment should be served `replication` times (the table config's), or, when that is unknown, as often
    as the ideal state assigns it. Segments the ideal state holds nowhere (all OFFLINE) are left out.
    Returns {segment: {"expected": n, "serving": [servers]}}.
    """
    found = {}
    for segment in sorted(ideal_state, key=natural_key):
        assigned = holders(ideal_state[segment])
        if not assigned:
            continue
        expected = replication or len(assigned)
        serving = holders(external_view.get(segment) or {})
        if len(serving) < expected:
            found[segment] = {"expected": expected, "serving": serving}
    return found


def not_converged(ideal_state, external_view):
    """Segments whose serving servers differ between the ideal state and the external view.

    Returns {segment: {"ideal_state": [servers], "external_view": [servers]}}; empty when converged.
    """
    found = {}
    for segment in sorted(set(ideal_state) | set(external_view), key=natural_key):
        should = holders(ideal_state.get(segment) or {})
        serves = holders(external_view.get(segment) or {})
        if should != serves:
            found[segment] = {"ideal_state": should, "external_view": serves}
    return found


def table_assignment(ideal_state, external_view, replication=None):
    """The whole view of one typed table: both views summarised, plus what is wrong with it."""
    return {
        "replication": replication,
        "ideal_state": view_summary(ideal_state),
        "external_view": view_summary(external_view),
        "under_replicated": under_replicated(ideal_state, external_view, replication),
        "error_segments": segments_in_states(external_view, ("ERROR",)),
        "offline_segments": segments_in_states(external_view, ("OFFLINE",)),
        "not_converged": not_converged(ideal_state, external_view),
    }
