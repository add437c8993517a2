# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_segment_assignment_info
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import error, server_id

S0, S1, S2, S3 = (server_id(i) for i in range(4))


def llc(partition, sequence, raw="events"):
    return "%s__%d__%d__20260101T%02d00Z" % (raw, partition, sequence, sequence)


@pytest.fixture
def cluster(fake):
    """Hybrid `events`: realtime with 5 partitions x 2 replicas (one CONSUMING segment each), offline with 2 segments;
    offline-only `stats` with replication 3."""
    realtime = {}
    for partition in range(5):
        servers = (server_id(partition % 4), server_id((partition + 1) % 4))
        realtime[llc(partition, 0)] = dict((s, "ONLINE") for s in servers)
        realtime[llc(partition, 1)] = dict((s, "CONSUMING") for s in servers)
    fake.add_table("events_REALTIME", realtime, replication=2)
    fake.add_table("events_OFFLINE", {"events_1767225600000_1767229200000_0": {S0: "ONLINE", S2: "ONLINE"},
                                      "events_1767229200000_1767232800000_1": {S1: "ONLINE", S3: "ONLINE"}}, replication=2)
    fake.add_table("stats_OFFLINE", {"stats_0": {S0: "ONLINE", S1: "ONLINE", S2: "ONLINE"}}, replication=3)
    return fake


def run(run_module, fake, **more):
    """Run the module; options given as None are left out, as a playbook would."""
    more = dict((key, value) for key, value in more.items() if value is not None)
    more["controller_url"] = fake.url
    return run_module(pinot_segment_assignment_info, more)


def test_every_table(run_module, cluster):
    result = run(run_module, cluster)
    assert result["changed"] is False
    assert sorted(result["tables"]) == ["events_OFFLINE", "events_REALTIME", "stats_OFFLINE"]
    assert result["problems"] == []
    assert "server_names" not in result
    realtime = result["tables"]["events_REALTIME"]
    assert realtime["table_type"] == "REALTIME" and realtime["replication"] == 2
    view = realtime["external_view"]
    assert view["segment_count"] == 10
    assert view["partitions_to_servers"] == {"0": [S0, S1], "1": [S1, S2], "2": [S2, S3], "3": [S0, S3], "4": [S0, S1]}
    assert view["servers_to_partitions"] == {S0: [0, 3, 4], S1: [0, 1, 4], S2: [1, 2], S3: [2, 3]}
    assert view["segments_per_server"] == {S0: 6, S1: 6, S2: 4, S3: 4}
    assert view["segments_to_servers"][llc(3, 1)] == [S0, S3]
    assert realtime["ideal_state"] == view and realtime["not_converged"] == {}
    offline = result["tables"]["events_OFFLINE"]
    assert offline["external_view"]["partitions_to_servers"] == {}
    assert offline["external_view"]["segments_per_server"] == {S0: 1, S1: 1, S2: 1, S3: 1}


def test_one_table_per_view_uses_three_reads(run_module, cluster):
    result = run(run_module, cluster, table="events", table_type="REALTIME")
    assert list(result["tables"]) == ["events_REALTIME"]
    assert [c[1] for c in cluster.requests] == ["/tables/events", "/tables/events/idealstate", "/tables/events/externalview"]


@pytest.mark.parametrize("table, table_type, expected", [
    ("events", None, ["events_OFFLINE", "events_REALTIME"]),
    ("events_OFFLINE", None, ["events_OFFLINE"]),
    ("events_OFFLINE", "OFFLINE", ["events_OFFLINE"]),
    (None, "OFFLINE", ["events_OFFLINE", "stats_OFFLINE"]),
    (["events_REALTIME", "stats_OFFLINE"], None, ["events_REALTIME", "stats_OFFLINE"]),
    (["events_REALTIME", "events"], None, ["events_OFFLINE", "events_REALTIME"]),
    (["events", "stats"], "OFFLINE", ["events_OFFLINE", "stats_OFFLINE"]),
])
def test_table_selection(run_module, cluster, table, table_type, expected):
    result = run(run_module, cluster, table=table, table_type=table_type)
    assert sorted(result["tables"]) == expected


