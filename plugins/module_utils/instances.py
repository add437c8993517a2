# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure functions about Pinot instances: tag changes, tag safety, drop blockers (no I/O).

The modules read what the controller says and hand it to these functions, so
the decisions (which tags, is a tag change safe, why would a drop be refused)
are unit-tested without a controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import re

from ansible_collections.pinotops.pinot.plugins.module_utils.names import INSTANCE_TYPES
from ansible_collections.pinotops.pinot.plugins.module_utils.plan import table_replication

SERVER_TAG_SUFFIXES = ("_OFFLINE", "_REALTIME")
BROKER_TAG_SUFFIX = "_BROKER"
# Tags Pinot itself gives instances that serve no tenant; its tag validation calls them "unrecognised".
UNTAGGED_TAGS = ("server_untagged", "broker_untagged", "minion_untagged", "minion_drained")
# Issue codes of Pinot's tag-update validation that mean "a tenant would lose capacity": these refuse a change.
BLOCKING_TAG_ISSUES = ("MINIMUM_INSTANCE_UNSATISFIED",)

_IDEAL_STATE_ISSUE = re.compile(r"exists in ideal state for (\S+)")


def desired_tags(current, tags, mode):
    """The tag list after applying `tags` to `current` with `mode` (set, add or remove).

    Keeps the order of `current` (then of `tags`) and drops duplicates, so
    that an unchanged set gives an identical list.
    """
    current = list(current or [])
    if mode == "set":
        result = list(tags)
    elif mode == "add":
        result = current + [tag for tag in tags if tag not in current]
    elif mode == "remove":
        result = [tag for tag in current if tag not in tags]
    else:
        raise ValueError("unknown tag mode %r" % mode)
    unique = []
    for tag in result:
        if tag not in unique:
            unique.append(tag)
    return unique


def same_tags(first, second):
    """Order-insensitive comparison: Pinot treats the tag list as a set."""
    return set(first or []) == set(second or [])


def bad_tags(tags):
    """Tags Pinot's `?tags=a,b` parameter cannot carry as given: empty, with a comma or with spaces."""
    return [tag for tag in tags if not tag or "," in tag or tag != tag.strip() or " " in tag]


def tag_kind(tag):
    """`server` for `<tenant>_OFFLINE|_REALTIME`, `broker` for `<tenant>_BROKER`, else None (as Pinot's TagNameUtils)."""
    if tag.endswith(SERVER_TAG_SUFFIXES):
        return "server"
    if tag.endswith(BROKER_TAG_SUFFIX):
        return "broker"
    return None


def minimum_instances_for_tags(table_configs):
    """{tag: instances it needs} from typed table configs, as Pinot's tag validation computes it.

    A server tenant tag `<tenant>_OFFLINE|_REALTIME` needs the largest
    replication of its tables; a broker tag `<tenant>_BROKER` serving
    tables needs one broker.
    """
    needed = {}
    for config in table_configs:
        tenants = config.get("tenants") or {}
        table_type = config.get("tableType") or "OFFLINE"
        server_tag = "%s_%s" % (tenants.get("server") or "DefaultTenant", table_type)
        needed[server_tag] = max(needed.get(server_tag, 0), table_replication(config))
        broker_tag = "%s%s" % (tenants.get("broker") or "DefaultTenant", BROKER_TAG_SUFFIX)
        needed[broker_tag] = max(needed.get(broker_tag, 0), 1)
    return needed


