# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import datetime
import json

from ansible_collections.pinotops.pinot.plugins.module_utils.plan_record import (
    canonical_hash,
    fingerprint,
    fingerprint_changes,
    parse_plan,
    plan_hash,
    plan_refusals,
    table_layout,
)

TAGS = ["DefaultTenant_REALTIME", "DefaultTenant_OFFLINE"]
STS = {"namespace": "pinot", "name": "pinot-server", "replicas": 4}
IDEAL = {"events__0__3__t": {"s0": "ONLINE", "s3": "ONLINE"}, "events__0__4__t": {"s0": "CONSUMING", "s3": "CONSUMING"},
         "events__1__2__t": {"s1": "ONLINE", "s2": "ONLINE"}}


def state(**changes):
    server_tags = dict(("s%d" % i, list(TAGS)) for i in range(4))
    server_tags.update(changes.get("server_tags", {}))
    for gone in changes.get("gone", []):
        del server_tags[gone]
    tables = {"events_REALTIME": {"server_tag": "DefaultTenant_REALTIME", "replication": 2, "ideal_state": IDEAL}}
    tables.update(changes.get("tables", {}))
    live = set(server_tags) - set(changes.get("dead", []))
    return fingerprint(changes.get("cluster", "PinotCluster"), server_tags, live, tables,
                       statefulset=changes.get("statefulset", STS))


def record(when="2026-11-30T20:00:00Z", **changes):
    value = state(**changes)
    decision = {"remove": ["s3"], "target_replicas": 3}
    return {"format": 1, "kind": "server_decommission", "created_at": when, "decision": decision, "fingerprint": value,
            "hash": plan_hash("server_decommission", value, decision)}


NOW = datetime.datetime(2026, 11, 30, 20, 10, 0)


def test_canonical_hash_ignores_key_order_and_is_64_hex():
    assert canonical_hash({"a": 1, "b": [1, 2]}) == canonical_hash({"b": [1, 2], "a": 1})
    assert canonical_hash({"a": 1}) != canonical_hash({"a": 2})
    assert len(canonical_hash({})) == 64


def test_layout_counts_realtime_segments_by_partition():
    assert table_layout(IDEAL) == {"s0": ["partition 0"], "s3": ["partition 0"], "s1": ["partition 1"],
                                   "s2": ["partition 1"]}
    assert table_layout({"seg_a": {"s0": "ONLINE"}}) == {"s0": ["seg_a"]}


def test_a_segment_commit_is_not_drift_but_a_move_is():
    committed = dict(IDEAL, **{"events__0__4__t": {"s0": "ONLINE", "s3": "ONLINE"},
                               "events__0__5__t": {"s0": "CONSUMING", "s3": "CONSUMING"}})
    table = {"server_tag": "DefaultTenant_REALTIME", "replication": 2}
    assert state() == state(tables={"events_REALTIME": dict(table, ideal_state=committed)})
    moved = dict(IDEAL, **{"events__1__2__t": {"s1": "ONLINE", "s3": "ONLINE"}})
    assert fingerprint_changes(state(), state(tables={"events_REALTIME": dict(table, ideal_state=moved)})) == [
        "table events_REALTIME: its segments were moved (the ideal state assigns them to other servers)"]


def test_fingerprint_records_tags_sorted_liveness_and_replicas():
    value = state(dead=["s2"])
    assert value["instances"]["s2"] == {"tags": sorted(TAGS), "live": False}
    assert value["statefulset"] == STS and value["cluster"] == "PinotCluster"
    assert json.loads(json.dumps(value)) == value  # plain JSON


def test_changes_say_what_changed():
    new = state(server_tags={"s1": ["DefaultTenant_OFFLINE"], "s9": ["DefaultTenant_REALTIME"]}, gone=["s2"],
                dead=["s0"], statefulset=dict(STS, replicas=5),
                tables={"other_OFFLINE": {"server_tag": "DefaultTenant_OFFLINE", "replication": 1, "ideal_state": {}}})
    assert fingerprint_changes(state(), new) == [
        "replicas changed: StatefulSet pinot/pinot-server had 4 replicas, now 5",
        "server gone: s2",
        "new server: s9 (tags DefaultTenant_REALTIME)",
        "s0 is no longer live",
        "tags changed on s1: DefaultTenant_OFFLINE, DefaultTenant_REALTIME, now DefaultTenant_OFFLINE",
        "new table affected: other_OFFLINE",
    ]
    assert fingerprint_changes(state(), state()) == []
    assert fingerprint_changes(new, state())[-1] == "table no longer affected (deleted, or off these servers): other_OFFLINE"


