# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils.plan import (
    bytes_by_server,
    decommission_moves,
    downtime_reason,
    min_available_after,
    plan_markdown,
    plan_removal,
    statefulset_instances,
    table_replication,
    table_server_tag,
)

TAGS = ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]


def realtime(replicas_per_partition="2", replication="1", tenant="DefaultTenant"):
    return {"tableType": "REALTIME", "tenants": {"server": tenant},
            "segmentsConfig": {"replication": replication, "replicasPerPartition": replicas_per_partition}}


def offline(replication="2"):
    return {"tableType": "OFFLINE", "tenants": {"server": "DefaultTenant"}, "segmentsConfig": {"replication": replication}}


@pytest.mark.parametrize("config, expected", [
    (realtime("2", "1"), 2),
    (realtime(None, "3"), 3),
    (realtime("", "3"), 3),
    (offline("2"), 2),
    (offline("x"), 1),
    ({"tableType": "OFFLINE", "segmentsConfig": {"replication": "1", "replicasPerPartition": "4"}}, 1),  # realtime only
    ({"tableType": "OFFLINE"}, 1),
])
def test_table_replication(config, expected):
    assert table_replication(config) == expected


def test_table_server_tag():
    assert table_server_tag(realtime(tenant="Gold")) == "Gold_REALTIME"
    assert table_server_tag({"tableType": "OFFLINE"}) == "DefaultTenant_OFFLINE"


def four_servers():
    return dict(("s%d" % i, list(TAGS)) for i in range(4))


def test_removing_one_of_four_is_safe():
    tables = {"events_REALTIME": {"config": realtime(), "ideal_state": {
        "events__0__0__x": {"s0": "ONLINE", "s3": "ONLINE"}, "events__1__0__x": {"s1": "CONSUMING", "s2": "CONSUMING"}}}}
    plan = plan_removal(["s3"], four_servers(), tables, live={"s0", "s1", "s2", "s3"})
    assert plan["safe"] and plan["problems"] == []
    (entry,) = plan["tables"]
    assert entry["segments_on_removed"] == {"s3": 1}
    assert entry["servers_after"] == ["s0", "s1", "s2"]


def test_removing_too_many_is_refused_and_says_why():
    tables = {"events_REALTIME": {"config": realtime(), "ideal_state": {}}}
    plan = plan_removal(["s1", "s2", "s3"], four_servers(), tables, live={"s0", "s1", "s2", "s3"})
    assert not plan["safe"]
    assert plan["problems"] == [
        "table events_REALTIME needs 2 live servers tagged DefaultTenant_REALTIME, but only 1 would remain (s0)"]


def test_a_dead_remaining_server_does_not_count():
    tables = {"stats_OFFLINE": {"config": offline("2"), "ideal_state": {"x": {"s0": "ONLINE", "s3": "ONLINE"}}}}
    servers = dict(("s%d" % i, ["DefaultTenant_OFFLINE"]) for i in range(3))
    servers["s3"] = ["DefaultTenant_OFFLINE"]
    plan = plan_removal(["s3"], servers, tables, live={"s0", "s3"})
    assert not plan["safe"]
    assert "only 1 would remain (s0); not live: s1, s2" in plan["problems"][0]


def test_untagged_server_still_holding_segments_is_affected():
    servers = four_servers()
    servers["s3"] = ["server_untagged"]
    tables = {"stats_OFFLINE": {"config": offline(), "ideal_state": {"x": {"s0": "ONLINE", "s3": "ONLINE"}}},
              "other_OFFLINE": {"config": offline(), "ideal_state": {"y": {"s0": "ONLINE", "s1": "ONLINE"}}}}
    plan = plan_removal(["s3"], servers, tables, live=set(servers))
    assert [t["table"] for t in plan["tables"]] == ["stats_OFFLINE"]
    assert plan["safe"]


def test_drained_server_affects_nothing():
    servers = four_servers()
    servers["s3"] = ["server_untagged"]
    tables = {"stats_OFFLINE": {"config": offline(), "ideal_state": {"x": {"s0": "ONLINE", "s1": "ONLINE"}}}}
    plan = plan_removal(["s3"], servers, tables, live=set(servers))
    assert plan == {"tables": [], "problems": [], "safe": True, "downtime_tables": []}


@pytest.mark.parametrize("replicas, wanted, kept", [
    (1, 1, None),  # the real cluster's abort: "must be less than number of replicas: 1"
    (2, 1, 1),
    (3, 1, 1),
    (2, 2, None),
    (3, 0, 0),
    (1, 0, 0),
    (3, -1, 2),  # negative: how many may be down at once
    (2, -1, 1),
    (1, -1, 0),
    (2, -5, 0),
])
def test_min_available_after_is_pinots_rule(replicas, wanted, kept):
    assert min_available_after(replicas, wanted) == kept


