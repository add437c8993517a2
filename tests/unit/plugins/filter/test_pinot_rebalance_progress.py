# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinotops.pinot.plugins.filter.pinot_rebalance_progress import FilterModule, duration, progress_line


def table(done, segments, converged, ideal=0, external=0):
    return {"table": "t", "done": done, "progress": {"segments": segments, "converged": converged},
            "on_servers": {"Server_x_8098": {"ideal_state": ideal, "external_view": external}}}


def test_registered():
    assert FilterModule().filters()["pinot_rebalance_progress"] is progress_line


def test_duration():
    assert [duration(s) for s in (0, 95.4, 250, 3720)] == ["0 s", "95 s", "4 min 10 s", "1 h 2 min"]


def test_line_with_estimate_from_the_rate_so_far():
    info = {"tables": [table(True, 20, 20), table(False, 100, 60, ideal=10, external=12), table(False, 60, 60, 0, 0)]}
    # 40 replicas at start, 12 left after 70 s: 28 moved in 70 s, 12 more take 30 s.
    assert progress_line(info, 70, 40) == (
        "1/3 tables done, 140/180 segments converged (77.8%), 12 of 40 replicas left on the servers, "
        "70 s elapsed, about 30 s left")


def test_no_estimate_before_anything_moved_and_waiting_for_views():
    assert progress_line({"tables": [table(False, 10, 10, 4, 4)]}, 5, 4).endswith(
        "4 of 4 replicas left on the servers, 5 s elapsed, no estimate until the first replica has moved")
    assert progress_line({"tables": [table(False, 10, 8)]}, 50, 4).endswith(
        "0 of 4 replicas left on the servers, 50 s elapsed, the servers are empty, waiting for the views to converge")


def test_done_and_no_servers():
    info = {"tables": [{"table": "t", "done": True, "progress": {"segments": 0, "converged": 0}, "on_servers": {}}]}
    assert progress_line(info, 3) == "1/1 tables done, 0/0 segments converged (100.0%), 3 s elapsed, every table converged"


def test_rejects_other_input():
    with pytest.raises(AnsibleFilterError):
        progress_line({"msg": "x"}, 1)
