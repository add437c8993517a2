# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_instance
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import error, server_id

NEW = "Server_pinot-server-4.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098"


@pytest.fixture(params=["1.x", "0.11"])
def cluster(request, fake):
    """Server 3 holds segments of two tables; 1.x has the drop validation and PUT state, 0.11 neither."""
    old = request.param == "0.11"
    for flag in ("drop_validation", "tag_validation", "live_instances", "state_put"):
        fake.features[flag] = not old
    fake.add_table("events_REALTIME", {"events__0__0__x": {server_id(0): "CONSUMING", server_id(3): "CONSUMING"}})
    fake.add_table("stats_OFFLINE", {"stats_0": {server_id(1): "ONLINE", server_id(3): "ONLINE"}})
    fake.add_table("other_OFFLINE", {"other_0": {server_id(0): "ONLINE", server_id(1): "ONLINE"}})
    fake.version = request.param
    return fake


def drain(cluster, name):
    """What untag + rebalance does: the server leaves every ideal state."""
    for table in cluster.tables.values():
        for replicas in table["idealstate"].values():
            replicas.pop(name, None)


def args(cluster, **kwargs):
    kwargs.setdefault("instance", server_id(3))
    kwargs["controller_url"] = cluster.url
    return kwargs


# ---- state=absent -----------------------------------------------------------------------------


def test_drop_live_server_is_refused_before_any_delete(run_module, cluster):
    drain(cluster, server_id(3))
    result = run_module(pinot_instance, args(cluster, state="absent"))
    assert result["failed"] is True
    assert result["msg"].startswith("Pinot refuses to drop instance %s: it is still live" % server_id(3))
    assert "ideal state" not in result["msg"] and "Nothing was changed" in result["msg"]
    assert result["drop_blockers"] == {"live": True, "tables": []}
    assert cluster.calls("DELETE") == [] and server_id(3) in cluster.instances


def test_drop_server_holding_segments_names_the_tables(run_module, cluster):
    cluster.live.discard(server_id(3))
    result = run_module(pinot_instance, args(cluster, state="absent"))
    assert result["failed"] is True and result["changed"] is False
    assert "still in the ideal state of events_REALTIME, stats_OFFLINE" in result["msg"]
    assert "still live" not in result["msg"] and "Nothing was changed" in result["msg"]
    assert result["drop_blockers"] == {"live": False, "tables": ["events_REALTIME", "stats_OFFLINE"]}
    assert server_id(3) in cluster.instances
    # 1.x refuses from its validate endpoint; 0.11 has none, so the DELETE is the check and Pinot refuses it.
    assert len(cluster.calls("DELETE")) == (1 if cluster.version == "0.11" else 0)


def test_drop_live_server_holding_segments_says_both(run_module, cluster):
    result = run_module(pinot_instance, args(cluster, state="absent", wait_not_live=True), check_mode=True)
    assert result["failed"] is True
    assert "still live" in result["msg"] and "events_REALTIME, stats_OFFLINE" in result["msg"]
    assert cluster.calls("DELETE") == []


def test_drop_stopped_drained_server(run_module, cluster):
    cluster.live.discard(server_id(3))
    drain(cluster, server_id(3))
    checked = run_module(pinot_instance, args(cluster, state="absent"), check_mode=True, diff=True)
    assert checked["changed"] is True and cluster.calls("DELETE") == [] and server_id(3) in cluster.instances
    assert checked["diff"]["before"]["exists"] is True and checked["diff"]["after"]["exists"] is False

    result = run_module(pinot_instance, args(cluster, state="absent"))
    assert result["changed"] is True and server_id(3) not in cluster.instances
    assert result["before"]["exists"] is True and result["after"]["exists"] is False
    assert len(cluster.calls("DELETE")) == 1

    again = run_module(pinot_instance, args(cluster, state="absent"))
    assert again["changed"] is False and len(cluster.calls("DELETE")) == 1


def test_fallback_scans_ideal_states_only_without_drop_validation(run_module, cluster):
    cluster.live.discard(server_id(3))
    run_module(pinot_instance, args(cluster, state="absent"))
    scanned = cluster.calls("GET", "/tables/stats_OFFLINE/idealstate")
    validated = cluster.calls("GET", "/instances/dropInstance/validate")
    if cluster.version == "1.x":
        assert scanned == [] and len(validated) == 2  # probe + check
    else:  # scanned after Pinot refused the DELETE, to name the tables
        assert scanned and validated[0][2]["instanceNames"] == ["__pinotops_probe__"]


def test_drop_of_a_drained_stopped_server_reads_no_table(run_module, cluster):
    """The decommission's drop: one call per table would repeat the check Pinot makes at the DELETE."""
    cluster.live.discard(server_id(3))
    drain(cluster, server_id(3))
    result = run_module(pinot_instance, args(cluster, state="absent"))
    assert result["changed"] is True and server_id(3) not in cluster.instances
    assert cluster.calls("GET", "/tables") == []


