# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_restart_checks import FilterModule, restart_checks


def views(ideal, external):
    """A table's entry as pinot_segment_assignment_info returns it (include_segments=true)."""
    per_server = {}
    for servers in external.values():
        for server in servers:
            per_server[server] = per_server.get(server, 0) + 1
    return {"ideal_state": {"segments_to_servers": ideal},
            "external_view": {"segments_to_servers": external, "segments_per_server": per_server}}


TABLES = {
    "events_REALTIME": views({"s0": ["a", "b"], "s1": ["b", "c"]}, {"s0": ["a", "b"], "s1": ["b", "c"]}),
    "r1_REALTIME": views({"r0": ["a"], "r1": ["c"]}, {"r0": ["a"], "r1": ["c"]}),
    # b's other replica of t0 is still loading on c
    "stats_OFFLINE": views({"t0": ["b", "c"]}, {"t0": ["b"]}),
}


def test_registered():
    assert FilterModule().filters()["pinot_restart_checks"] is restart_checks


def test_replication_1_and_a_replica_still_loading_are_sole_replicas():
    assert restart_checks(TABLES, "a")["sole_replica_tables"] == ["r1_REALTIME"]
    assert restart_checks(TABLES, "b")["sole_replica_tables"] == ["stats_OFFLINE"]
    assert restart_checks(TABLES, "c")["sole_replica_tables"] == ["r1_REALTIME"]


def test_a_server_holding_nothing_is_safe_and_serves_nothing():
    assert restart_checks(TABLES, "d") == {"sole_replica_tables": [], "not_served": [], "serving_tables": []}


def test_a_segment_whose_only_replica_is_down_counts_as_sole():
    tables = {"t_OFFLINE": views({"x": ["a", "b"]}, {"x": ["a"]})}
    assert restart_checks(tables, "a")["sole_replica_tables"] == ["t_OFFLINE"]


def test_replicas_on_a_server_coming_back_count_as_serving():
    """A resumed roll: b was disabled and restarted by the killed run; a is not alone, b comes back before a goes."""
    tables = {"t_REALTIME": views({"x": ["a", "b"], "y": ["a", "c"]}, {"x": ["a"], "y": ["a", "c"]})}
    assert restart_checks(tables, "a")["sole_replica_tables"] == ["t_REALTIME"]
    assert restart_checks(tables, "a", returning=["b"])["sole_replica_tables"] == []
    # only the replicas the ideal state gives it count, and a server is never its own other replica
    assert restart_checks(tables, "a", returning=["d", "a"])["sole_replica_tables"] == ["t_REALTIME"]
    assert restart_checks(tables, "a", returning=["b"])["not_served"] == []


def test_not_served_is_what_the_ideal_state_gives_the_server_that_the_external_view_does_not():
    assert restart_checks(TABLES, "c")["not_served"] == ["stats_OFFLINE t0"]
    assert restart_checks(TABLES, "a")["not_served"] == []


def test_serving_tables_follow_the_external_view():
    assert restart_checks(TABLES, "b")["serving_tables"] == ["events_REALTIME", "stats_OFFLINE"]
    assert restart_checks(TABLES, "c")["serving_tables"] == ["events_REALTIME", "r1_REALTIME"]


def test_views_without_segments_are_an_error():
    with pytest.raises(AnsibleFilterError, match="include_segments=true"):
        restart_checks({"t_OFFLINE": {"ideal_state": {}, "external_view": {}}}, "a")
