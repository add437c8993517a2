# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_scale_target import FilterModule, scale_target


def sid(i):
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % i


def target(ids, current):
    return scale_target(ids, "pinot-server", current, namespace="pinot-quickstart")


def test_registered():
    assert FilterModule().filters()["pinot_scale_target"] is scale_target


def test_highest_ordinals_give_the_replica_count():
    assert target([sid(3)], 4) == {"replicas": 3, "ordinals": {sid(3): 3}, "problems": []}
    assert target([sid(2), sid(3)], 4)["replicas"] == 2


def test_pod_already_gone_needs_no_scaling():
    # An earlier run scaled to 3; pinot-server-3 is still in Pinot.
    assert target([sid(3)], 3)["replicas"] == 3
    assert target([sid(2), sid(3)], 3)["replicas"] == 2


def test_a_lower_ordinal_is_refused_naming_the_ordinals_in_the_way():
    result = target([sid(1)], 4)
    assert result["replicas"] is None
    assert result["problems"] == [
        "Kubernetes removes the highest ordinals first: StatefulSet pinot-server has 4 replicas (ordinals 0-3), so "
        "removing ordinal 1 means removing ordinals 2, 3 too"]
    assert "ordinals 1, 3" in target([sid(1), sid(3)], 4)["problems"][0]


def test_ids_of_other_pods_and_removing_everything_are_refused():
    result = target(["Server_10.0.0.5_8098"], 4)
    assert result["replicas"] is None and result["ordinals"] == {"Server_10.0.0.5_8098": None}
    assert result["problems"][0].startswith("Server_10.0.0.5_8098 is not a pod of StatefulSet pinot-server (its ids look "
                                            "like Server_pinot-server-0.pinot-server-headless.pinot-quickstart.svc")
    assert target([sid(0), sid(1)], 2)["problems"] == ["removing every pod of StatefulSet pinot-server leaves no server"]


def test_bad_template():
    with pytest.raises(AnsibleFilterError):
        scale_target([sid(1)], "pinot-server", 4, template="Server_{host}_{port}")
    with pytest.raises(AnsibleFilterError):
        scale_target([sid(1)], "pinot-server", 4, template="Server_{pod}_{nope}")
