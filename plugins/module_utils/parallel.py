# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Running one worker per item, a few at a time, each thread with its own client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import threading
from concurrent.futures import ThreadPoolExecutor


def run_parallel(client, items, worker, parallelism):
    """worker(client, item) for every item, at most `parallelism` at a time; results in the order of `items`.

    Each worker thread gets its own client (client.copy(): the same settings, its own requests.Session), because a
    requests Session is not thread-safe. Run one at a time, the worker gets `client` itself.
    """
    if parallelism <= 1 or len(items) <= 1:
        return [worker(client, item) for item in items]
    local = threading.local()

    def run(item):
        if getattr(local, "client", None) is None:
            local.client = client.copy()
        return worker(local.client, item)

    with ThreadPoolExecutor(max_workers=min(parallelism, len(items))) as pool:
        return list(pool.map(run, items))