def test_several_tables_read_each_raw_table_once(run_module, cluster):
    """The decommission role reads its affected tables with one task: three reads per raw table, not per name."""
    result = run(run_module, cluster, table=["events_REALTIME", "events_OFFLINE", "stats_OFFLINE"])
    assert sorted(result["tables"]) == ["events_OFFLINE", "events_REALTIME", "stats_OFFLINE"]
    assert [c[1] for c in cluster.requests] == [
        "/tables/events", "/tables/events/idealstate", "/tables/events/externalview",
        "/tables/stats", "/tables/stats/idealstate", "/tables/stats/externalview"]


def test_one_unknown_table_of_several_fails(run_module, cluster):
    result = run(run_module, cluster, table=["stats", "nope"])
    assert result["failed"] is True
    assert result["msg"].startswith("Could not read the segment assignment of stats, nope: Table 'nope' not found.")


@pytest.mark.parametrize("table, table_type, message", [
    ("nope", None, "Table 'nope' not found."),
    ("stats", "REALTIME", "Table 'stats_REALTIME' not found."),
    ("stats_OFFLINE", "REALTIME", "Table name: stats_OFFLINE does not match table type: REALTIME"),
])
def test_bad_table(run_module, cluster, table, table_type, message):
    result = run(run_module, cluster, table=table, table_type=table_type)
    assert result["failed"] is True
    assert result["msg"].startswith("Could not read the segment assignment of %s: %s" % (table, message))


def test_short_names(run_module, cluster):
    result = run(run_module, cluster, table="events_REALTIME", short_names=True)
    view = result["tables"]["events_REALTIME"]["external_view"]
    assert view["servers_to_partitions"] == {"pinot-server-0": [0, 3, 4], "pinot-server-1": [0, 1, 4],
                                             "pinot-server-2": [1, 2], "pinot-server-3": [2, 3]}
    assert view["partitions_to_servers"]["3"] == ["pinot-server-0", "pinot-server-3"]
    assert result["server_names"] == dict(("pinot-server-%d" % i, server_id(i)) for i in range(4))


def test_without_segments(run_module, cluster):
    result = run(run_module, cluster, table="stats", include_segments=False)
    table = result["tables"]["stats_OFFLINE"]
    assert "segments_to_servers" not in table["ideal_state"] and "segments_to_servers" not in table["external_view"]
    assert table["external_view"]["segments_per_server"] == {S0: 1, S1: 1, S2: 1}


def test_dead_server_and_error_replica_are_problems(run_module, cluster):
    """Server 3 stopped (its replicas left the external view) and one replica on server 1 failed to load."""
    external_view = cluster.tables["events_REALTIME"]["externalview"]
    for replicas in external_view.values():
        replicas.pop(S3, None)
    external_view[llc(1, 0)][S1] = "ERROR"
    cluster.tables["stats_OFFLINE"]["externalview"]["stats_0"][S2] = "OFFLINE"
    result = run(run_module, cluster, short_names=True)
    realtime = result["tables"]["events_REALTIME"]
    assert sorted(realtime["under_replicated"]) == [llc(1, 0), llc(2, 0), llc(2, 1), llc(3, 0), llc(3, 1)]
    assert realtime["under_replicated"][llc(1, 0)] == {"expected": 2, "serving": ["pinot-server-2"]}
    assert realtime["error_segments"] == {llc(1, 0): ["pinot-server-1"]}
    assert realtime["external_view"]["servers_to_partitions"] == {
        "pinot-server-0": [0, 3, 4], "pinot-server-1": [0, 1, 4], "pinot-server-2": [1, 2]}
    assert realtime["ideal_state"]["servers_to_partitions"]["pinot-server-3"] == [2, 3]
    assert realtime["not_converged"][llc(2, 0)] == {
        "ideal_state": ["pinot-server-2", "pinot-server-3"], "external_view": ["pinot-server-2"]}
    assert result["problems"] == [
        "events_REALTIME: 5 segment(s) below replication 2",
        "events_REALTIME: 1 segment(s) with replicas in ERROR",
        "stats_OFFLINE: 1 segment(s) below replication 3",
        "stats_OFFLINE: 1 segment(s) with replicas in OFFLINE",
    ]


