# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_instance_tags
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import error, server_id

OFF, RT = "DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"


@pytest.fixture(params=["1.x", "0.11"])
def cluster(request, fake):
    """4 servers, a realtime table with replication 2 and an offline table with replication 3.

    Parametrized: with Pinot's tag validation (1.x) and without it (0.11, the module checks itself).
    """
    fake.features["tag_validation"] = request.param == "1.x"
    fake.add_table("events_REALTIME", {"events__0__0__x": {server_id(0): "CONSUMING", server_id(1): "CONSUMING"}},
                   replication=2)
    fake.add_table("stats_OFFLINE", {"stats_0": {server_id(0): "ONLINE", server_id(1): "ONLINE", server_id(2): "ONLINE"}},
                   replication=3)
    fake.version = request.param
    return fake


def args(cluster, **kwargs):
    kwargs.setdefault("instance", server_id(3))
    kwargs["controller_url"] = cluster.url
    return kwargs


def tag_puts(cluster):
    return cluster.calls("PUT", "/instances/")


def test_untag_and_retag_round_trip(run_module, cluster, warnings):
    result = run_module(pinot_instance_tags, args(cluster, tags=[]))
    assert result["changed"] is True
    assert result["tags_before"] == [OFF, RT] and result["tags"] == []
    assert cluster.instances[server_id(3)]["tags"] == []
    put = tag_puts(cluster)[0]
    assert put[2]["tags"] == [""] and put[2]["updateBrokerResource"] == ["false"]
    assert result["validated_by"] == ("pinot" if cluster.version == "1.x" else "pinotops")
    assert any("server_untagged" in w for w in warnings)

    again = run_module(pinot_instance_tags, args(cluster, tags=[]))
    assert again["changed"] is False and len(tag_puts(cluster)) == 1

    back = run_module(pinot_instance_tags, args(cluster, tags=[RT, OFF]))
    assert back["changed"] is True and sorted(cluster.instances[server_id(3)]["tags"]) == [OFF, RT]


def test_same_tags_in_another_order_change_nothing(run_module, cluster):
    result = run_module(pinot_instance_tags, args(cluster, tags=[RT, OFF]))
    assert result["changed"] is False and result["tags"] == [OFF, RT]
    assert cluster.writes() == [] and result["validated_by"] is None


def test_server_untagged_passes_pinots_check(run_module, cluster, warnings):
    """Pinot flags server_untagged as UNRECOGNISED_TAG_TYPE; that is expected, not a refusal."""
    result = run_module(pinot_instance_tags, args(cluster, tags=["server_untagged"]))
    assert result["changed"] is True and cluster.instances[server_id(3)]["tags"] == ["server_untagged"]
    assert result["validation_issues"] == []
    assert not warnings


def test_add_and_remove_modes(run_module, cluster):
    cluster.instances[server_id(3)]["tags"] = [OFF]
    added = run_module(pinot_instance_tags, args(cluster, tags=[RT], mode="add"))
    assert added["changed"] and cluster.instances[server_id(3)]["tags"] == [OFF, RT]
    assert run_module(pinot_instance_tags, args(cluster, tags=[OFF], mode="add"))["changed"] is False
    removed = run_module(pinot_instance_tags, args(cluster, tags=[OFF, "not_there"], mode="remove"))
    assert removed["changed"] and cluster.instances[server_id(3)]["tags"] == [RT]
    assert run_module(pinot_instance_tags, args(cluster, tags=[OFF], mode="remove"))["changed"] is False


def test_check_mode_and_diff_change_nothing(run_module, cluster):
    result = run_module(pinot_instance_tags, args(cluster, tags=["server_untagged"]), check_mode=True, diff=True)
    assert result["changed"] is True and result["tags"] == ["server_untagged"]
    assert result["diff"] == {"before": {"instance": server_id(3), "tags": [OFF, RT]},
                              "after": {"instance": server_id(3), "tags": ["server_untagged"]}}
    assert cluster.writes() == [] and cluster.instances[server_id(3)]["tags"] == [OFF, RT]


