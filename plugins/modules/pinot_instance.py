#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_instance
short_description: Drop, create, enable or disable an Apache Pinot instance
version_added: 0.1.0
description:
  - Drops an instance from the cluster (O(state=absent), what C(DELETE /instances/{id}) does), enables or disables it,
    turns query routing to a server off or on where the Pinot version can, or registers a missing instance
    (O(state=present)).
  - Acts only when the instance is not already in the asked state.
  - B(Dropping is safe by construction.) Pinot refuses to drop an instance that is still live or still in a table's
    ideal state (it still holds segments). With Pinot 1.0 and newer this module asks Pinot's own drop check
    (C(GET /instances/dropInstance/validate)) B(before) sending anything. Older controllers lack it; there the module
    reads every table's ideal state first only when it has to predict (check mode) or is about to wait for a live
    instance, and otherwise leaves the check to the C(DELETE) itself, which Pinot refuses (409) while an ideal state
    holds the instance. Either way a refusal fails the task with a message that says why and names the tables.
  - To empty a server first, untag it (M(pinotops.pinot.pinot_instance_tags)) and rebalance its tables
    (M(pinotops.pinot.pinot_table_rebalance)); then stop it and drop it. O(wait_not_live) covers a pod that is still
    terminating.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.ATTRIBUTES
attributes:
  check_mode:
    support: full
    description: Reads the instance and runs the same checks, changes nothing (and does not wait), and reports what would change.
  diff_mode:
    support: full
    description: Shows the instance (exists, enabled, live, queries disabled, tags) before and after.
options:
  instance:
    description:
      - Instance id, for example V(Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098).
    type: str
    required: true
  state:
    description:
      - V(absent) drops the instance. Already gone is success without a change. Refused while the instance is live
        (unless O(wait_not_live)) or is in any table's ideal state.
      - V(enabled) / V(disabled) enable or disable the instance in Helix. A disabled server's replicas go OFFLINE in the
        external view, but it stays in the ideal state; disabling does not move data.
      - V(queries_disabled) / V(queries_enabled) stop or restart brokers routing queries to a B(server) while it keeps
        running. Only Pinot versions newer than 1.5 have them; on older controllers V(queries_disabled) fails with a
        clear message (and V(queries_enabled) is already the case). The module tells from the controller's API listing
        (C(GET /swagger.json)) before sending anything; where that cannot be read, a refused write says it and changes
        nothing, and check mode warns that it cannot tell.
      - V(present) registers the instance if Pinot does not know it (C(POST /instances)), from O(host), O(port),
        O(type) and O(tags); these default to what the id says (C(<Type>_<host>_<port>)). An existing instance is
        left as it is (manage its tags with M(pinotops.pinot.pinot_instance_tags)).
    type: str
    required: true
    choices: [absent, present, enabled, disabled, queries_disabled, queries_enabled]
  wait_not_live:
    description:
      - With O(state=absent), when the instance is still live, wait until it is not (its process stopped, for example a
        pod that is still terminating) before dropping it, instead of failing.
      - Waits at most O(wait_timeout) seconds, polling with backoff. Check mode does not wait.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait_not_live) before failing.
    type: int
    default: 300
  host:
    description:
      - With O(state=present), the host Pinot routes to. Defaults to the host part of O(instance).
    type: str
  port:
    description:
      - With O(state=present), the port Pinot routes to. Defaults to the port part of O(instance).
    type: int
  type:
    description:
      - With O(state=present), the instance type. Defaults to the type the id's prefix says.
    type: str
    choices: [controller, broker, server, minion]
  tags:
    description:
      - With O(state=present), the tags the new instance gets.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Drop pinot-server-3 once its pod is gone (waits up to 10 minutes for it to stop)
  pinotops.pinot.pinot_instance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    state: absent
    wait_not_live: true
    wait_timeout: 600

- name: Disable a misbehaving server (its replicas go offline; data stays assigned)
  pinotops.pinot.pinot_instance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-1.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    state: disabled

- name: Stop routing queries to a server before an upgrade (newer Pinot only)
  pinotops.pinot.pinot_instance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-1.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    state: queries_disabled

- name: Register a server ahead of its first start
  pinotops.pinot.pinot_instance:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-4.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    state: present
    tags: [DefaultTenant_OFFLINE, DefaultTenant_REALTIME]
"""

RETURN = r"""
instance:
  description: The instance id.
  returned: always
  type: str
  sample: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
before:
  description: The instance before the task.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether Pinot knew the instance.
      type: bool
    enabled:
      description: Whether it was enabled (V(null) when it did not exist).
      type: bool
    live:
      description: Whether its process was connected to the cluster.
      type: bool
    queries_disabled:
      description: Whether query routing to it was turned off.
      type: bool
    tags:
      description: Its tags.
      type: list
      elements: str
  sample: {"exists": true, "enabled": true, "live": false, "queries_disabled": false, "tags": [server_untagged]}
