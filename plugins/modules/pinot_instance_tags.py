#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
module: pinot_instance_tags
short_description: Set, add or remove the tags of an Apache Pinot instance
version_added: 0.1.0
description:
  - Sets, adds or removes the tags of one Pinot instance (server, broker, controller or minion), the way
    C(PUT /instances/{id}/updateTags?tags=...) does, but only when the tags differ (order does not matter).
  - Before changing anything it checks that the change is safe, and refuses a change that would leave a tenant with
    fewer instances than its tables need, unless O(force=true). Where the controller has Pinot's own safety check
    (C(POST /instances/updateTags/validate), Pinot 1.0 and newer) it uses it; otherwise it does the same check itself
    from the instances' tags and the table configs (a server tenant tag C(<tenant>_OFFLINE) or C(<tenant>_REALTIME)
    must stay on at least as many instances as the largest replication of the tenant's tables; a broker tag serving
    tables on at least one broker).
  - Removing a server's tenant tags stops new segments landing on it; to move the segments it holds, rebalance its
    tables afterwards (M(pinotops.pinot.pinot_table_rebalance)).
  - B(Restart caveat.) A server that starts with B(no tags at all) is given default tags by Pinot
    (V(DefaultTenant_OFFLINE) and V(DefaultTenant_REALTIME) when tenant isolation is on, the default), so an untag with
    O(tags=[]) is undone if the server restarts. For a drained or decommissioned server set O(tags=[server_untagged])
    instead - it carries no tenant tag, so rebalances move segments off it, and it survives a restart.
author:
  - pinotops maintainers (@pinotops)
extends_documentation_fragment:
  - pinotops.pinot.connection
  - pinotops.pinot.connection.ATTRIBUTES
attributes:
  check_mode:
    support: full
    description: Reads the instance and runs the safety check, changes nothing, and reports what would change.
  diff_mode:
    support: full
    description: Shows the instance's tags before and after.
options:
  instance:
    description:
      - Instance id, for example V(Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098).
      - An id Pinot does not know fails the task and changes nothing.
    type: str
    required: true
  tags:
    description:
      - The tags to set, add or remove (see O(mode)), for example V(DefaultTenant_OFFLINE) or V(server_untagged).
      - With O(mode=set), V([]) removes every tag (see the restart caveat above). With O(mode=add) or O(mode=remove) an
        empty list is refused (it would change nothing, and is more likely a mistake).
      - Tags cannot be empty or contain commas or spaces (Pinot sends them as one comma-separated parameter).
    type: list
    elements: str
    required: true
  mode:
    description:
      - V(set) makes the instance's tags exactly O(tags).
      - V(add) adds the tags in O(tags) it does not carry yet and keeps the others.
      - V(remove) removes the tags in O(tags) and keeps the others.
    type: str
    choices: [set, add, remove]
    default: set
  update_broker_resource:
    description:
      - For a broker whose C(<tenant>_BROKER) tags change, also update the broker resource so the broker starts or
        stops serving the tenant's tables (Pinot's C(updateBrokerResource=true)). Pinot ignores it for other instances.
    type: bool
    default: false
  force:
    description:
      - Change the tags even when the safety check says a tenant would be left with fewer instances than its tables
        need. The issues are still returned in RV(validation_issues) and as warnings.
    type: bool
    default: false
notes:
  - Pinot's own safety check also flags any tag without a tenant suffix (such as V(server_untagged)) as
    C(UNRECOGNISED_TAG_TYPE), and tenants that are already short of instances (C(ALREADY_DEFICIENT_TENANT)). This module
    refuses only a change that would leave a tenant short (C(MINIMUM_INSTANCE_UNSATISFIED)); the other issues are
    returned as warnings, except C(UNRECOGNISED_TAG_TYPE) for Pinot's own untagged tags, which is expected.
"""

EXAMPLES = r"""
- name: Drain pinot-server-3 (nothing new lands there; survives a restart)
  pinotops.pinot.pinot_instance_tags:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    tags: [server_untagged]

- name: Remove every tag, as the hand procedure's updateTags?tags= does
  pinotops.pinot.pinot_instance_tags:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    tags: []

- name: Put it back into the default tenant
  pinotops.pinot.pinot_instance_tags:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
    tags: [DefaultTenant_OFFLINE, DefaultTenant_REALTIME]

- name: Let a broker serve a second tenant
  pinotops.pinot.pinot_instance_tags:
    controller_url: http://pinot-controller.pinot-quickstart.svc:9000
    instance: Broker_pinot-broker-0.pinot-broker-headless.pinot-quickstart.svc.cluster.local_8099
    tags: [analytics_BROKER]
    mode: add
    update_broker_resource: true
"""

RETURN = r"""
instance:
  description: The instance id.
  returned: always
  type: str
  sample: Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098
tags_before:
  description: The instance's tags before the task.
  returned: success
  type: list
  elements: str
  sample: [DefaultTenant_OFFLINE, DefaultTenant_REALTIME]
tags:
  description: The instance's tags after the task (in check mode, the tags it would have).
  returned: success
  type: list
  elements: str
  sample: [server_untagged]