def test_hash_covers_the_decision_and_the_state():
    value = state()
    assert plan_hash("server_decommission", value, {"remove": ["s3"]}) != plan_hash("server_decommission", value,
                                                                                    {"remove": ["s2"]})
    assert plan_hash("server_decommission", value, {"remove": ["s3"]}) != plan_hash("server_decommission",
                                                                                    state(dead=["s1"]), {"remove": ["s3"]})
    assert plan_hash("server_decommission", value, {"remove": ["s3"]}) != plan_hash("scale_out", value, {"remove": ["s3"]})


def test_unchanged_plan_is_accepted_by_file_and_by_hash():
    plan = record()
    assert plan_refusals(record(), given_hash=plan["hash"], plan=plan, max_age=3600, now=NOW) == []
    assert plan_refusals(record(), given_hash=plan["hash"]) == []
    assert plan_refusals(record()) == []  # no plan: behaves as today


def test_drift_is_refused_with_the_changes():
    plan = record()
    now = record(server_tags={"s1": ["DefaultTenant_OFFLINE"]})
    assert plan_refusals(now, plan=plan, given_hash=plan["hash"]) == [
        "cluster changed since the plan: tags changed on s1: DefaultTenant_OFFLINE, DefaultTenant_REALTIME, now "
        "DefaultTenant_OFFLINE"]
    (only,) = plan_refusals(now, given_hash=plan["hash"])
    assert "not the one the plan %s was computed for" % plan["hash"] in only and "server_decommission_plan_path" in only


def test_plan_max_age():
    plan = record(when="2026-11-30T19:00:00Z")
    assert plan_refusals(record(), plan=plan, max_age=4200, now=NOW) == []
    assert plan_refusals(record(), plan=plan, max_age=3600, now=NOW) == [
        "the plan is 4200 s old, older than server_decommission_plan_max_age (3600 s): make a new plan"]
    assert plan_refusals(record(), plan=plan, max_age=0, now=NOW) == []  # 0 = any age
    assert "is not a time" in plan_refusals(record(), plan=record(when="yesterday"), max_age=60, now=NOW)[0]


def test_bad_hash_is_refused():
    (only,) = plan_refusals(record(), given_hash="abc123")
    assert "must be 64 lowercase hex characters (it has 6 characters)" in only
    assert plan_refusals(record(), given_hash="Z" * 64)[0].startswith("the plan hash 'ZZZ")


def test_not_json_and_not_a_plan():
    assert parse_plan("{not json")[1].startswith("the plan file is not JSON (")
    assert parse_plan("[1, 2]")[1].startswith("the plan file is JSON but not a plan")
    # ansible-core 2.18 hands the templated file text over as a dict: the same plan
    plan = {"format": 1, "kind": "decommission", "hash": "h", "fingerprint": {}, "decision": {}}
    assert parse_plan(plan) == parse_plan(json.dumps(plan)) == (plan, None)
    plan, error = parse_plan(json.dumps(record()))
    assert error is None and plan == record()


def test_plan_for_another_cluster_or_statefulset():
    assert plan_refusals(record(), plan=record(cluster="Other")) == [
        "the plan is for Pinot cluster Other, but the controller serves cluster PinotCluster"]
    assert plan_refusals(record(), plan=record(statefulset=dict(STS, name="other-server"))) == [
        "the plan is for StatefulSet pinot/other-server, but this run scales pinot/pinot-server"]


def test_edited_or_other_plan_is_refused():
    edited = record()
    edited["decision"] = {"remove": ["s2"], "target_replicas": 3}
    assert "was edited after it was written" in plan_refusals(record(), plan=edited)[0]
    other = record()
    assert plan_refusals(record(), plan=other, given_hash="0" * 64) == [
        "the plan file has hash %s, not the approved hash %s: it is another plan" % (other["hash"], "0" * 64)]
    wrong_kind = copy.deepcopy(other)
    wrong_kind["kind"] = "scale_out"
    assert plan_refusals(record(), plan=wrong_kind) == [
        "the plan file is a scale_out plan of format 1; this run needs a server_decommission plan of format 1"]


def test_another_decision_is_refused():
    plan = record()
    now = copy.deepcopy(plan)
    now["decision"] = {"remove": ["s2", "s3"], "target_replicas": 2}
    now["hash"] = plan_hash("server_decommission", now["fingerprint"], now["decision"])
    (only,) = plan_refusals(now, plan=plan)
    assert only.startswith("the plan does something else:")
