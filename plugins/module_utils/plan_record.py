# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A reviewable plan and an apply that refuses drift: pure functions, no I/O.

A plan record carries a fingerprint of the cluster state it was computed from (the Pinot cluster, its servers with
their tags and liveness, the affected tables' replication and layout, the StatefulSet's replicas) and a hash over that
fingerprint and the decision (what is removed, the replica count after). Recomputing the record from the cluster and
comparing hashes tells whether the cluster is still the one the plan was reviewed for; comparing fingerprints says
what changed. Nothing here is specific to the decommission: another role records its own decision next to the same
fingerprint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import datetime
import hashlib
import json
import re

from ansible_collections.pinotops.pinot.plugins.module_utils.assignment import segment_partition

PLAN_FORMAT = 1
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def canonical_hash(value):
    """sha256 (hex) of the value as canonical JSON (sorted keys, no whitespace)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_layout(ideal_state):
    """{server: sorted items} of one table's ideal state, items being realtime partitions or other segments' names.

    A realtime (LLC) segment counts by its partition, so a segment commit - a new consuming segment of the same
    partition on the same servers - is not a change of layout; a rebalance, a new segment upload or a segment moved
    by hand is.
    """
    layout = {}
    for segment, replicas in ideal_state.items():
        partition = segment_partition(segment)
        item = "partition %d" % partition if partition is not None else segment
        for server in replicas:
            layout.setdefault(server, set()).add(item)
    return dict((server, sorted(items)) for server, items in layout.items())


def fingerprint(cluster, server_tags, live, tables, statefulset=None):
    """The cluster state a plan depends on, as plain JSON data.

    cluster: the Pinot cluster name. server_tags: {server id: [tags]}. live: live ids.
    tables: {typed table: {"server_tag", "replication", "ideal_state"}} of the affected tables only.
    statefulset: {"namespace", "name", "replicas"} or None when no StatefulSet is scaled.
    """
    return {
        "cluster": cluster,
        "statefulset": dict(statefulset) if statefulset else None,
        "instances": dict((name, {"tags": sorted(tags), "live": name in live}) for name, tags in server_tags.items()),
        "tables": dict((table, {"server_tag": entry["server_tag"], "replication": entry["replication"],
                                "layout": canonical_hash(table_layout(entry.get("ideal_state") or {}))})
                       for table, entry in tables.items()),
    }


def plan_hash(kind, fingerprint_value, decision):
    """The plan's own hash: over what it does (`kind`, `decision`) and the state it was computed from."""
    return canonical_hash({"format": PLAN_FORMAT, "kind": kind, "fingerprint": fingerprint_value, "decision": decision})


def fingerprint_changes(old, new):
    """Sentences saying what differs between two fingerprints; empty when they are equal."""
    changes = []
    if old.get("cluster") != new.get("cluster"):
        changes.append("Pinot cluster %s, now %s" % (old.get("cluster"), new.get("cluster")))
    old_sts, new_sts = old.get("statefulset") or {}, new.get("statefulset") or {}
    if (old_sts.get("namespace"), old_sts.get("name")) != (new_sts.get("namespace"), new_sts.get("name")):
        changes.append("StatefulSet %s, now %s" % (sts_name(old_sts), sts_name(new_sts)))
    elif old_sts.get("replicas") != new_sts.get("replicas"):
        changes.append("replicas changed: StatefulSet %s had %s replicas, now %s"
                       % (sts_name(new_sts), old_sts.get("replicas"), new_sts.get("replicas")))
    old_instances, new_instances = old.get("instances") or {}, new.get("instances") or {}
    for name in sorted(set(old_instances) - set(new_instances)):
        changes.append("server gone: %s" % name)
    for name in sorted(set(new_instances) - set(old_instances)):
        changes.append("new server: %s (tags %s)" % (name, ", ".join(new_instances[name]["tags"]) or "none"))
    for name in sorted(set(old_instances) & set(new_instances)):
        before, after = old_instances[name], new_instances[name]
        if before["tags"] != after["tags"]:
            changes.append("tags changed on %s: %s, now %s"
                           % (name, ", ".join(before["tags"]) or "none", ", ".join(after["tags"]) or "none"))
        if before["live"] != after["live"]:
            changes.append("%s %s" % (name, "is live again" if after["live"] else "is no longer live"))
    old_tables, new_tables = old.get("tables") or {}, new.get("tables") or {}
    for table in sorted(set(new_tables) - set(old_tables)):
        changes.append("new table affected: %s" % table)
    for table in sorted(set(old_tables) - set(new_tables)):
        changes.append("table no longer affected (deleted, or off these servers): %s" % table)
    for table in sorted(set(old_tables) & set(new_tables)):
        before, after = old_tables[table], new_tables[table]
        for key, what in (("server_tag", "server tag"), ("replication", "replication")):
            if before.get(key) != after.get(key):
                changes.append("table %s: %s %s, now %s" % (table, what, before.get(key), after.get(key)))
        if before.get("layout") != after.get("layout"):
            changes.append("table %s: its segments were moved (the ideal state assigns them to other servers)" % table)
    return changes


