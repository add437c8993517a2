# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure functions over Pinot segment assignments (no I/O).

An assignment is what `/tables/{t}/idealstate` and `/externalview` return for
one table type: {segment: {instance: state}}.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

# Replica states that mean "this instance holds (or is loading) the segment".
HOLDING_STATES = ("ONLINE", "CONSUMING")


def segments_by_instance(assignment, states=None):
    """{instance: number of segments} of one table's assignment, counting replicas in `states` (all if None)."""
    counts = {}
    for replicas in assignment.values():
        for instance, state in replicas.items():
            if states is None or state in states:
                counts[instance] = counts.get(instance, 0) + 1
    return counts
