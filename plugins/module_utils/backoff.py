# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one backoff schedule: how long to wait before the next try or the next poll."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import random

# Past this many doublings every schedule here has long reached its cap; the bound keeps factor ** n a small float.
MAX_EXPONENT = 64


def backoff_delay(attempt, first, cap, factor=2.0, jitter=False, uniform=random.uniform):
    """Seconds to wait before try number `attempt` (1-based): `first`, growing by `factor`, never above max(cap, first).

    With `jitter`, a random value in the upper half of that, so that clients that failed together do not retry
    together.
    """
    delay = min(max(cap, first), first * factor ** min(attempt - 1, MAX_EXPONENT))
    return uniform(delay / 2.0, delay) if jitter else delay


def backoff_delays(first, cap, factor=2.0, jitter=False):
    """backoff_delay of attempts 1, 2, 3, ... without end: next() of it before each wait."""
    attempt = 0
    while True:
        attempt += 1
        yield backoff_delay(attempt, first, cap, factor, jitter)
