# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils.instances import (
    bad_tags,
    desired_tags,
    drop_blockers_from_validation,
    drop_refusal,
    instance_id,
    minimum_instances_for_tags,
    parse_instance_id,
    same_tags,
    split_validation,
    tables_holding,
    tag_update_issues,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.names import INSTANCE_TYPES, instance_type

OFF, RT = "DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"


def config(table_type, replication=None, replicas_per_partition=None, server="DefaultTenant", broker="DefaultTenant"):
    segments = {}
    if replication is not None:
        segments["replication"] = str(replication)
    if replicas_per_partition is not None:
        segments["replicasPerPartition"] = str(replicas_per_partition)
    return {"tableType": table_type, "segmentsConfig": segments, "tenants": {"server": server, "broker": broker}}


@pytest.mark.parametrize("current, tags, mode, expected", [
    ([OFF, RT], [], "set", []),
    ([OFF, RT], ["server_untagged"], "set", ["server_untagged"]),
    ([OFF], [RT, OFF, RT], "set", [RT, OFF]),
    ([OFF], [RT, OFF], "add", [OFF, RT]),
    ([OFF, RT], [RT, "absent_tag"], "remove", [OFF]),
    ([], [OFF], "remove", []),
    (None, [OFF], "add", [OFF]),
])
def test_desired_tags(current, tags, mode, expected):
    assert desired_tags(current, tags, mode) == expected


def test_desired_tags_unknown_mode():
    with pytest.raises(ValueError):
        desired_tags([], [], "replace")


def test_same_tags_ignores_order():
    assert same_tags([OFF, RT], [RT, OFF])
    assert not same_tags([OFF], [OFF, RT])
    assert same_tags(None, [])


def test_bad_tags():
    assert bad_tags(["ok_OFFLINE", "", "a,b", " padded", "in side"]) == ["", "a,b", " padded", "in side"]


def test_minimum_instances_take_the_largest_replication_per_tenant_tag():
    needed = minimum_instances_for_tags([config("OFFLINE", 2), config("OFFLINE", 3), config("REALTIME", 1, 2),
                                         config("OFFLINE", 1, server="other", broker="otherBroker")])
    assert needed == {OFF: 3, RT: 2, "other_OFFLINE": 1, "DefaultTenant_BROKER": 1, "otherBroker_BROKER": 1}


def servers(n, tags=(OFF, RT)):
    return dict(("Server_%d" % i, list(tags)) for i in range(n))


def test_untagging_one_of_four_servers_is_safe_with_replication_2():
    assert tag_update_issues("Server_3", ["server_untagged"], servers(4), [config("REALTIME", 1, 2)]) == []


def test_untagging_below_replication_is_flagged_per_tag():
    tags = servers(2)
    issues = tag_update_issues("Server_1", [], tags, [config("REALTIME", 1, 2), config("OFFLINE", 2)])
    assert [i["code"] for i in issues] == ["MINIMUM_INSTANCE_UNSATISFIED"] * 2
    assert "Tenant 'DefaultTenant'" in issues[0]["message"] and "'%s' is removed from server instance 'Server_1'" % OFF in issues[0]["message"]
    assert "need 2, 1 would remain (Server_0)" in issues[0]["message"]


def test_tags_without_tables_or_tenant_suffix_are_not_checked():
    tags = servers(1, tags=(OFF, "custom"))
    assert tag_update_issues("Server_0", [], tags, []) == []
    assert tag_update_issues("Server_0", [], tags, [config("REALTIME", 1)]) == []  # only the realtime tag is needed


def test_other_tenant_tables_do_not_count():
    tags = servers(1)
    assert tag_update_issues("Server_0", [], tags, [config("OFFLINE", 2, server="other")]) == []


def test_last_broker_of_a_tenant_with_tables():
    tags = {"Broker_0": ["DefaultTenant_BROKER"]}
    issues = tag_update_issues("Broker_0", ["broker_untagged"], tags, [config("OFFLINE", 1)])
    assert len(issues) == 1 and "minimum 'broker' requirement" in issues[0]["message"]


def test_unknown_instance_in_tags_map_has_nothing_to_remove():
    assert tag_update_issues("Server_9", [], servers(1), [config("OFFLINE", 5)]) == []


