# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_restart_order import FilterModule, restart_order


def pod(name, uid=None):
    return {"metadata": {"name": name, "uid": uid or "uid-" + name}}


PODS = [pod("pinot-server-%d" % i) for i in (0, 1, 2, 3, 10)] + [pod("pinot-broker-0"), pod("pinot-server-x")]


def test_registered():
    assert FilterModule().filters()["pinot_restart_order"] is restart_order


def test_every_pod_highest_ordinal_first_numerically():
    result = restart_order(PODS, "pinot-server")
    assert result["order"] == ["pinot-server-10", "pinot-server-3", "pinot-server-2", "pinot-server-1", "pinot-server-0"]
    assert result["todo"] == result["order"] and result["skipped"] == [] and result["missing"] == []
    assert result["uids"]["pinot-server-3"] == "uid-pinot-server-3"


def test_chosen_pods_in_the_order_given_once_each():
    result = restart_order(PODS, "pinot-server", chosen=["pinot-server-1", "pinot-server-3", "pinot-server-1"])
    assert result["order"] == ["pinot-server-1", "pinot-server-3"] and result["missing"] == []


def test_chosen_names_that_are_not_pods_are_missing():
    result = restart_order(PODS, "pinot-server", chosen=["pinot-server-1", "pinot-server-7", "pinot-broker-0"])
    assert result["missing"] == ["pinot-server-7", "pinot-broker-0"]
    assert result["order"] == ["pinot-server-1"]


def test_resume_skips_pods_recreated_since_the_roll_began():
    started = dict(("pinot-server-%d" % i, "uid-pinot-server-%d" % i) for i in (0, 1, 2, 3))
    started["pinot-server-3"] = "old-3"  # recreated since
    pods = [pod("pinot-server-%d" % i) for i in (0, 1, 2, 3)]
    result = restart_order(pods, "pinot-server", started_uids=started)
    assert result["skipped"] == ["pinot-server-3"]
    assert result["todo"] == ["pinot-server-2", "pinot-server-1", "pinot-server-0"]
    assert result["order"] == ["pinot-server-3"] + result["todo"]


def test_resume_counts_a_pod_of_the_roll_that_is_gone_right_now_as_restarted():
    started = dict(("pinot-server-%d" % i, "uid-pinot-server-%d" % i) for i in (0, 1, 2))
    pods = [pod("pinot-server-%d" % i) for i in (0, 1)]  # pinot-server-2 deleted, its successor not created yet
    result = restart_order(pods, "pinot-server", started_uids=started)
    assert result["skipped"] == ["pinot-server-2"] and result["uids"]["pinot-server-2"] is None
    assert result["todo"] == ["pinot-server-1", "pinot-server-0"]
    assert result["order"] == ["pinot-server-2", "pinot-server-1", "pinot-server-0"]
    # ... also when it was chosen by name: it is not "missing"
    assert restart_order(pods, "pinot-server", chosen=["pinot-server-2"], started_uids=started)["missing"] == []


def test_resume_takes_first_the_pod_whose_routing_was_turned_off_before_its_restart():
    started = dict(("pinot-server-%d" % i, "uid-pinot-server-%d" % i) for i in (0, 1, 2, 3))
    started["pinot-server-3"] = "old-3"  # restarted; then the run was killed with pinot-server-1's routing off
    pods = [pod("pinot-server-%d" % i) for i in (0, 1, 2, 3)]
    result = restart_order(pods, "pinot-server", started_uids=started, routing_off="pinot-server-1")
    assert result["todo"] == ["pinot-server-1", "pinot-server-2", "pinot-server-0"]
    assert result["order"] == ["pinot-server-3", "pinot-server-1", "pinot-server-2", "pinot-server-0"]


def test_a_recorded_routing_off_pod_already_restarted_or_not_chosen_changes_nothing():
    started = dict(("pinot-server-%d" % i, "uid-pinot-server-%d" % i) for i in (0, 1, 2, 3))
    started["pinot-server-3"] = "old-3"
    pods = [pod("pinot-server-%d" % i) for i in (0, 1, 2, 3)]
    plain = restart_order(pods, "pinot-server", started_uids=started)
    assert restart_order(pods, "pinot-server", started_uids=started, routing_off="pinot-server-3") == plain
    chosen = restart_order(pods, "pinot-server", chosen=["pinot-server-2"], started_uids=started, routing_off="pinot-server-1")
    assert chosen["order"] == ["pinot-server-2"]


def test_no_pods():
    assert restart_order([], "pinot-server")["order"] == []


def test_not_a_list_is_an_error():
    with pytest.raises(AnsibleFilterError, match="expected a list of pods"):
        restart_order({"resources": []}, "pinot-server")


def test_resume_waits_for_the_restarted_pods_first_also_in_a_chosen_order():
    started = dict(("pinot-server-%d" % i, "uid-pinot-server-%d" % i) for i in (0, 1, 2))
    started["pinot-server-0"] = "old-0"  # recreated since (restarted by the killed run, or evicted)
    pods = [pod("pinot-server-%d" % i) for i in (0, 1, 2)]
    result = restart_order(pods, "pinot-server", chosen=["pinot-server-2", "pinot-server-0", "pinot-server-1"],
                           started_uids=started)
    assert result["order"] == ["pinot-server-0", "pinot-server-2", "pinot-server-1"]
    assert result["todo"] == ["pinot-server-2", "pinot-server-1"] and result["skipped"] == ["pinot-server-0"]
