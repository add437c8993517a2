# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils import assignment
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import server_id

S0, S1, S2, S3 = (server_id(i) for i in range(4))
S10 = server_id(10)

# Shaped like GET /tables/events/idealstate of a realtime table with 3 partitions and replication 2:
# completed segments ONLINE, the newest segment of each partition CONSUMING.
REALTIME_IS = {
    "events__0__0__20260101T0000Z": {S0: "ONLINE", S1: "ONLINE"},
    "events__0__1__20260101T0100Z": {S0: "CONSUMING", S1: "CONSUMING"},
    "events__1__0__20260101T0000Z": {S1: "ONLINE", S2: "ONLINE"},
    "events__1__1__20260101T0100Z": {S1: "CONSUMING", S2: "CONSUMING"},
    "events__2__0__20260101T0000Z": {S2: "CONSUMING", S3: "CONSUMING"},
}
# Segment names Pinot gives offline (SimpleSegmentNameGenerator) and uploaded segments: no partition.
OFFLINE_IS = {
    "events_1767225600000_1767229200000_0": {S0: "ONLINE", S3: "ONLINE"},
    "events_1767229200000_1767232800000_1": {S1: "ONLINE", S3: "ONLINE"},
}


def test_segments_by_instance():
    view = {"s0": {"a": "ONLINE", "b": "ONLINE"}, "s1": {"b": "CONSUMING"}, "s2": {"b": "OFFLINE", "c": "ERROR"}}
    assert assignment.segments_by_instance(view) == {"a": 1, "b": 3, "c": 1}
    assert assignment.segments_by_instance(view, assignment.SERVING_STATES) == {"a": 1, "b": 2}
    assert assignment.segments_by_instance(view, instances=["b", "d"]) == {"b": 3, "d": 0}
    assert assignment.segments_by_instance(view, ("ERROR",), instances=["c"]) == {"c": 1}


@pytest.mark.parametrize("segment, partition", [
    ("events__0__0__20260101T0000Z", 0),
    ("events__12__345__20260101T0000Z", 12),
    ("my_events__3__7__20241122T1010Z", 3),
    ("events_1767225600000_1767229200000_0", None),
    ("uploaded__events__0__20260101T0000Z__abc", None),
    ("events__x__0__20260101T0000Z", None),
    ("events", None),
])
def test_segment_partition(segment, partition):
    assert assignment.segment_partition(segment) == partition


@pytest.mark.parametrize("instance, short", [
    (S3, "pinot-server-3"),
    ("Server_pinot-server-12.pinot-server-headless.ns.svc.cluster.local_8098", "pinot-server-12"),
    ("Server_localhost_8010", "localhost_8010"),
    ("Server_10.0.0.5_8098", "10.0.0.5_8098"),
    ("Server_pinot-server-3", "pinot-server-3"),
    ("custom.host.example.com_8098", "custom"),
])
def test_short_server_name(instance, short):
    assert assignment.short_server_name(instance) == short


def test_short_names_keep_full_ids_when_they_would_collide():
    other = "Server_pinot-server-0.pinot-server-headless.other-namespace.svc.cluster.local_8098"
    names = assignment.short_server_names([S0, other, S1])
    assert names == {S0: S0, other: other, S1: "pinot-server-1"}


def test_natural_order_of_servers():
    servers = ["pinot-server-10", "pinot-server-2", "pinot-server-1"]
    assert sorted(servers, key=assignment.natural_key) == ["pinot-server-1", "pinot-server-2", "pinot-server-10"]


@pytest.mark.parametrize("names, in_order", [
    (["seg_10", "seg_2", "seg_2b", "seg_", "seg"], ["seg", "seg_", "seg_2", "seg_2b", "seg_10"]),
    # names starting with a digit come before names starting with text, the empty name first of all
    (["b", "a10", "10x", "", "2x", "a"], ["", "2x", "10x", "a", "a10", "b"]),
    (["t__10__0__20260101T0000Z", "t__2__11__20260101T0000Z", "t__2__3__20260101T0000Z"],
     ["t__2__3__20260101T0000Z", "t__2__11__20260101T0000Z", "t__10__0__20260101T0000Z"]),
])
def test_natural_order(names, in_order):
    assert sorted(names, key=assignment.natural_key) == in_order