validation_issues:
  description:
    - What the safety check found, as C({code, message}) entries (Pinot's codes such as C(MINIMUM_INSTANCE_UNSATISFIED));
      empty when the change is safe or nothing changes.
  returned: always
  type: list
  elements: dict
  sample: [{"code": "MINIMUM_INSTANCE_UNSATISFIED",
            "message": "Tenant 'DefaultTenant' will not satisfy minimum 'server' requirement if tag 'DefaultTenant_REALTIME'
                        is removed from server instance 'Server_pinot-server-3...'."}]
validated_by:
  description:
    - V(pinot) when the controller's own check was used, V(pinotops) when this module did the equivalent check (older
      controllers), V(null) when no check was needed (no tag removed, or nothing changes).
  returned: always
  type: str
  sample: pinot
"""

from ansible_collections.pinotops.pinot.plugins.module_utils.common import PinotModule
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.plugins.module_utils.instances import (
    bad_tags,
    desired_tags,
    same_tags,
    split_validation,
    tag_kind,
    tag_update_issues,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.names import instance_type


def check_with_pinot(client, instance, new_tags):
    """(blocking, other) issues from the controller's own tag-update validation."""
    return split_validation(client.validate_tag_update({instance: new_tags}), instance)


def check_ourselves(client, instance, new_tags):
    """(blocking, other) issues from the equivalent check over all instances' tags and the table configs."""
    instance_tags = {}
    for name in client.list_instances():
        config = client.get_instance(name)
        if config is not None:
            instance_tags[name] = config.get("tags") or []
    table_configs = []
    for table in client.list_tables():
        table_configs.extend(client.get_table_config(table).values())
    return tag_update_issues(instance, new_tags, instance_tags, table_configs), []


def main():
    module = PinotModule(
        argument_spec=dict(
            instance=dict(type="str", required=True),
            tags=dict(type="list", elements="str", required=True),
            mode=dict(type="str", choices=["set", "add", "remove"], default="set"),
            update_broker_resource=dict(type="bool", default=False),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client, params = module.client, module.params
    name = params["instance"]
    result = dict(changed=False, instance=name, validation_issues=[], validated_by=None)

    if not params["tags"] and params["mode"] != "set":
        module.fail_json(msg="tags is an empty list, so mode=%s would %s no tag: give at least one tag (with mode=set, "
                             "tags: [] removes every tag). Nothing was changed." % (params["mode"], params["mode"]),
                         **result)
    malformed = bad_tags(params["tags"])
    if malformed:
        module.fail_json(msg="Cannot use tags %s for instance %s: a tag must not be empty or contain commas or spaces; "
                             "nothing was changed" % (", ".join(repr(tag) for tag in malformed), name), **result)

    try:
        config = client.get_instance(name)
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not read instance %s" % name, **result)
    if config is None:
        module.fail_json(msg="Instance %s not found: Pinot does not know this id (list them with pinot_instance_info); "
                             "nothing was changed" % name, **result)

    before = list(config.get("tags") or [])
    after = desired_tags(before, params["tags"], params["mode"])
    result.update(tags_before=before, tags=before)
    if same_tags(before, after):
        module.exit_json(**result)

    removes_tenant_tag = any(tag_kind(tag) for tag in before if tag not in after)
    try:
        if client.has_tag_validation():
            blocking, other = check_with_pinot(client, name, after)
            result["validated_by"] = "pinot"
        elif removes_tenant_tag:
            blocking, other = check_ourselves(client, name, after)
            result["validated_by"] = "pinotops"
        else:
            blocking, other = [], []
    except PinotError as exc:
        module.fail_from_error(exc, msg="Could not check whether changing the tags of %s from %s to %s is safe" % (
            name, before, after), **result)
    result["validation_issues"] = blocking + other
    for issue in other:
        module.warn("Pinot's tag check: %s" % issue.get("message"))
    if blocking and not params["force"]:
        module.fail_json(
            msg="Refusing to change the tags of %s from %s to %s: %s. Nothing was changed. Add instances to the tenant "
                "first, or set force=true if you accept it." % (
                    name, before, after, " ".join(issue.get("message", "") for issue in blocking).rstrip(".")), **result)
    for issue in blocking:
        module.warn("Changing the tags despite the safety check (force=true): %s" % issue.get("message"))
    if not after and instance_type(name) == "server":
        module.warn("Instance %s now has no tags: if the server restarts, Pinot gives it the default tenant tags again. "
                    "Use tags: [server_untagged] to keep a drained server out of every tenant." % name)

    result.update(changed=True, tags=after)
    if module._diff:
        result["diff"] = dict(before={"instance": name, "tags": before}, after={"instance": name, "tags": after})
    if not module.check_mode:
        try:
            client.update_instance_tags(name, after, params["update_broker_resource"])
        except PinotError as exc:
            result.update(changed=False, tags=before)
            result.pop("diff", None)  # nothing changed: no diff to show
            module.fail_from_error(exc, msg="Could not set the tags of %s to %s" % (name, after), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