def sts_name(statefulset):
    return "%s/%s" % (statefulset["namespace"], statefulset["name"]) if statefulset else "none"


def parse_plan(text):
    """(plan dict, None) from a plan file's text (or that text already parsed), or (None, why it is not a plan).

    ansible-core 2.18 turns a templated string that looks like JSON into a dict before the module sees it.
    """
    if isinstance(text, dict):
        plan = text
    else:
        try:
            plan = json.loads(text)
        except ValueError as exc:
            return None, "the plan file is not JSON (%s)" % exc
    if not isinstance(plan, dict) or not isinstance(plan.get("fingerprint"), dict) or "hash" not in plan:
        return None, "the plan file is JSON but not a plan (it needs format, kind, hash, fingerprint and decision)"
    return plan, None


def parse_time(text):
    """A plan's created_at (ISO 8601, UTC) as a naive UTC datetime, or None."""
    try:
        return datetime.datetime.strptime(str(text)[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def plan_refusals(current, given_hash=None, plan=None, max_age=0, now=None):
    """Why the plan (file and/or hash) may not be applied to the cluster as it is now; empty = apply it.

    current: the plan record recomputed from the cluster now (plan_hash, fingerprint, decision, kind).
    given_hash: the hash the user approved. plan: the plan file's record, already parsed.
    max_age: seconds; 0 = any age. now: naive UTC datetime (for tests).
    """
    refusals = []
    if given_hash is not None and not HASH_PATTERN.match(given_hash):
        return ["the plan hash %r is not a plan hash: it must be 64 lowercase hex characters (it has %d characters); "
                "copy it from the plan run's output or set_stats" % (given_hash, len(given_hash))]
    if plan is not None:
        if plan.get("format") != PLAN_FORMAT or plan.get("kind") != current["kind"]:
            return ["the plan file is a %s plan of format %s; this run needs a %s plan of format %d"
                    % (plan.get("kind"), plan.get("format"), current["kind"], PLAN_FORMAT)]
        stated = plan_hash(plan["kind"], plan["fingerprint"], plan.get("decision"))
        if stated != plan["hash"]:
            return ["the plan file was edited after it was written: its content hashes to %s, not to the hash %s it "
                    "states" % (stated, plan["hash"])]
        if given_hash is not None and given_hash != plan["hash"]:
            return ["the plan file has hash %s, not the approved hash %s: it is another plan" % (plan["hash"], given_hash)]
        old, new = plan["fingerprint"], current["fingerprint"]
        if old.get("cluster") != new.get("cluster"):
            return ["the plan is for Pinot cluster %s, but the controller serves cluster %s"
                    % (old.get("cluster"), new.get("cluster"))]
        old_sts, new_sts = old.get("statefulset") or {}, new.get("statefulset") or {}
        if (old_sts.get("namespace"), old_sts.get("name")) != (new_sts.get("namespace"), new_sts.get("name")):
            return ["the plan is for StatefulSet %s, but this run scales %s" % (sts_name(old_sts), sts_name(new_sts))]
        if max_age:
            created = parse_time(plan.get("created_at"))
            age = (now - created).total_seconds() if created and now else None
            if age is None:
                refusals.append("the plan's created_at %r is not a time, so its age is unknown" % plan.get("created_at"))
            elif age > max_age:
                refusals.append("the plan is %d s old, older than server_decommission_plan_max_age (%d s): make a "
                                "new plan" % (age, max_age))
        if plan.get("decision") != current["decision"]:
            refusals.append("the plan does something else: %s, this run %s"
                            % (json.dumps(plan.get("decision"), sort_keys=True),
                               json.dumps(current["decision"], sort_keys=True)))
        refusals.extend("cluster changed since the plan: " + change for change in fingerprint_changes(old, new))
        if not refusals and plan["hash"] != current["hash"]:
            refusals.append("the plan has hash %s but the same request on the cluster now hashes to %s"
                            % (plan["hash"], current["hash"]))
    elif given_hash is not None and given_hash != current["hash"]:
        refusals.append("the cluster or the request is not the one the plan %s was computed for (recomputed now: %s); "
                        "give the plan file (server_decommission_plan_path) to see what changed" % (given_hash, current["hash"]))
    return refusals