def test_realtime_replication_from_replicas_per_partition(run_module, cluster):
    config = cluster.tables["events_REALTIME"]["config"]["segmentsConfig"]
    config["replicasPerPartition"], config["replication"] = "3", "1"
    result = run(run_module, cluster, table="events_REALTIME")
    assert result["tables"]["events_REALTIME"]["replication"] == 3
    assert len(result["tables"]["events_REALTIME"]["under_replicated"]) == 10


def test_no_tables(run_module, fake):
    result = run(run_module, fake)
    assert result["tables"] == {} and result["problems"] == []


def test_check_mode_is_the_same(run_module, cluster):
    assert run_module(pinot_segment_assignment_info, {"controller_url": cluster.url}, check_mode=True)["tables"]
    assert cluster.writes() == []


def test_controller_error(run_module, cluster):
    cluster.fail_next("GET", r"/idealstate$", error(500, "ZooKeeper is unhappy"), times=10)
    result = run(run_module, cluster, table="stats", retries=0)
    assert result["failed"] is True and result["status"] == 500 and result["pinot_error"] == "ZooKeeper is unhappy"


def test_every_table_is_summarised_before_the_next_is_read(run_module, cluster, monkeypatch):
    """Only one table's views are held at a time: each is summarised right after its reads."""
    summarise = pinot_segment_assignment_info.table_assignment
    reads_before = []

    def table_assignment(*args):
        reads_before.append(len([call for call in cluster.calls("GET") if call[1].endswith("/idealstate")]))
        return summarise(*args)

    monkeypatch.setattr(pinot_segment_assignment_info, "table_assignment", table_assignment)
    result = run(run_module, cluster)
    assert list(result["tables"]) == ["events_OFFLINE", "events_REALTIME", "stats_OFFLINE"]
    assert reads_before == [1, 1, 2]  # both types of events from one read, then stats


def test_short_names_are_chosen_over_every_table(run_module, cluster):
    """A server of the last table whose short name clashes keeps server 0 on its id in every table; short names
    sort otherwise than ids (alpha.example.com_8098 after Server_... by id, alpha before pinot-server-1 by name)."""
    clash = "Server_pinot-server-0.pinot-server-headless.other-namespace.svc.cluster.local_8098"
    cluster.add_table("zzz_OFFLINE", {"zzz_0": {"alpha.example.com_8098": "ONLINE", S1: "ONLINE", clash: "ONLINE"}},
                      replication=3)
    result = run(run_module, cluster, short_names=True)
    events = result["tables"]["events_REALTIME"]["external_view"]
    assert events["partitions_to_servers"]["0"] == [S0, "pinot-server-1"]
    assert list(events["segments_per_server"]) == [S0, "pinot-server-1", "pinot-server-2", "pinot-server-3"]
    zzz = result["tables"]["zzz_OFFLINE"]
    assert zzz["ideal_state"]["segments_to_servers"] == {"zzz_0": [clash, "alpha", "pinot-server-1"]}
    assert list(zzz["external_view"]["servers_to_partitions"]) == [clash, "alpha", "pinot-server-1"]
    assert result["server_names"]["alpha"] == "alpha.example.com_8098"
    assert result["server_names"][S0] == S0 and result["server_names"][clash] == clash


def test_short_names_without_segments(run_module, cluster):
    result = run(run_module, cluster, short_names=True, include_segments=False)
    view = result["tables"]["events_REALTIME"]["ideal_state"]
    assert "segments_to_servers" not in view
    assert view["partitions_to_servers"]["3"] == ["pinot-server-0", "pinot-server-3"]


def test_an_empty_table_list_is_refused_and_no_table_means_every_table(run_module, cluster):
    result = run(run_module, cluster, table=[])
    assert result["failed"] is True
    assert result["msg"] == "table is an empty list; name at least one table, or leave table out for every table"
    assert sorted(run(run_module, cluster)["tables"]) == ["events_OFFLINE", "events_REALTIME", "stats_OFFLINE"]