def test_view_summary_of_a_realtime_table():
    view = assignment.view_summary(REALTIME_IS)
    assert view["segment_count"] == 5
    assert view["segments_to_servers"]["events__1__1__20260101T0100Z"] == [S1, S2]
    assert view["partitions_to_servers"] == {"0": [S0, S1], "1": [S1, S2], "2": [S2, S3]}
    assert view["servers_to_partitions"] == {S0: [0], S1: [0, 1], S2: [1, 2], S3: [2]}
    assert view["segments_per_server"] == {S0: 2, S1: 4, S2: 3, S3: 1}
    assert list(view["partitions_to_servers"]) == ["0", "1", "2"]


def test_view_summary_of_an_offline_table_has_no_partitions():
    view = assignment.view_summary(OFFLINE_IS)
    assert view["partitions_to_servers"] == {}
    assert view["servers_to_partitions"] == {S0: [], S1: [], S3: []}
    assert view["segments_per_server"] == {S0: 1, S1: 1, S3: 2}


def test_view_summary_counts_only_served_replicas():
    external_view = {"events__0__0__20260101T0000Z": {S0: "ONLINE", S1: "ERROR"},
                     "events__1__0__20260101T0000Z": {S2: "OFFLINE"}}
    view = assignment.view_summary(external_view)
    assert view["segments_to_servers"] == {"events__0__0__20260101T0000Z": [S0]}
    assert view["partitions_to_servers"] == {"0": [S0]}
    assert view["segments_per_server"] == {S0: 1}


def test_healthy_table_has_no_problems():
    table = assignment.table_assignment(REALTIME_IS, REALTIME_IS, 2)
    assert table["replication"] == 2
    assert table["under_replicated"] == {} and table["error_segments"] == {} and table["offline_segments"] == {}
    assert table["not_converged"] == {}
    assert table["ideal_state"] == table["external_view"]


def test_problems_from_the_external_view():
    external_view = {
        "events__0__0__20260101T0000Z": {S0: "ONLINE", S1: "ONLINE"},
        "events__0__1__20260101T0100Z": {S0: "CONSUMING", S1: "ERROR"},
        "events__1__0__20260101T0000Z": {S1: "ONLINE", S2: "OFFLINE"},
        "events__1__1__20260101T0100Z": {S1: "CONSUMING", S2: "CONSUMING"},
        # events__2__0 not in the external view at all (its servers are down)
    }
    table = assignment.table_assignment(REALTIME_IS, external_view, 2)
    assert table["under_replicated"] == {
        "events__0__1__20260101T0100Z": {"expected": 2, "serving": [S0]},
        "events__1__0__20260101T0000Z": {"expected": 2, "serving": [S1]},
        "events__2__0__20260101T0000Z": {"expected": 2, "serving": []},
    }
    assert table["error_segments"] == {"events__0__1__20260101T0100Z": [S1]}
    assert table["offline_segments"] == {"events__1__0__20260101T0000Z": [S2]}
    assert table["not_converged"]["events__2__0__20260101T0000Z"] == {"ideal_state": [S2, S3], "external_view": []}
    assert table["external_view"]["servers_to_partitions"] == {S0: [0], S1: [0, 1], S2: [1]}


def test_replication_above_the_assignment_is_under_replicated():
    table = assignment.table_assignment(OFFLINE_IS, OFFLINE_IS, 3)
    assert sorted(table["under_replicated"]) == sorted(OFFLINE_IS)


def test_without_replication_the_ideal_state_sets_the_expectation():
    ideal_state = {"seg_0": {S0: "ONLINE", S1: "ONLINE", S2: "ONLINE"}}
    external_view = {"seg_0": {S0: "ONLINE", S1: "ONLINE"}}
    assert assignment.table_assignment(ideal_state, external_view)["under_replicated"] == {"seg_0": {"expected": 3, "serving": [S0, S1]}}


def test_segments_offline_in_the_ideal_state_are_not_expected_anywhere():
    ideal_state = {"seg_0": {S0: "OFFLINE", S1: "OFFLINE"}}
    assert assignment.table_assignment(ideal_state, {}, 2)["under_replicated"] == {}