def test_split_validation_blocks_only_on_minimum_unsatisfied():
    reply = [
        {"instanceName": "Server_3", "isSafe": False, "issues": [
            {"code": "MINIMUM_INSTANCE_UNSATISFIED", "message": "Tenant 'DefaultTenant' will not ..."},
            {"code": "UNRECOGNISED_TAG_TYPE", "message": "The tag 'server_untagged' does not follow the suffix convention"},
            {"code": "UNRECOGNISED_TAG_TYPE", "message": "The tag 'weird' does not follow the suffix convention"}]},
        {"instanceName": "Server_other", "isSafe": False, "issues": [{"code": "MINIMUM_INSTANCE_UNSATISFIED", "message": "x"}]},
        {"isSafe": False, "issues": [{"code": "ALREADY_DEFICIENT_TENANT", "message": "Tenant 'T' is low on 'server'"}]},
    ]
    blocking, other = split_validation(reply, "Server_3")
    assert [i["code"] for i in blocking] == ["MINIMUM_INSTANCE_UNSATISFIED"]
    assert [i["message"] for i in other] == ["The tag 'weird' does not follow the suffix convention",
                                             "Tenant 'T' is low on 'server'"]
    assert split_validation([], "Server_3") == ([], [])


def test_tables_holding():
    ideal_states = {
        "events_REALTIME": {"s0": {"Server_1": "CONSUMING", "Server_2": "CONSUMING"}},
        "stats_OFFLINE": {"s0": {"Server_3": "ONLINE"}, "s1": {"Server_1": "OFFLINE"}},
        "empty_OFFLINE": {},
        "none_OFFLINE": None,
    }
    assert tables_holding("Server_1", ideal_states) == ["events_REALTIME", "stats_OFFLINE"]
    assert tables_holding("Server_9", ideal_states) == []


def test_drop_blockers_from_validation():
    reply = [{"instanceName": "Server_3", "isSafe": False, "issues": [
        {"code": "IS_ALIVE", "message": "Instance Server_3 is still live"},
        {"code": "CONTAINS_RESOURCE", "message": "Instance Server_3 exists in ideal state for stats_OFFLINE"},
        {"code": "CONTAINS_RESOURCE", "message": "Instance Server_3 exists in ideal state for events_REALTIME"}]},
        {"instanceName": "Server_2", "isSafe": False, "issues": [{"code": "IS_ALIVE", "message": "x"}]}]
    assert drop_blockers_from_validation(reply, "Server_3") == (True, ["events_REALTIME", "stats_OFFLINE"])
    assert drop_blockers_from_validation([{"instanceName": "Server_9", "isSafe": True, "issues": []}], "Server_9") == (False, [])


def test_drop_refusal_says_which_and_names_tables():
    assert drop_refusal("Server_3", False, []) is None
    live_only = drop_refusal("Server_3", True, [])
    assert "still live" in live_only and "ideal state" not in live_only
    both = drop_refusal("Server_3", True, ["events_REALTIME", "stats_OFFLINE"])
    assert "still live" in both and "ideal state of events_REALTIME, stats_OFFLINE" in both


@pytest.mark.parametrize("name, expected", [
    ("Server_pinot-server-3.pinot-server-headless.ns.svc.cluster.local_8098",
     ("server", "pinot-server-3.pinot-server-headless.ns.svc.cluster.local", 8098)),
    ("Broker_localhost_8099", ("broker", "localhost", 8099)),
    ("Server_host_with_underscores_1", ("server", "host_with_underscores", 1)),
    ("Server_noport", ("server", None, None)),
    ("Minion_h_x", ("minion", "h", None)),
    ("Something_else_1", (None, None, None)),
])
def test_parse_instance_id(name, expected):
    assert parse_instance_id(name) == expected


def test_instance_id_round_trip():
    assert instance_id("server", "pinot-server-4.h", 8098) == "Server_pinot-server-4.h_8098"


def test_one_prefix_map_for_instance_ids():
    """parse_instance_id and names.instance_type read the same map (there used to be two copies)."""
    for prefix, kind in INSTANCE_TYPES.items():
        name = "%shost.example_8098" % prefix
        assert parse_instance_id(name) == (kind, "host.example", 8098) and instance_type(name) == kind