def test_wait_not_live_then_drop(run_module, cluster, monkeypatch):
    drain(cluster, server_id(3))
    sleeps = []

    def fake_sleep(seconds):
        sleeps.append(seconds)
        if len(sleeps) == 3:  # the pod finishes terminating
            cluster.live.discard(server_id(3))

    monkeypatch.setattr(pinot_instance.time, "sleep", fake_sleep)
    result = run_module(pinot_instance, args(cluster, state="absent", wait_not_live=True, wait_timeout=60))
    assert result["changed"] is True and server_id(3) not in cluster.instances
    assert sleeps == [1.0, 2.0, 4.0]


def test_wait_not_live_times_out_without_dropping(run_module, cluster, monkeypatch):
    drain(cluster, server_id(3))
    now = [1000.0]
    monkeypatch.setattr(pinot_instance.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(pinot_instance.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    result = run_module(pinot_instance, args(cluster, state="absent", wait_not_live=True, wait_timeout=20))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("Instance %s is still live after waiting 20s" % server_id(3))
    assert cluster.calls("DELETE") == [] and server_id(3) in cluster.instances


def test_wait_not_live_in_check_mode_does_not_wait(run_module, cluster, monkeypatch, warnings):
    drain(cluster, server_id(3))
    monkeypatch.setattr(pinot_instance.time, "sleep", lambda seconds: pytest.fail("check mode must not wait"))
    result = run_module(pinot_instance, args(cluster, state="absent", wait_not_live=True), check_mode=True)
    assert result["changed"] is True and any("would wait up to 300s" in w for w in warnings)
    assert cluster.calls("DELETE") == []


def test_conflict_at_delete_is_explained(run_module, cluster):
    """The check passed but Pinot refused (a rebalance assigned it meanwhile): say why, as of now."""
    cluster.live.discard(server_id(3))
    drain(cluster, server_id(3))

    def reassign(fake, match, query, body):
        fake.tables["other_OFFLINE"]["idealstate"]["other_0"][server_id(3)] = "ONLINE"
        return error(409, "Failed to drop instance %s - Instance %s exists in ideal state for other_OFFLINE"
                     % (server_id(3), server_id(3)))

    cluster.route("DELETE", r"/instances/(?P<name>[^/]+)", reassign)
    result = run_module(pinot_instance, args(cluster, state="absent"))
    assert result["failed"] is True and result["changed"] is False and result["status"] == 409
    assert "still in the ideal state of other_OFFLINE" in result["msg"]
    assert result["drop_blockers"]["tables"] == ["other_OFFLINE"]


def test_unknown_instance_absent_is_ok(run_module, cluster):
    result = run_module(pinot_instance, args(cluster, instance="Server_nope_8098", state="absent"))
    assert result["changed"] is False and result["before"]["exists"] is False
    assert cluster.writes() == []


# ---- state=enabled/disabled ----------------------------------------------------------------------


def test_disable_and_enable(run_module, cluster):
    checked = run_module(pinot_instance, args(cluster, state="disabled"), check_mode=True, diff=True)
    assert checked["changed"] is True and cluster.instances[server_id(3)]["enabled"] is True
    assert checked["diff"]["before"]["enabled"] is True and checked["diff"]["after"]["enabled"] is False
    assert cluster.writes() == []

    result = run_module(pinot_instance, args(cluster, state="disabled"))
    assert result["changed"] is True and cluster.instances[server_id(3)]["enabled"] is False
    method = "PUT" if cluster.version == "1.x" else "POST"
    assert [c[0] for c in cluster.calls(path_prefix="/instances/%s/state" % server_id(3))][-1] == method
    assert run_module(pinot_instance, args(cluster, state="disabled"))["changed"] is False

    assert run_module(pinot_instance, args(cluster, state="enabled"))["changed"] is True
    assert cluster.instances[server_id(3)]["enabled"] is True


def test_enable_timeout_with_flag_written_is_a_warning(run_module, cluster, warnings):
    cluster.instances[server_id(3)]["enabled"] = False

    def slow_enable(fake, match, query, body):
        if server_id(3) not in match.group("name"):
            return None  # the feature probe: the default handler answers
        fake.instances[server_id(3)]["enabled"] = True
        return error(500, "Failed to enable instance '%s': Instance: %s enable failed, timeout" % (server_id(3), server_id(3)))

    cluster.route("PUT", r"/instances/(?P<name>[^/]+)/state", slow_enable)
    cluster.route("POST", r"/instances/(?P<name>[^/]+)/state", slow_enable)
    result = run_module(pinot_instance, args(cluster, state="enabled"))
    assert result["changed"] is True and any("enable failed, timeout" in w for w in warnings)


def test_enable_unknown_instance_fails(run_module, cluster):
    result = run_module(pinot_instance, args(cluster, instance="Server_nope_8098", state="enabled"))
    assert result["failed"] is True and result["msg"].startswith("Instance Server_nope_8098 not found")
    assert cluster.writes() == []


# ---- state=queries_disabled/queries_enabled -------------------------------------------------------


def test_queries_disabled_where_pinot_has_it(run_module, fake):
    fake.features["query_routing"] = True
    checked = run_module(pinot_instance, args(fake, state="queries_disabled"), check_mode=True)
    assert checked["changed"] is True and "queriesDisabled" not in fake.instances[server_id(3)]
    assert fake.writes() == []  # check mode reads the API listing; it sends no write, not even a probe
    result = run_module(pinot_instance, args(fake, state="queries_disabled"))
    assert result["changed"] is True and fake.instances[server_id(3)]["queriesDisabled"] == "true"
    assert run_module(pinot_instance, args(fake, state="queries_disabled"))["changed"] is False
    assert run_module(pinot_instance, args(fake, state="queries_enabled"))["changed"] is True
    assert "queriesDisabled" not in fake.instances[server_id(3)]
    # only the server's own state was written: no probe sent to another instance
    assert [c[1] for c in fake.writes()] == ["/instances/%s/state" % server_id(3)] * 2


@pytest.mark.parametrize("state_put", [True, False])
def test_queries_disabled_on_older_pinot_fails_clearly(run_module, fake, state_put):
    fake.features["state_put"] = state_put
    checked = run_module(pinot_instance, args(fake, state="queries_disabled"), check_mode=True)
    assert checked["failed"] is True and "arrived after Pinot 1.5" in checked["msg"] and fake.writes() == []
    result = run_module(pinot_instance, args(fake, state="queries_disabled"))
    assert result["failed"] is True and "arrived after Pinot 1.5" in result["msg"]
    assert "Nothing was changed" in result["msg"] and result["changed"] is False
    assert fake.writes() == []  # the API listing said so: nothing was sent
    # already routed to: nothing to do even where the state does not exist
    assert run_module(pinot_instance, args(fake, state="queries_enabled"))["changed"] is False


@pytest.mark.parametrize("state_put", [True, False])
def test_queries_disabled_without_api_listing(run_module, fake, warnings, state_put):
    """Listing hidden: check mode warns that it cannot tell; a real run lets the write tell, and changes nothing."""
    fake.api_listing = False
    fake.features["state_put"] = state_put
    checked = run_module(pinot_instance, args(fake, state="queries_disabled"), check_mode=True)
    assert checked["changed"] is True and fake.writes() == []
    assert any("cannot tell whether this controller can turn query routing off" in w for w in warnings)
    result = run_module(pinot_instance, args(fake, state="queries_disabled"))
    assert result["failed"] is True and "arrived after Pinot 1.5" in result["msg"] and result["changed"] is False
    assert "queriesDisabled" not in fake.instances[server_id(3)] and fake.instances[server_id(3)]["enabled"] is True
    # every write went to the server itself and was refused (400 Unknown state, or 405 on Pinot before 1.0)
    assert set(c[1] for c in fake.writes()) == {"/instances/%s/state" % server_id(3)}


def test_queries_disabled_only_for_servers(run_module, fake):
    fake.features["query_routing"] = True
    result = run_module(pinot_instance, args(fake, instance="Broker_localhost_8099", state="queries_disabled"))
    assert result["failed"] is True and "only applies to servers" in result["msg"]


# ---- state=present ------------------------------------------------------------------------------------


def test_present_registers_from_the_id(run_module, cluster):
    checked = run_module(pinot_instance, args(cluster, instance=NEW, state="present", tags=["server_untagged"]),
                         check_mode=True, diff=True)
    assert checked["changed"] is True and NEW not in cluster.instances
    assert checked["diff"]["after"]["exists"] is True
    result = run_module(pinot_instance, args(cluster, instance=NEW, state="present", tags=["server_untagged"]))
    assert result["changed"] is True and cluster.instances[NEW]["tags"] == ["server_untagged"]
    body = cluster.calls("POST", "/instances")[0][3]
    assert body == {"host": "pinot-server-4.pinot-server-headless.pinot-quickstart.svc.cluster.local", "port": 8098,
                    "type": "SERVER", "tags": ["server_untagged"]}
    assert run_module(pinot_instance, args(cluster, instance=NEW, state="present"))["changed"] is False


def test_present_with_disagreeing_host_fails(run_module, cluster):
    result = run_module(pinot_instance, args(cluster, instance=NEW, state="present", host="elsewhere"))
    assert result["failed"] is True and "Server_elsewhere_8098" in result["msg"] and cluster.writes() == []


def test_present_needs_host_and_port_for_odd_ids(run_module, cluster):
    result = run_module(pinot_instance, args(cluster, instance="Server_noport", state="present"))
    assert result["failed"] is True and "give type, host and port" in result["msg"]


@pytest.mark.parametrize("extra, message", [
    ({"wait_timeout": -1}, "wait_timeout must be 0 or more"),
    ({"port": 70000}, "port must be between 1 and 65535"),
    ({"state": "gone"}, "value of state must be one of"),
])
def test_malformed_input(run_module, cluster, extra, message):
    params = args(cluster, state="absent")
    params.update(extra)
    result = run_module(pinot_instance, params)
    assert result["failed"] is True and message in result["msg"]
    assert cluster.requests == []
