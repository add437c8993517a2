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

import collections
import itertools
import re

# Replica states that mean "this instance serves the segment".
SERVING_STATES = ("ONLINE", "CONSUMING")


def segments_by_instance(assignment, states=None, instances=None):
    """{instance: number of segments} of one table's assignment, counting replicas in `states` (all if None).

    With `instances`, only those, each present (0 when it holds nothing); without, every instance that holds some.
    """
    counts = dict((name, 0) for name in instances) if instances is not None else {}
    for replicas in assignment.values():
        for instance, state in replicas.items():
            if (states is None or state in states) and (instances is None or instance in counts):
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


# Splitting on a group keeps the digit runs: text, digits, text, ..., text (first and last text may be empty).
DIGIT_RUNS = re.compile(r"(\d+)")


def natural_key(text):
    """Sort key that puts pinot-server-2 before pinot-server-10.

    Texts sit at even places and numbers at odd ones, so two keys compare text with text and number with number;
    a name starting with a digit has "" first and sorts before names starting with text.
    Not cached: callers key each segment once per call and each server once (server_keys), so a cache would
    only add its upkeep.
    """
    parts = DIGIT_RUNS.split(text)
    parts[1::2] = map(int, parts[1::2])
    return tuple(parts)


def instances_of(*views):
    """Every instance that has a replica in the views, whatever its state."""
    instances = set()
    for view in views:
        for replicas in view.values():
            instances.update(replicas)
    return instances


def server_keys(*views):
    """{instance: natural_key(instance)} of every instance in the views.

    A table has a few servers and many replicas: sorting replicas by this dict computes each key once.
    """
    return dict((instance, natural_key(instance)) for instance in instances_of(*views))


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


def rename_servers(table, names):
    """table_assignment's result with instance ids replaced through `names`, servers sorted again by the new names.

    The same as table_assignment of the renamed views, for when the names are known only after every table is read.
    Views without segments_to_servers (left out by the caller) stay without.
    """
    keys = dict((name, natural_key(name)) for name in set(names.values()))  # few names, many replicas

    def key_of(name):
        return keys[name] if name in keys else natural_key(name)

    def servers(instances):
        return sorted((names.get(instance, instance) for instance in instances), key=key_of)

    def by_server(per_instance):
        renamed = dict((names.get(instance, instance), value) for instance, value in per_instance.items())
        return dict((server, renamed[server]) for server in sorted(renamed, key=key_of))

    renamed = dict(table)
    renamed["servers"] = servers(table["servers"])
    for view in ("ideal_state", "external_view"):
        summary = renamed[view] = dict(table[view])
        for key in ("segments_to_servers", "partitions_to_servers"):
            if key in summary:
                summary[key] = dict((name, servers(instances)) for name, instances in summary[key].items())
        for key in ("servers_to_partitions", "segments_per_server"):
            summary[key] = by_server(summary[key])
    for key in ("error_segments", "offline_segments"):
        renamed[key] = dict((segment, servers(instances)) for segment, instances in table[key].items())
    renamed["under_replicated"] = dict((segment, {"expected": found["expected"], "serving": servers(found["serving"])})
                                       for segment, found in table["under_replicated"].items())
    renamed["not_converged"] = dict((segment, {"ideal_state": servers(found["ideal_state"]),
                                               "external_view": servers(found["external_view"])})
                                    for segment, found in table["not_converged"].items())
    return renamed


def holders_by_segment(assignment, segments, keys, states=SERVING_STATES):
    """{segment: sorted instances in `states`} of the `segments` the assignment has such replicas of.

    `segments` are in natural order (the dict keeps it); `keys` are server_keys of the assignment.
    """
    wanted = frozenset(states)
    found = {}
    for segment in segments:
        replicas = assignment.get(segment) or {}
        if wanted.isdisjoint(replicas.values()):  # a quick skip: few segments have replicas in ERROR, say
            continue
        instances = [instance for instance, state in replicas.items() if state in wanted]
        instances.sort(key=keys.__getitem__)
        found[segment] = instances
    return found