def tag_update_issues(instance, new_tags, instance_tags, table_configs):
    """Pinot's tag-update safety check, for controllers without `POST /instances/updateTags/validate`.

    instance: the id whose tags change to `new_tags`.
    instance_tags: {id: [tags]} for every instance the controller knows (current tags, `instance` included).
    table_configs: the typed table configs (`GET /tables/{t}` values).
    Returns Pinot-shaped issues [{"code", "message"}]: one MINIMUM_INSTANCE_UNSATISFIED per tag
    removed from `instance` that would leave fewer instances carrying it than its tables need.
    """
    needed = minimum_instances_for_tags(table_configs)
    issues = []
    removed = [tag for tag in instance_tags.get(instance, []) if tag not in new_tags]
    for tag in removed:
        kind = tag_kind(tag)
        if kind is None or not needed.get(tag):
            continue
        remaining = sorted(name for name, tags in instance_tags.items() if name != instance and tag in (tags or []))
        if len(remaining) < needed[tag]:
            tenant = tag[:tag.rfind("_")]
            issues.append({
                "code": "MINIMUM_INSTANCE_UNSATISFIED",
                "message": "Tenant '%s' will not satisfy minimum '%s' requirement if tag '%s' is removed from %s instance "
                           "'%s': its tables need %d, %d would remain (%s)." % (
                               tenant, kind, tag, kind, instance, needed[tag], len(remaining), ", ".join(remaining) or "none"),
            })
    return issues


def split_validation(reply, instance):
    """Split Pinot's tag-validation reply into (blocking issues, other issues) for `instance`.

    Only MINIMUM_INSTANCE_UNSATISFIED blocks: Pinot also flags any tag
    without a tenant suffix (so `server_untagged`, the recommended tag for a
    drained server) as UNRECOGNISED_TAG_TYPE, and reports tenants that are
    already short (ALREADY_DEFICIENT_TENANT) in an entry without an instance
    name; those are reported, not refused.
    """
    blocking, other = [], []
    for entry in reply or []:
        if entry.get("instanceName") not in (None, instance):
            continue
        for issue in entry.get("issues") or []:
            if issue.get("code") in BLOCKING_TAG_ISSUES:
                blocking.append(issue)
            elif not (issue.get("code") == "UNRECOGNISED_TAG_TYPE" and any(
                    tag in (issue.get("message") or "") for tag in UNTAGGED_TAGS)):
                other.append(issue)
    return blocking, other


def tables_holding(instance, ideal_states):
    """Sorted typed table names whose ideal state ({segment: {instance: state}}) mentions `instance`."""
    return sorted(table for table, assignment in ideal_states.items()
                  if any(instance in replicas for replicas in (assignment or {}).values()))


def drop_blockers_from_validation(reply, instance):
    """(live, [resources]) from `GET /instances/dropInstance/validate` for one instance."""
    live = False
    resources = []
    for entry in reply or []:
        if entry.get("instanceName") != instance:
            continue
        for issue in entry.get("issues") or []:
            if issue.get("code") == "IS_ALIVE":
                live = True
            elif issue.get("code") == "CONTAINS_RESOURCE":
                match = _IDEAL_STATE_ISSUE.search(issue.get("message") or "")
                resources.append(match.group(1) if match else issue.get("message"))
    return live, sorted(resources)


def drop_refusal(instance, live, tables):
    """Why Pinot would refuse to drop `instance` and what to do, or None when nothing blocks it."""
    reasons = []
    if live:
        reasons.append("it is still live (its process is connected to the cluster): stop it first, "
                       "or use wait_not_live=true while its pod terminates")
    if tables:
        reasons.append("it is still in the ideal state of %s: untag it (pinot_instance_tags) and rebalance those "
                       "tables (pinot_table_rebalance) until it holds no segments" % ", ".join(tables))
    if not reasons:
        return None
    return "Pinot refuses to drop instance %s: %s" % (instance, "; and ".join(reasons))


def parse_instance_id(name):
    """(type, host, port) from an id `<Type>_<host>_<port>` (Pinot builds ids so on POST /instances).

    Returns None for each part it cannot read.
    """
    for prefix, kind in INSTANCE_TYPES.items():
        if name.startswith(prefix):
            host, _sep, port = name[len(prefix):].rpartition("_")
            return kind, host or None, int(port) if port.isdigit() else None
    return None, None, None


def instance_id(kind, host, port):
    """The id Pinot gives an instance created with POST /instances: `Server_<host>_<port>` and so on."""
    return "%s_%s_%s" % (kind.capitalize(), host, port)
