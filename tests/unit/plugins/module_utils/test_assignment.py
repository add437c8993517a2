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
    assert assignment.under_replicated(ideal_state, external_view) == {"seg_0": {"expected": 3, "serving": [S0, S1]}}


def test_segments_offline_in_the_ideal_state_are_not_expected_anywhere():
    ideal_state = {"seg_0": {S0: "OFFLINE", S1: "OFFLINE"}}
    assert assignment.under_replicated(ideal_state, {}, 2) == {}


def test_moving_segment_is_not_converged():
    ideal_state = {"seg_0": {S0: "ONLINE", S2: "ONLINE"}}
    external_view = {"seg_0": {S0: "ONLINE", S1: "ONLINE"}}
    assert assignment.not_converged(ideal_state, external_view) == {
        "seg_0": {"ideal_state": [S0, S2], "external_view": [S0, S1]}}


def test_rename_instances():
    names = assignment.short_server_names([S0, S1])
    renamed = assignment.rename_instances({"seg_0": {S0: "ONLINE", S1: "ERROR", "Server_x_1": "ONLINE"}}, names)
    assert renamed == {"seg_0": {"pinot-server-0": "ONLINE", "pinot-server-1": "ERROR", "Server_x_1": "ONLINE"}}