def test_moving_segment_is_not_converged():
    ideal_state = {"seg_0": {S0: "ONLINE", S2: "ONLINE"}}
    external_view = {"seg_0": {S0: "ONLINE", S1: "ONLINE"}}
    assert assignment.table_assignment(ideal_state, external_view)["not_converged"] == {
        "seg_0": {"ideal_state": [S0, S2], "external_view": [S0, S1]}}


def rename_instances(view, names):
    """The view with instance ids replaced through `names`: the oracle rename_servers is checked against."""
    return dict((segment, dict((names.get(instance, instance), state) for instance, state in replicas.items()))
                for segment, replicas in view.items())


def in_order(value):
    """Dicts as lists of (key, value), recursively: comparing these compares the order of the keys too."""
    if isinstance(value, dict):
        return [(key, in_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [in_order(item) for item in value]
    return value


# One table that has it all, its names out of order: segments seg_2 and seg_10 (natural order), partitions 2 and
# 10, servers 2 and 10, a segment OFFLINE in the ideal state, replicas in ERROR and OFFLINE, a segment missing
# from the external view and one only in it.
MIXED_IS = {
    "seg_10": {S10: "ONLINE", S2: "ONLINE"},
    "events__10__0__20260101T0000Z": {S10: "CONSUMING", S2: "CONSUMING"},
    "seg_2": {S2: "ONLINE", S1: "ONLINE"},
    "events__2__0__20260101T0000Z": {S1: "ONLINE", S10: "ONLINE"},
    "seg_1": {S1: "OFFLINE", S2: "OFFLINE"},
}
MIXED_EV = {
    "seg_10": {S10: "ERROR", S2: "ONLINE"},
    "events__10__0__20260101T0000Z": {S10: "CONSUMING", S2: "OFFLINE"},
    "seg_2": {S2: "ONLINE", S1: "ONLINE"},
    "seg_1": {S1: "OFFLINE"},
    "seg_3": {S1: "ONLINE"},
}
# What table_assignment(MIXED_IS, MIXED_EV, 2) returned before it sorted each table's segments once, order included
# (plus `servers`, added later).
MIXED_TABLE = {
    "replication": 2,
    "servers": [S1, S2, S10],
    "ideal_state": {
        "segment_count": 4,
        "segments_to_servers": {"events__2__0__20260101T0000Z": [S1, S10], "events__10__0__20260101T0000Z": [S2, S10],
                                "seg_2": [S1, S2], "seg_10": [S2, S10]},
        "partitions_to_servers": {"2": [S1, S10], "10": [S2, S10]},
        "servers_to_partitions": {S1: [2], S2: [10], S10: [2, 10]},
        "segments_per_server": {S1: 2, S2: 3, S10: 3},
    },
    "external_view": {
        "segment_count": 4,
        "segments_to_servers": {"events__10__0__20260101T0000Z": [S10], "seg_2": [S1, S2], "seg_3": [S1], "seg_10": [S2]},
        "partitions_to_servers": {"10": [S10]},
        "servers_to_partitions": {S1: [], S2: [], S10: [10]},
        "segments_per_server": {S1: 2, S2: 2, S10: 1},
    },
    "under_replicated": {"events__2__0__20260101T0000Z": {"expected": 2, "serving": []},
                         "events__10__0__20260101T0000Z": {"expected": 2, "serving": [S10]},
                         "seg_10": {"expected": 2, "serving": [S2]}},
    "error_segments": {"seg_10": [S10]},
    "offline_segments": {"events__10__0__20260101T0000Z": [S2], "seg_1": [S1]},
    "not_converged": {
        "events__2__0__20260101T0000Z": {"ideal_state": [S1, S10], "external_view": []},
        "events__10__0__20260101T0000Z": {"ideal_state": [S2, S10], "external_view": [S10]},
        "seg_3": {"ideal_state": [], "external_view": [S1]},
        "seg_10": {"ideal_state": [S2, S10], "external_view": [S2]},
    },
}


def test_table_assignment_is_the_same_as_before():
    assert in_order(assignment.table_assignment(MIXED_IS, MIXED_EV, 2)) == in_order(MIXED_TABLE)


def test_each_view_alone_is_the_same_as_in_the_table():
    assert in_order(assignment.view_summary(MIXED_IS)) == in_order(MIXED_TABLE["ideal_state"])
    assert in_order(assignment.view_summary(MIXED_EV)) == in_order(MIXED_TABLE["external_view"])


def test_servers_lists_a_server_whatever_the_state_of_its_replicas():
    """The decommission role's verify step: a drained server must be in neither view, not even in ERROR or OFFLINE."""
    external_view = {"seg_1": {S1: "ONLINE", S10: "ERROR"}, "seg_2": {S2: "OFFLINE"}}
    table = assignment.table_assignment({"seg_1": {S1: "ONLINE"}}, external_view, 1)
    assert table["servers"] == [S1, S2, S10]
    assert S10 not in table["external_view"]["segments_per_server"]


def test_a_table_without_external_view():
    table = assignment.table_assignment(MIXED_IS, {}, 2)
    assert table["external_view"] == {"segment_count": 0, "segments_to_servers": {}, "partitions_to_servers": {},
                                      "servers_to_partitions": {}, "segments_per_server": {}}
    assert in_order(table["under_replicated"]) == in_order(dict(
        (segment, {"expected": 2, "serving": []}) for segment in MIXED_TABLE["ideal_state"]["segments_to_servers"]))
    assert list(table["not_converged"]) == list(MIXED_TABLE["ideal_state"]["segments_to_servers"])
    assert table["error_segments"] == {} and table["offline_segments"] == {}


def test_the_parts_of_the_result_are_separate_lists():
    table = assignment.table_assignment(MIXED_IS, MIXED_EV, 2)
    table["under_replicated"]["seg_10"]["serving"].append("changed")
    table["not_converged"]["seg_10"]["ideal_state"].append("changed")
    assert table["external_view"]["segments_to_servers"]["seg_10"] == [S2]
    assert table["ideal_state"]["segments_to_servers"]["seg_10"] == [S2, S10]


# Short names that sort otherwise than the ids: Server_... < alpha... by id, alpha < pinot-server-2 < zeta by name.
ZETA, ALPHA = "Server_zeta.pinot.svc_8098", "alpha.pinot.svc_8098"


@pytest.mark.parametrize("ideal_state, external_view", [
    (MIXED_IS, MIXED_EV),
    ({"events__0__0__20260101T0000Z": {ZETA: "ONLINE", S2: "ONLINE", ALPHA: "ONLINE"},
      "events__1__0__20260101T0000Z": {ZETA: "ONLINE", ALPHA: "ONLINE"}},
     {"events__0__0__20260101T0000Z": {ZETA: "ERROR", S2: "ONLINE", ALPHA: "ONLINE"},
      "events__1__0__20260101T0000Z": {ZETA: "OFFLINE", ALPHA: "ONLINE", S2: "ONLINE"}}),
])
def test_renaming_the_result_is_renaming_the_views(ideal_state, external_view):
    names = assignment.short_server_names(assignment.instances_of(ideal_state, external_view))
    expected = assignment.table_assignment(rename_instances(ideal_state, names), rename_instances(external_view, names), 3)
    renamed = assignment.rename_servers(assignment.table_assignment(ideal_state, external_view, 3), names)
    assert in_order(renamed) == in_order(expected)


def test_renaming_re_sorts_the_servers():
    ideal_state = {"seg_0": {ZETA: "ONLINE", S2: "ONLINE", ALPHA: "ONLINE"}}
    table = assignment.table_assignment(ideal_state, ideal_state)
    assert table["ideal_state"]["segments_to_servers"]["seg_0"] == [S2, ZETA, ALPHA]
    renamed = assignment.rename_servers(table, assignment.short_server_names([ZETA, S2, ALPHA]))
    assert renamed["ideal_state"]["segments_to_servers"]["seg_0"] == ["alpha", "pinot-server-2", "zeta"]
    assert list(renamed["external_view"]["segments_per_server"]) == ["alpha", "pinot-server-2", "zeta"]
    assert table["ideal_state"]["segments_to_servers"]["seg_0"] == [S2, ZETA, ALPHA]  # the input is left as it was


def test_renaming_keeps_left_out_segment_maps_out():
    table = assignment.table_assignment(MIXED_IS, MIXED_EV, 2)
    del table["ideal_state"]["segments_to_servers"]
    renamed = assignment.rename_servers(table, assignment.short_server_names([S1, S2, S10]))
    assert "segments_to_servers" not in renamed["ideal_state"]
    assert renamed["external_view"]["segments_to_servers"]["seg_10"] == ["pinot-server-2"]
