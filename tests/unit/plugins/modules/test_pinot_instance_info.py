# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_instance_info
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import error, server_id


@pytest.fixture
def cluster(fake):
    """Server 3 is dead and still holds one segment; servers 0-2 hold the rest."""
    fake.live.discard(server_id(3))
    fake.add_table("events_REALTIME", {
        "events__0__0__20260101T0000Z": {server_id(0): "ONLINE", server_id(3): "ONLINE"},
        "events__1__0__20260101T0000Z": {server_id(1): "CONSUMING", server_id(2): "CONSUMING"},
    })
    fake.add_table("stats_OFFLINE", {"stats_0": {server_id(0): "ONLINE", server_id(1): "ONLINE"}})
    return fake


def test_lists_servers_with_liveness(run_module, cluster):
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "type": ["server"]})
    assert result["changed"] is False
    by_name = dict((i["name"], i) for i in result["instances"])
    assert sorted(by_name) == sorted(server_id(i) for i in range(4))
    assert by_name[server_id(3)]["live"] is False and by_name[server_id(0)]["live"] is True
    assert by_name[server_id(0)]["type"] == "server"
    assert by_name[server_id(0)]["tags"] == ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]
    assert "segments" not in by_name[server_id(0)]


def test_shutdown_flag_as_pinot_reports_it(run_module, cluster):
    """1.x instance configs carry shutdownInProgress (a server starting or stopping); 0.11 configs do not."""
    cluster.instances[server_id(1)]["shutdownInProgress"] = True
    del cluster.instances[server_id(2)]["shutdownInProgress"]
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "type": ["server"]})
    flags = dict((i["name"], i["shutdown_in_progress"]) for i in result["instances"])
    assert flags[server_id(0)] is False and flags[server_id(1)] is True and flags[server_id(2)] is None


def test_segments_per_table(run_module, cluster):
    cluster.tables["events_REALTIME"]["externalview"]["events__0__0__20260101T0000Z"].pop(server_id(3))
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "instances": [server_id(3), server_id(0)],
                                              "include_segments": True})
    by_name = dict((i["name"], i) for i in result["instances"])
    assert by_name[server_id(3)]["segments"] == {"events_REALTIME": {"ideal_state": 1, "external_view": 0}}
    assert by_name[server_id(3)]["total_segments"] == {"ideal_state": 1, "external_view": 0}
    assert by_name[server_id(0)]["total_segments"] == {"ideal_state": 2, "external_view": 2}


def test_unknown_names_are_reported_not_fatal(run_module, cluster):
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "instances": ["Server_nope_1"]})
    assert result["instances"] == [] and result["missing"] == ["Server_nope_1"]


def test_tag_filter(run_module, cluster):
    cluster.instances[server_id(2)]["tags"] = ["server_untagged"]
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "tag": "server_untagged"})
    assert [i["name"] for i in result["instances"]] == [server_id(2)]


def test_old_controller_liveness_from_zookeeper(run_module, cluster):
    cluster.features["live_instances"] = False
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "instances": [server_id(3)]})
    assert result["instances"][0]["live"] is False


def test_controller_down_is_a_clear_failure(run_module):
    result = run_module(pinot_instance_info, {"controller_url": "http://127.0.0.1:1", "retries": 0})
    assert result["failed"] is True
    assert result["msg"].startswith("Could not list the instances: GET http://127.0.0.1:1/instances: cannot reach the controller")


def test_env_fallback_for_url(run_module, cluster, monkeypatch):
    monkeypatch.setenv("PINOT_CONTROLLER_URL", "http://127.0.0.1:1," + cluster.url)
    result = run_module(pinot_instance_info, {"type": ["broker"]})
    assert [i["name"] for i in result["instances"]] == ["Broker_localhost_8099"]


