# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_scale_out_plan import FilterModule, scale_out_plan


def sid(i):
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % i


def server(i, segments=3, tags=("DefaultTenant_OFFLINE", "DefaultTenant_REALTIME")):
    """One entry of pinot_instance_info's instances (include_segments=true)."""
    return {"name": sid(i), "tags": list(tags), "live": True,
            "total_segments": {"ideal_state": segments, "external_view": segments}}


def plan(instances, current, replicas, **kwargs):
    return scale_out_plan(instances, "pinot-server", current, replicas, namespace="pinot-quickstart", **kwargs)


def test_registered():
    assert FilterModule().filters()["pinot_scale_out_plan"] is scale_out_plan


def test_the_scale_adds_the_next_ordinals():
    result = plan([server(i) for i in range(4)], 4, 6)
    assert result == {"servers": [sid(4), sid(5)], "pods": {sid(4): "pinot-server-4", sid(5): "pinot-server-5"},
                      "added": [sid(4), sid(5)], "unfinished": []}


def test_a_second_run_has_nothing_new():
    assert plan([server(i) for i in range(5)], 5, 5)["servers"] == []


def test_a_rerun_after_the_scale_finds_the_servers_that_hold_nothing_yet():
    # interrupted after the scale: server 4 is tagged but holds nothing; server 5 has not registered yet
    result = plan([server(i) for i in range(4)] + [server(4, segments=0)], 6, 6)
    assert result["servers"] == [sid(4), sid(5)] and result["unfinished"] == [sid(4), sid(5)] and result["added"] == []


def test_a_drained_server_is_never_taken_for_a_new_one():
    instances = [server(i) for i in range(4)] + [server(4, segments=0, tags=["server_untagged"])]
    assert plan(instances, 5, 5)["servers"] == []


def test_ordinals_sort_numerically():
    result = plan([server(i) for i in range(9)], 9, 11)
    assert result["servers"] == [sid(9), sid(10)]


def test_an_existing_pod_pinot_does_not_list_counts_as_new():
    result = plan([server(i) for i in range(3)], 4, 4)
    assert result["servers"] == [sid(3)] and result["unfinished"] == [sid(3)]


def test_a_lower_target_adds_nothing():
    # the role refuses it before; the filter only says there is nothing to add above the target
    assert plan([server(i) for i in range(4)], 4, 3)["servers"] == []


def test_template_and_fields():
    result = scale_out_plan([], "srv", 0, 1, template="Server_{pod}_{port}", port=9000)
    assert result["servers"] == ["Server_srv-0_9000"]
    assert scale_out_plan([], "srv", 0, 1, service="svc", namespace="ns")["servers"] == [
        "Server_srv-0.svc.ns.svc.cluster.local_8098"]


@pytest.mark.parametrize("template", ["Server_{host}_{port}", "Server_{pod}_{unknown}"])
def test_unusable_template_is_an_error(template):
    with pytest.raises(AnsibleFilterError, match="template"):
        scale_out_plan([], "pinot-server", 1, 2, template=template)
