# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json

from ansible_collections.pinotops.pinot.plugins.modules import pinot_decommission_plan_info
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import server_id


def with_events_table(fake):
    fake.add_table("events_REALTIME", {
        "events__%d__0__20260101T0000Z" % p: {server_id(p % 4): "ONLINE", server_id((p + 1) % 4): "ONLINE"} for p in range(5)})
    return fake


def test_one_server_is_safe_to_remove(run_module, fake):
    with_events_table(fake)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": [server_id(3)]})
    assert result["changed"] is False and result["safe"] is True
    assert [t["table"] for t in result["tables"]] == ["events_REALTIME"]
    assert result["instances"] == [{"name": server_id(3), "live": True, "segments": 2,
                                    "tags": ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]}]
    assert fake.writes() == []


def test_the_affected_tables_servers_to_partitions_are_recorded(run_module, fake):
    """The role's "before" map: what the external view serves, read only for the tables the removal affects."""
    with_events_table(fake)
    fake.add_table("other_OFFLINE", {"other_0": {server_id(0): "ONLINE", server_id(1): "ONLINE"}})
    fake.instances[server_id(3)]["tags"] = ["DefaultTenant_REALTIME"]
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": [server_id(3)]})
    (table,) = result["tables"]
    assert table["servers_to_partitions"] == {server_id(0): [0, 3, 4], server_id(1): [0, 1, 4], server_id(2): [1, 2],
                                              server_id(3): [2, 3]}
    assert [c[1] for c in fake.calls("GET") if c[1].endswith("/externalview")] == ["/tables/events_REALTIME/externalview"]


def test_three_servers_would_break_replication(run_module, fake):
    with_events_table(fake)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url,
                                                       "instances": [server_id(1), server_id(2), server_id(3)]})
    assert result["safe"] is False
    assert "needs 2 live servers tagged DefaultTenant_REALTIME, but only 1 would remain" in result["problems"][0]


def test_already_dropped_server_is_missing_not_unsafe(run_module, fake):
    with_events_table(fake)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": ["Server_gone_8098"]})
    assert result["safe"] is True and result["missing"] == ["Server_gone_8098"] and result["instances"] == []


def test_non_server_ids_are_refused(run_module, fake):
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": ["Broker_localhost_8099"]})
    assert result["failed"] and "must be server ids" in result["msg"]


def test_statefulset_selection_derives_pod_ids(run_module, fake):
    with_events_table(fake)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url,
                                                       "statefulset": {"replicas": 3, "current_replicas": 4}})
    assert result["targets"] == [server_id(3)]
    assert [i["name"] for i in result["instances"]] == [server_id(3)]


def test_statefulset_already_scaled_down_converges(run_module, fake):
    with_events_table(fake)
    fake.live.discard(server_id(3))
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url,
                                                       "statefulset": {"replicas": 3, "current_replicas": 3}})
    assert result["targets"] == [server_id(3)]
    assert result["instances"][0]["live"] is False and result["instances"][0]["segments"] == 2


def test_statefulset_scale_up_is_refused(run_module, fake):
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url,
                                                       "statefulset": {"replicas": 5, "current_replicas": 4}})
    assert result["failed"] and "only lowers the replica count" in result["msg"]


def test_an_empty_instance_list_is_refused(run_module, fake):
    with_events_table(fake)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": []})
    assert result["failed"] is True
    assert result["msg"] == "instances is an empty list; name at least one server id, or use statefulset"


def test_tables_that_cannot_move_without_downtime(run_module, fake):
    """The real cluster's case: a replication-1 table on the server to remove; Pinot would abort its rebalance."""
    with_events_table(fake)
    fake.add_table("single_OFFLINE", {"single_0": {server_id(3): "ONLINE"}}, replication=1)
    result = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": [server_id(3)]})
    assert result["safe"] is True and result["downtime_tables"] == ["single_OFFLINE"]
    events, single = result["tables"]
    assert (events["table"], events["moves_without_downtime"], events["downtime_reason"]) == ("events_REALTIME", True, None)
    assert single["table"] == "single_OFFLINE" and single["moves_without_downtime"] is False
    assert "Pinot aborts its no-downtime rebalance, because min_available_replicas 1" in single["downtime_reason"]
    relaxed = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": [server_id(3)],
                                                        "min_available_replicas": -1})
    assert relaxed["downtime_tables"] == ["single_OFFLINE"]
    strict = run_module(pinot_decommission_plan_info, {"controller_url": fake.url, "instances": [server_id(3)],
                                                       "min_available_replicas": 2})
    assert strict["downtime_tables"] == ["events_REALTIME", "single_OFFLINE"]


PLAN_STS = {"name": "pinot-server", "namespace": "pinot", "replicas": 4, "target_replicas": 3}


def plan_run(run_module, fake, **params):
    args = {"controller_url": fake.url, "instances": [server_id(3)], "plan_statefulset": PLAN_STS}
    args.update(params)
    return run_module(pinot_decommission_plan_info, args)


def test_the_plan_lists_moves_and_hashes_the_state(run_module, fake):
    with_events_table(fake)
    result = plan_run(run_module, fake)
    plan = result["plan"]
    assert len(plan["hash"]) == 64 and plan["decision"] == {"remove": [server_id(3)], "target_replicas": 3}
    assert plan["fingerprint"]["statefulset"] == {"name": "pinot-server", "namespace": "pinot", "replicas": 4}
    (server,) = plan["servers"]
    assert server["name"] == server_id(3)
    assert server["tables"] == [{"table": "events_REALTIME", "segments": 2, "consuming": 0, "replication": 2,
                                 "replication_after": 2, "servers_after": [server_id(i) for i in range(3)]}]
    assert plan["hash"] in result["plan_markdown"] and result["plan_refusals"] == []
    assert fake.writes() == []
    # the same request on the same cluster hashes the same; the approved hash and the plan file are accepted
    again = plan_run(run_module, fake, plan_hash=plan["hash"], plan=json.dumps(plan), plan_max_age=3600)
    assert again["plan"]["hash"] == plan["hash"] and again["plan_refusals"] == []


def test_a_changed_tag_is_drift(run_module, fake):
    with_events_table(fake)
    plan = plan_run(run_module, fake)["plan"]
    fake.instances[server_id(1)]["tags"] = ["DefaultTenant_OFFLINE"]
    refusals = plan_run(run_module, fake, plan=json.dumps(plan))["plan_refusals"]
    assert refusals == ["cluster changed since the plan: tags changed on %s: DefaultTenant_OFFLINE, "
                        "DefaultTenant_REALTIME, now DefaultTenant_OFFLINE" % server_id(1)]


def test_a_plan_file_that_is_not_json_is_refused(run_module, fake):
    with_events_table(fake)
    (refusal,) = plan_run(run_module, fake, plan="not a plan")["plan_refusals"]
    assert refusal.startswith("the plan file is not JSON")