@pytest.mark.parametrize("args, message", [
    ({"timeout": 0}, "timeout must be more than 0 seconds"),
    ({"retries": -1}, "retries must be 0 or more"),
    ({"username": "a"}, "parameters are required together: username, password"),
    ({"token": "t", "username": "a", "password": "b"}, "parameters are mutually exclusive: token|username"),
])
def test_bad_connection_options(run_module, cluster, args, message):
    args["controller_url"] = cluster.url
    result = run_module(pinot_instance_info, args)
    assert result["failed"] and message in result["msg"]
    assert cluster.requests == []


@pytest.mark.parametrize("option", ["instances", "type"])
def test_empty_lists_are_refused(run_module, cluster, option):
    """`instances: []` would list nothing and `type: []` everything: both are mistakes, said before any call."""
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, option: []})
    assert result["failed"] is True and result["msg"].startswith("%s is an empty list: give at least one" % option)
    assert "leave %s out" % option in result["msg"] and cluster.requests == []


def test_empty_controller_url_is_refused(run_module, cluster):
    result = run_module(pinot_instance_info, {"controller_url": []})
    assert result["failed"] is True and "controller_url is empty" in result["msg"] and cluster.requests == []


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_name_user_and_their_source(run_module, cluster, monkeypatch, status):
    """Pinot 0.11 answers a wrong password with 403, like a missing permission: the message says both, and where
    the credentials came from, never the password."""
    cluster.users = {"admin": "right"}
    cluster.auth_failure_status = status
    monkeypatch.setenv("PINOT_USERNAME", "admin")
    monkeypatch.setenv("PINOT_PASSWORD", "wrong-secret")
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "retries": 0})
    assert result["failed"] is True and result["status"] == status
    assert "user 'admin' (username from PINOT_USERNAME, password from PINOT_PASSWORD)" in result["msg"]
    if status == 403:
        assert "refuses the credentials" in result["msg"] and "lacks the permission" in result["msg"]
    else:
        assert "missing or refused" in result["msg"]
    assert "wrong-secret" not in str(result)


def test_token_source_is_named_without_its_value(run_module, cluster, monkeypatch):
    cluster.users = {"admin": "right"}
    monkeypatch.setenv("PINOT_TOKEN", "tok-SECRET")
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "retries": 0})
    assert result["failed"] is True and "a token (from PINOT_TOKEN)" in result["msg"]
    assert "tok-SECRET" not in str(result)
    monkeypatch.delenv("PINOT_TOKEN")
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "retries": 0, "token": "tok-SECRET"})
    assert "a token (from the token option)" in result["msg"] and "tok-SECRET" not in str(result)


def test_no_credentials_is_said(run_module, cluster, monkeypatch):
    cluster.users = {"admin": "right"}
    for variable in ("PINOT_USERNAME", "PINOT_PASSWORD", "PINOT_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "retries": 0})
    assert result["failed"] is True and "Sent: no credentials" in result["msg"]


def test_first_option_names_are_aliases(run_module, cluster):
    """name and segments were the first names of instances and include_segments: they keep working."""
    old = run_module(pinot_instance_info, {"controller_url": cluster.url, "name": [server_id(3)], "segments": True})
    new = run_module(pinot_instance_info, {"controller_url": cluster.url, "instances": [server_id(3)],
                                           "include_segments": True})
    assert old["instances"] == new["instances"] and "segments" in new["instances"][0]


def test_failure_carries_the_traceback_for_vvv(run_module, cluster):
    """Like kubernetes.core and amazon.aws: `exception` holds the traceback (-vvv shows it), the message is unchanged."""
    cluster.fail_next("GET", r"^/instances$", error(500, "boom"))
    result = run_module(pinot_instance_info, {"controller_url": cluster.url, "retries": 0})
    assert result["failed"] is True and result["msg"].startswith("Could not list the instances: GET ")
    assert "Traceback (most recent call last)" in result["exception"] and "PinotError" in result["exception"]
    assert "HTTP 500: boom" in result["exception"]