def summary_of(servers_by_segment, keys):
    """view_summary of one view's {segment: [servers]} (from holders_by_segment)."""
    segments_per_server = collections.Counter(itertools.chain.from_iterable(servers_by_segment.values()))
    partitions = {}
    for segment, servers in servers_by_segment.items():
        partition = segment_partition(segment)
        if partition is not None:
            partitions.setdefault(partition, set()).update(servers)
    server_partitions = dict((server, []) for server in sorted(segments_per_server, key=keys.__getitem__))
    for partition in sorted(partitions):  # few partitions and servers: cheap to turn around
        for server in partitions[partition]:
            server_partitions[server].append(partition)
    return {
        "segment_count": len(servers_by_segment),
        "segments_to_servers": servers_by_segment,
        "partitions_to_servers": dict((str(p), sorted(partitions[p], key=keys.__getitem__)) for p in sorted(partitions)),
        "servers_to_partitions": server_partitions,
        "segments_per_server": dict((server, segments_per_server[server]) for server in server_partitions),
    }


def view_summary(assignment, states=SERVING_STATES):
    """What one view says about one typed table, counting replicas in `states`.

    Returns segment_count, segments_to_servers {segment: [servers]}, partitions_to_servers
    {"<partition>": [servers]}, servers_to_partitions {server: [partitions]} and segments_per_server
    {server: count}. Segments without a partition (offline, uploaded) are in the segment maps and counts only.
    """
    keys = server_keys(assignment)
    return summary_of(holders_by_segment(assignment, sorted(assignment, key=natural_key), keys, states), keys)


def both_views(ideal_state, external_view):
    """(every segment in natural order, server_keys, ideal state holders, external view holders) of one table.

    Sorted and keyed once, here, for all that table_assignment says about the table.
    """
    # The ideal state's segments first, so that names with equal keys (seg_01, seg_1) keep their order in it.
    segments = list(ideal_state) + [segment for segment in external_view if segment not in ideal_state]
    segments.sort(key=natural_key)
    keys = server_keys(ideal_state, external_view)
    return (segments, keys, holders_by_segment(ideal_state, segments, keys),
            holders_by_segment(external_view, segments, keys))


def below_replication(assigned, serving, replication=None):
    """Segments the external view serves on fewer servers than they should be, from both views' holders_by_segment.

    A segment should be served `replication` times (the table config's), or, when that is unknown, as often as the
    ideal state assigns it. Segments the ideal state holds nowhere (all OFFLINE) are left out.
    Returns {segment: {"expected": n, "serving": [servers]}}.
    """
    found = {}
    for segment, servers in assigned.items():
        expected = replication or len(servers)
        served = serving.get(segment, [])
        if len(served) < expected:
            found[segment] = {"expected": expected, "serving": list(served)}
    return found


def differing(segments, assigned, serving):
    """Segments whose serving servers differ between the ideal state and the external view.

    From both views' holders_by_segment and every segment of the table in natural order; returns
    {segment: {"ideal_state": [servers], "external_view": [servers]}}, empty when converged.
    """
    found = {}
    for segment in segments:
        should, serves = assigned.get(segment, []), serving.get(segment, [])
        if should != serves:
            found[segment] = {"ideal_state": list(should), "external_view": list(serves)}
    return found


def table_assignment(ideal_state, external_view, replication=None):
    """The whole view of one typed table: both views summarised, plus what is wrong with it."""
    segments, keys, assigned, serving = both_views(ideal_state, external_view)
    return {
        "replication": replication,
        "servers": sorted(keys, key=keys.__getitem__),
        "ideal_state": summary_of(assigned, keys),
        "external_view": summary_of(serving, keys),
        "under_replicated": below_replication(assigned, serving, replication),
        "error_segments": holders_by_segment(external_view, segments, keys, ("ERROR",)),
        "offline_segments": holders_by_segment(external_view, segments, keys, ("OFFLINE",)),
        "not_converged": differing(segments, assigned, serving),
    }
