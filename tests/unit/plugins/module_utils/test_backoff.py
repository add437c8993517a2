# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import itertools

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delay, backoff_delays


def test_doubles_up_to_the_cap():
    assert [backoff_delay(n, 1.0, 15.0) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]
    assert list(itertools.islice(backoff_delays(1.0, 15.0), 6)) == [1.0, 2.0, 4.0, 8.0, 15.0, 15.0]


def test_a_first_delay_above_the_cap_stays():
    assert list(itertools.islice(backoff_delays(45.0, 30.0, 1.5), 3)) == [45.0, 45.0, 45.0]


def test_jitter_is_in_the_upper_half():
    seen = []

    def uniform(low, high):
        seen.append((low, high))
        return high

    assert backoff_delay(3, 0.5, 10.0, jitter=True, uniform=uniform) == 2.0 and seen == [(1.0, 2.0)]


def test_a_long_wait_does_not_overflow():
    assert backoff_delay(100000, 0.5, 30.0, factor=1.5) == 30.0