@pytest.mark.parametrize("replication, wanted, reason", [
    (2, 1, None),
    (3, -1, None),
    (1, 1, "replication 1: a segment's only replica cannot keep serving while it moves (Pinot aborts its no-downtime "
           "rebalance, because min_available_replicas 1 is not less than the replication 1)"),
    (1, -1, "replication 1: a segment's only replica cannot keep serving while it moves (min_available_replicas -1 "
            "keeps none of the 1 replicas of a moving segment serving: every replica may move at once)"),
    (2, 2, "Pinot aborts its no-downtime rebalance, because min_available_replicas 2 is not less than the replication 2"),
    (2, 0, "min_available_replicas 0 keeps none of the 2 replicas of a moving segment serving: every replica may move "
           "at once"),
    (2, -2, "min_available_replicas -2 keeps none of the 2 replicas of a moving segment serving: every replica may "
            "move at once"),
])
def test_downtime_reason(replication, wanted, reason):
    assert downtime_reason(replication, wanted) == reason


def test_tables_that_cannot_move_without_downtime_are_named():
    servers = four_servers()
    tables = {"events_REALTIME": {"config": realtime("2"), "ideal_state": {"e": {"s0": "ONLINE", "s3": "ONLINE"}}},
              "single_OFFLINE": {"config": offline("1"), "ideal_state": {"x": {"s3": "ONLINE"}}}}
    plan = plan_removal(["s3"], servers, tables, live=set(servers))
    assert plan["safe"] and plan["downtime_tables"] == ["single_OFFLINE"]
    events, single = plan["tables"]
    assert events["moves_without_downtime"] is True and events["downtime_reason"] is None
    assert single["moves_without_downtime"] is False and single["downtime_reason"].startswith("replication 1:")
    strict = plan_removal(["s3"], servers, tables, live=set(servers), min_available_replicas=2)
    assert strict["downtime_tables"] == ["events_REALTIME", "single_OFFLINE"]
    assert plan_removal(["s3"], servers, tables, live=set(servers), min_available_replicas=-1)["downtime_tables"] == [
        "single_OFFLINE"]


HELM = dict(service="pinot-server-headless", namespace="pinot-quickstart", domain="cluster.local", port=8098)


def helm_id(ordinal):
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % ordinal


def test_statefulset_scale_down_takes_highest_ordinals():
    assert statefulset_instances("pinot-server", 2, 4, [], **HELM) == [helm_id(2), helm_id(3)]


def test_statefulset_already_scaled_still_finds_known_servers():
    # The pod is gone (replicas already 3) but Pinot still lists pinot-server-3: a re-run converges.
    known = [helm_id(i) for i in range(4)] + ["Server_other_8098", helm_id(3).replace("pinot-server-3", "pinot-server-x")]
    assert statefulset_instances("pinot-server", 3, 3, known, **HELM) == [helm_id(3)]


def test_statefulset_nothing_to_do():
    assert statefulset_instances("pinot-server", 4, 4, [helm_id(i) for i in range(4)], **HELM) == []


def test_statefulset_custom_template():
    ids = statefulset_instances("srv", 1, 2, [], template="Server_{pod}_{port}", port=7000)
    assert ids == ["Server_srv-1_7000"]


def test_statefulset_template_without_pod():
    with pytest.raises(ValueError):
        statefulset_instances("srv", 1, 2, [], template="Server_x_{port}", port=1)


def test_bytes_by_server_sums_the_servers_figures():
    reply = {"realtimeSegments": {"segments": {
        "a": {"serverInfo": {"s3": {"diskSizeInBytes": 100}, "s0": {"diskSizeInBytes": 100}}},
        "b": {"serverInfo": {"s3": {"diskSizeInBytes": 50}, "s1": {"diskSizeInBytes": -1}}}}}}
    assert bytes_by_server(reply, "REALTIME", {"s3", "s1"}) == {"s3": 150}  # -1: the server reported no size
    assert bytes_by_server(reply, "OFFLINE", {"s3"}) == {}
    assert bytes_by_server(None, "OFFLINE", {"s3"}) == {}


def test_decommission_moves_and_markdown():
    tables = {"events_REALTIME": {"config": realtime(), "ideal_state": {
        "events__0__0__x": {"s0": "ONLINE", "s3": "ONLINE"}, "events__0__1__x": {"s0": "CONSUMING", "s3": "CONSUMING"}}}}
    plan = plan_removal(["s3"], four_servers(), tables, live={"s0", "s1", "s2", "s3"})
    (server,) = decommission_moves(["s3"], {"s0", "s1", "s2", "s3"}, four_servers(), plan["tables"],
                                   {"events_REALTIME": {"s3": 2048}})
    assert server == {"name": "s3", "live": True, "tags": sorted(TAGS), "tables": [
        {"table": "events_REALTIME", "segments": 2, "consuming": 1, "bytes": 2048, "replication": 2,
         "replication_after": 2, "servers_after": ["s0", "s1", "s2"]}]}
    record = {"hash": "h" * 64, "created_at": "2026-11-30T20:00:00Z", "decision": {"remove": ["s3"], "target_replicas": 3},
              "fingerprint": {"cluster": "C", "statefulset": {"namespace": "n", "name": "pinot-server", "replicas": 4}},
              "servers": [server], "problems": []}
    text = plan_markdown(record)
    assert "| `s3` | events_REALTIME | 2 | 1 | 2048 | 2 -> 2 | 3 |" in text
    assert "StatefulSet `n/pinot-server`: 4 -> 3 replicas" in text and "rebalance dry run is not asked" in text