def test_unsafe_change_is_refused_with_pinots_reasons(run_module, cluster):
    """Leaving 2 servers tagged OFFLINE under a replication-3 table is refused; nothing is written."""
    cluster.instances[server_id(2)]["tags"] = [RT]
    result = run_module(pinot_instance_tags, args(cluster, tags=[RT]))
    assert result["failed"] is True
    assert result["msg"].startswith("Refusing to change the tags of %s" % server_id(3))
    assert "Tenant 'DefaultTenant' will not satisfy minimum 'server' requirement if tag '%s'" % OFF in result["msg"]
    assert "force=true" in result["msg"] and "Nothing was changed" in result["msg"]
    assert [i["code"] for i in result["validation_issues"]] == ["MINIMUM_INSTANCE_UNSATISFIED"]
    assert tag_puts(cluster) == [] and cluster.instances[server_id(3)]["tags"] == [OFF, RT]


def test_unsafe_change_is_refused_in_check_mode_too(run_module, cluster):
    cluster.instances[server_id(2)]["tags"] = [RT]
    result = run_module(pinot_instance_tags, args(cluster, tags=[RT]), check_mode=True)
    assert result["failed"] is True and tag_puts(cluster) == []


def test_force_changes_despite_the_check_and_warns(run_module, cluster, warnings):
    cluster.instances[server_id(2)]["tags"] = [RT]
    result = run_module(pinot_instance_tags, args(cluster, tags=[RT], force=True))
    assert result["changed"] is True and cluster.instances[server_id(3)]["tags"] == [RT]
    assert result["validation_issues"] and any("force=true" in w for w in warnings)


def test_unknown_instance_fails_and_changes_nothing(run_module, cluster):
    result = run_module(pinot_instance_tags, args(cluster, instance="Server_nope_8098", tags=[]))
    assert result["failed"] is True
    assert result["msg"].startswith("Instance Server_nope_8098 not found") and "nothing was changed" in result["msg"]
    assert cluster.writes() == []


@pytest.mark.parametrize("tags", [["a,b"], [""], [" DefaultTenant_OFFLINE"]])
def test_malformed_tags_fail_before_any_call(run_module, cluster, tags):
    result = run_module(pinot_instance_tags, args(cluster, tags=tags))
    assert result["failed"] is True and "must not be empty or contain commas or spaces" in result["msg"]
    assert cluster.requests == []


def test_broker_resource_flag_is_passed(run_module, cluster):
    result = run_module(pinot_instance_tags, args(cluster, instance="Broker_localhost_8099", tags=["other_BROKER"],
                                                  mode="add", update_broker_resource=True))
    assert result["changed"] is True
    assert tag_puts(cluster)[0][2]["updateBrokerResource"] == ["true"]
    assert cluster.instances["Broker_localhost_8099"]["tags"] == ["DefaultTenant_BROKER", "other_BROKER"]


def test_pinot_error_on_put_is_reported(run_module, cluster):
    cluster.fail_next("PUT", "/updateTags$", error(500, "Failed to update instance: x with tags: "), times=5)
    result = run_module(pinot_instance_tags, args(cluster, tags=[], retries=0))
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"].startswith("Could not set the tags of %s to []" % server_id(3))
    assert result["status"] == 500 and "Failed to update instance" in result["pinot_error"]


def test_fallback_check_reads_only_when_a_tenant_tag_goes(run_module, fake):
    fake.features["tag_validation"] = False
    fake.instances[server_id(3)]["tags"] = [OFF]
    result = run_module(pinot_instance_tags, args(fake, tags=["custom"], mode="add"))
    assert result["changed"] is True and result["validated_by"] is None
    assert fake.calls("GET", "/tables") == []


def test_failed_write_leaves_no_diff(run_module, cluster):
    """A diff says what changed: after a refused PUT nothing did."""
    cluster.fail_next("PUT", "/updateTags$", error(500, "Failed to update instance"), times=5)
    result = run_module(pinot_instance_tags, args(cluster, tags=["server_untagged"], retries=0), diff=True)
    assert result["failed"] is True and result["changed"] is False
    assert "diff" not in result and result["tags"] == [OFF, RT]


@pytest.mark.parametrize("mode", ["add", "remove"])
def test_empty_tags_refused_with_add_and_remove(run_module, cluster, mode):
    result = run_module(pinot_instance_tags, args(cluster, tags=[], mode=mode))
    assert result["failed"] is True and "tags is an empty list" in result["msg"]
    assert "Nothing was changed" in result["msg"] and cluster.requests == []