after:
  description: The instance after the task (in check mode, as it would be); same keys as RV(before).
  returned: always
  type: dict
  sample: {"exists": false, "enabled": null, "live": false, "queries_disabled": false, "tags": []}
drop_blockers:
  description:
    - With O(state=absent), what stands (or stood) in the way of dropping the instance.
  returned: when O(state=absent) and the instance existed
  type: dict
  contains:
    live:
      description: Whether the instance was live when checked.
      type: bool
    tables:
      description: Resources (typed table names) whose ideal state still contains the instance.
      type: list
      elements: str
  sample: {"live": false, "tables": []}
waited:
  description: Seconds spent waiting for the instance to stop being live (O(wait_not_live)).
  returned: when O(state=absent) and the instance existed
  type: float
  sample: 12.5
"""

import time

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delays
from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.instances import (
    drop_blockers_from_validation,
    drop_refusal,
    instance_id,
    parse_instance_id,
    tables_holding,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.names import instance_type

POLL_FIRST = 1.0
POLL_MAX = 15.0


def summarize(config, live):
    """The facts the module reports and diffs about one instance config (None = absent)."""
    if config is None:
        return {"exists": False, "enabled": None, "live": False, "queries_disabled": False, "tags": []}
    return {
        "exists": True,
        "enabled": config.get("enabled"),
        "live": live,
        "queries_disabled": str(config.get("queriesDisabled", "false")).lower() == "true",
        "tags": list(config.get("tags") or []),
    }


def all_ideal_states(client):
    """{typed table: {segment: {instance: state}}} for every table (the fallback drop check on older controllers)."""
    return dict((table, client.ideal_state(table, table_type).get(table_type, {}))
                for table, table_type in client.typed_tables())


def drop_blockers(client, name):
    """(live, [tables]) that keep Pinot from dropping `name`: its own check where present, else ours."""
    if client.has_drop_validation():
        return drop_blockers_from_validation(client.validate_drop([name]), name)
    return name in client.live_instances(), tables_holding(name, all_ideal_states(client))


def wait_until_not_live(client, name, timeout):
    """Poll the live instances with backoff until `name` is gone from them; returns seconds waited, or None on timeout."""
    start = time.monotonic()  # not the wall clock, which NTP may move while we wait
    deadline = start + timeout
    pauses = backoff_delays(POLL_FIRST, POLL_MAX)
    while name in client.live_instances():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(next(pauses), remaining))
    return round(time.monotonic() - start, 1)


def ensure_absent(module, client, name, config, result):
    live = result["before"]["live"]
    if live or module.check_mode or client.has_drop_validation():
        live, tables = drop_blockers(client, name)
    else:
        # Pinot refuses to DELETE an instance an ideal state holds (409, explained below), so without its validate
        # endpoint reading every table's ideal state first would only repeat that check at one call per table.
        tables = []
    result["drop_blockers"] = {"live": live, "tables": tables}
    result["waited"] = 0.0
    if tables or (live and not module.params["wait_not_live"]):
        module.fail_json(msg="%s. Nothing was changed." % drop_refusal(name, live, tables), **result)
    result.update(changed=True, after=summarize(None, False))
    if module.check_mode:
        if live:
            module.warn("Instance %s is still live: a real run would wait up to %ds for it to stop before dropping it."
                        % (name, module.params["wait_timeout"]))
        return
    if live:
        waited = wait_until_not_live(client, name, module.params["wait_timeout"])
        if waited is None:
            result.update(changed=False, after=result["before"], waited=float(module.params["wait_timeout"]))
            module.fail_json(msg="Instance %s is still live after waiting %ds, so Pinot would refuse to drop it; nothing "
                                 "was changed. Check that its process or pod has stopped, then run again." % (
                                     name, module.params["wait_timeout"]), **result)
        result["waited"] = waited
    try:
        dropped = client.drop_instance(name)
    except PinotError as exc:
        result.update(changed=False, after=result["before"])
        if exc.status == 409:
            # Something changed since the check (it came back, or a rebalance assigned it): say what, as of now.
            live, tables = drop_blockers(client, name)
            result["drop_blockers"] = {"live": live, "tables": tables}
            reason = drop_refusal(name, live, tables) or "Pinot refuses to drop instance %s" % name
            module.fail_from_error(exc, msg="%s. Nothing was changed" % reason, **result)
        module.fail_from_error(exc, msg="Could not drop instance %s" % name, **result)
    if not dropped:  # dropped by someone else (or StaleInstancesCleanupTask) meanwhile
        result["changed"] = False


def ensure_enabled(module, client, name, config, result, enable):
    if bool(config.get("enabled")) == enable:
        return
    after = dict(result["before"], enabled=enable)
    result.update(changed=True, after=after)
    if module.check_mode:
        return
    try:
        client.set_instance_state(name, "enable" if enable else "disable")
    except PinotError as exc:
        # Pinot writes the flag first and then waits up to 10 s for the replicas to follow; a dead instance
        # times out with 500 although the flag is set. Trust the flag, say so.
        now = client.get_instance(name) or {}
        if exc.status == 500 and bool(now.get("enabled")) == enable:
            module.warn("Pinot set instance %s %s but answered: %s" % (
                name, "enabled" if enable else "disabled", exc.pinot_message))
            return
        result.update(changed=False, after=result["before"])
        module.fail_from_error(exc, msg="Could not %s instance %s" % ("enable" if enable else "disable", name), **result)


def ensure_query_routing(module, client, name, config, result, disable):
    if instance_type(name) != "server":
        module.fail_json(msg="state=%s only applies to servers (brokers route queries to servers); %s is not a server. "
                             "Nothing was changed." % (module.params["state"], name), **result)
    if result["before"]["queries_disabled"] == disable:
        return
    unsupported = ("This Pinot controller cannot turn query routing %s for a server: the queries_disable and "
                   "queries_enable instance states arrived after Pinot 1.5. Nothing was changed. On this version use "
                   "state=disabled (the server's replicas go offline) instead." % ("off" if disable else "on"))
    # Read from the controller's API listing; None when it cannot be read, and then only the write itself tells.
    known = client.has_query_routing_states()
    if known is False:
        module.fail_json(msg=unsupported, **result)
    result.update(changed=True, after=dict(result["before"], queries_disabled=disable))
    if module.check_mode:
        if known is None:
            module.warn("Check mode cannot tell whether this controller can turn query routing %s (its API listing, "
                        "GET /swagger.json, could not be read); a real run finds out without changing anything if "
                        "it cannot." % ("off" if disable else "on"))
        return
    try:
        client.set_instance_state(name, "queries_disable" if disable else "queries_enable")
    except PinotError as exc:
        result.update(changed=False, after=result["before"])
        if exc.unsupported:
            module.fail_from_error(exc, msg=unsupported.rstrip("."), **result)
        module.fail_from_error(exc, msg="Could not turn query routing %s for %s" % ("off" if disable else "on", name), **result)


def ensure_present(module, client, name, result):
    params = module.params
    kind, host, port = parse_instance_id(name)
    kind, host, port = params["type"] or kind, params["host"] or host, params["port"] or port
    if not (kind and host and port):
        module.fail_json(msg="Cannot register %s: give type, host and port (the id is not <Type>_<host>_<port>). "
                             "Nothing was changed." % name, **result)
    if instance_id(kind, host, port) != name:
        module.fail_json(msg="Pinot would register type=%s host=%s port=%s as %s, not %s: make instance, type, host and "
                             "port agree. Nothing was changed." % (kind, host, port, instance_id(kind, host, port), name),
                         **result)
    body = {"host": host, "port": port, "type": kind.upper(), "tags": list(params["tags"])}
    result.update(changed=True, after={"exists": True, "enabled": True, "live": False, "queries_disabled": False,
                                       "tags": list(params["tags"])})
    if module.check_mode:
        return
    try:
        client.create_instance(body)
    except PinotError as exc:
        if exc.status == 409:  # registered by someone else meanwhile
            result.update(changed=False, after=result["before"])
            return
        result.update(changed=False, after=result["before"])
        module.fail_from_error(exc, msg="Could not register instance %s" % name, **result)


def main():
    module = PinotModule(
        argument_spec=dict(
            instance=dict(type="str", required=True),
            state=dict(type="str", required=True,
                       choices=["absent", "present", "enabled", "disabled", "queries_disabled", "queries_enabled"]),
            wait_not_live=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=300),
            host=dict(type="str"),
            port=dict(type="int"),
            type=dict(type="str", choices=["controller", "broker", "server", "minion"]),
            tags=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    name, state = params["instance"], params["state"]
    if params["wait_timeout"] < 0:
        module.fail_json(msg="wait_timeout must be 0 or more seconds, got %s" % params["wait_timeout"])
    if params["port"] is not None and not 0 < params["port"] < 65536:
        module.fail_json(msg="port must be between 1 and 65535, got %s" % params["port"])

    result = dict(changed=False, instance=name)
    try:
        config = client.get_instance(name)
        before = summarize(config, config is not None and name in client.live_instances())
        result.update(before=before, after=before)
        if config is None:
            if state == "present":
                ensure_present(module, client, name, result)
            elif state != "absent":
                module.fail_json(msg="Instance %s not found: Pinot does not know this id (list them with "
                                     "pinot_instance_info); nothing was changed" % name, **result)
        elif state == "absent":
            ensure_absent(module, client, name, config, result)
        elif state in ("enabled", "disabled"):
            ensure_enabled(module, client, name, config, result, state == "enabled")
        elif state in ("queries_disabled", "queries_enabled"):
            ensure_query_routing(module, client, name, config, result, state == "queries_disabled")
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not make instance %s %s" % (name, state), **result)
    if result["changed"] and module._diff:
        result["diff"] = dict(before=dict(result["before"], instance=name), after=dict(result["after"], instance=name))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
