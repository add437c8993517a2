# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_assignment_table import (
    FilterModule,
    assignment_table,
    partition_ranges,
)


def sid(i):
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % i


def view(counts, partitions=None):
    return {"segments_per_server": dict((sid(i), n) for i, n in counts.items()),
            "servers_to_partitions": dict((sid(i), p) for i, p in (partitions or dict((i, []) for i in counts)).items())}


def test_registered():
    assert FilterModule().filters()["pinot_assignment_table"] is assignment_table


def test_partition_ranges():
    assert partition_ranges([]) == ""
    assert partition_ranges([3, 0, 1, 2, 7, 9, 10]) == "0-3, 7, 9-10"
    assert partition_ranges([5]) == "5"


def test_offline_table_shows_its_segments_and_no_partition_column():
    # The dict repr showed {server: []} for an OFFLINE table that had 4 segments.
    lines = assignment_table({"events_OFFLINE": {"external_view": view({0: 2, 3: 2})}})
    assert lines == [
        "events_OFFLINE",
        "  server          segments",
        "  pinot-server-0         2",
        "  pinot-server-3         2",
    ]


def test_before_then_after_aligned_in_natural_order_with_short_names():
    before = {"events_REALTIME": view({10: 3, 2: 4, 3: 5}, {10: [0, 1, 2], 2: [1, 3], 3: [0, 2, 3]})}
    after = {"events_REALTIME": view({10: 6, 2: 6}, {10: [0, 1, 2, 3], 2: [0, 1, 2, 3]})}
    lines = assignment_table(before, after)
    assert lines == [
        "events_REALTIME",
        "  before:",
        "    server           segments  partitions",
        "    pinot-server-2          4  1, 3",
        "    pinot-server-3          5  0, 2-3",
        "    pinot-server-10         3  0-2",
        "  after:",
        "    server           segments  partitions",
        "    pinot-server-2          6  0-3",
        "    pinot-server-10         6  0-3",
    ]


def test_tables_in_order_missing_side_and_empty_view():
    lines = assignment_table({"b_OFFLINE": view({0: 1})}, {"a_OFFLINE": view({})})
    assert lines[0] == "a_OFFLINE" and lines[1:4] == ["  before:", "    (not read)", "  after:"]
    assert lines[4] == "    (no server serves a segment)"
    assert lines[5] == "b_OFFLINE" and lines[-1] == "    (not read)"


def test_server_with_partitions_but_no_count():
    lines = assignment_table({"t_REALTIME": {"servers_to_partitions": {sid(1): [0]}}})
    assert lines[-1] == "  pinot-server-1         ?  0"


def test_rejects_what_is_not_a_dict():
    with pytest.raises(AnsibleFilterError):
        assignment_table(["events"])
    with pytest.raises(AnsibleFilterError):
        assignment_table({"events_OFFLINE": []})
