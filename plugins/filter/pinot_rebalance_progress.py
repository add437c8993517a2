# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r"""
name: pinot_rebalance_progress
short_description: One line of rebalance progress a person can read
version_added: 0.1.0
description:
  - Turns a result of M(pinotops.pinot.pinot_table_rebalance_info) into one line - tables done out of the total,
    segments converged out of the total, segment replicas still on the servers being emptied, the time elapsed and
    an estimate of the time left.
  - The estimate assumes the servers keep emptying at the rate seen so far (from O(left_at_start) to now); there is
    none until the first replica has left them.
  - The decommission role prints it in every round of its rebalance wait.
author:
  - pinotops maintainers (@pinotops)
positional: elapsed, left_at_start
options:
  _input:
    description: A registered result of M(pinotops.pinot.pinot_table_rebalance_info), called with O(pinotops.pinot.pinot_table_rebalance_info#module:servers).
    type: dict
    required: true
  elapsed:
    description: Seconds since the rebalance started.
    type: float
    required: true
  left_at_start:
    description: Segment replicas the servers held when the rebalance started (for the estimate); V(0) for no estimate.
    type: int
    default: 0
"""

EXAMPLES = r"""
- name: Show how far the rebalance is
  ansible.builtin.debug:
    msg: "{{ progress | pinotops.pinot.pinot_rebalance_progress(now().timestamp() - started, 40) }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
  sample: "1/3 tables done, 140/180 segments converged (77.8%), 12 of 40 replicas left on the servers, 95 s elapsed, about 40 s left"
"""

from ansible.errors import AnsibleFilterError


def duration(seconds):
    """95 -> '95 s', 250 -> '4 min 10 s', 3720 -> '1 h 2 min'."""
    seconds = int(round(max(seconds, 0)))
    if seconds < 120:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %d s" % (seconds // 60, seconds % 60)
    return "%d h %d min" % (seconds // 3600, seconds % 3600 // 60)


def replicas_left(info):
    """Segment replicas the servers of interest still hold, in the ideal state or the external view, summed over tables."""
    return sum(max(counts.get("ideal_state", 0), counts.get("external_view", 0))
               for table in info.get("tables") or [] for counts in (table.get("on_servers") or {}).values())


def progress_line(info, elapsed, left_at_start=0):
    """One line: tables done/total, segments converged/total, replicas left, elapsed, estimate."""
    if not isinstance(info, dict) or "tables" not in info:
        raise AnsibleFilterError("pinot_rebalance_progress expects a result of pinot_table_rebalance_info")
    tables = info["tables"]
    done = sum(1 for table in tables if table.get("done"))
    segments = sum((table.get("progress") or {}).get("segments", 0) for table in tables)
    converged = sum((table.get("progress") or {}).get("converged", 0) for table in tables)
    percent = 100.0 * converged / segments if segments else 100.0
    left = replicas_left(info)
    parts = ["%d/%d tables done" % (done, len(tables)),
             "%d/%d segments converged (%.1f%%)" % (converged, segments, percent)]
    if left_at_start or left:
        parts.append("%d of %d replicas left on the servers" % (left, max(left_at_start, left)))
    parts.append("%s elapsed" % duration(float(elapsed)))
    moved = left_at_start - left
    if done == len(tables):
        # The views say so; the rebalance itself may still be confirming it.
        parts.append("every table converged")
    elif left == 0 and left_at_start:
        parts.append("the servers are empty, waiting for the views to converge")
    elif moved > 0 and elapsed > 0:
        parts.append("about %s left" % duration(float(elapsed) * left / moved))
    else:
        parts.append("no estimate until the first replica has moved")
    return ", ".join(parts)


class FilterModule:
    def filters(self):
        return {"pinot_rebalance_progress": progress_line}
