# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.module_utils.args import (
    empty_list_message,
    resolve_tables,
    typed_table_names,
)
from ansible_collections.pinotops.pinot.plugins.module_utils.client import PinotClient
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import server_id

TYPES = {"events": ["OFFLINE", "REALTIME"], "stats": ["OFFLINE"]}


def test_empty_list_message_names_the_option_and_what_to_do():
    instead = {"table": "name at least one table, or use tenant", "servers": "leave servers out"}
    assert empty_list_message({"table": ["t"], "servers": None}, instead) is None
    assert empty_list_message({"table": [], "servers": None}, instead) == (
        "table is an empty list; name at least one table, or use tenant")
    assert empty_list_message({"table": ["t"], "servers": []}, instead) == "servers is an empty list; leave servers out"


@pytest.mark.parametrize("tables, table_type, expected", [
    (["events"], None, ["events_OFFLINE", "events_REALTIME"]),
    (["events"], "REALTIME", ["events_REALTIME"]),
    (["stats_OFFLINE", "events", "events_REALTIME"], None, ["stats_OFFLINE", "events_OFFLINE", "events_REALTIME"]),
    (["events_OFFLINE", "events_OFFLINE"], "OFFLINE", ["events_OFFLINE"]),
    ([], None, []),
])
def test_typed_table_names_in_the_order_given_each_once(tables, table_type, expected):
    assert typed_table_names(tables, table_type, TYPES) == expected


@pytest.mark.parametrize("tables, table_type, message", [
    (["nope"], None, "Table 'nope' not found."),
    (["stats"], "REALTIME", "Table 'stats_REALTIME' not found."),
    (["stats_OFFLINE"], "REALTIME", "Table name: stats_OFFLINE does not match table type: REALTIME"),
])
def test_typed_table_names_fail_in_pinots_words(tables, table_type, message):
    with pytest.raises(PinotError) as caught:
        typed_table_names(tables, table_type, TYPES)
    assert caught.value.message == message


@pytest.fixture
def tables(fake):
    replicas = {server_id(0): "ONLINE", server_id(1): "ONLINE"}
    fake.add_table("events_OFFLINE", {"e0": dict(replicas)})
    fake.add_table("events_REALTIME", {"events__0__0__20260101T0000Z": dict(replicas)})
    fake.add_table("stats_OFFLINE", {"s0": dict(replicas)}, tenant="Gold")
    return fake


def test_resolve_tables_from_two_listings(tables):
    client = PinotClient(tables.url)
    assert resolve_tables(client, ["stats", "events"]) == ["stats_OFFLINE", "events_OFFLINE", "events_REALTIME"]
    assert [call[1] for call in tables.requests] == ["/tables", "/tables"]
    assert resolve_tables(client) == ["events_OFFLINE", "stats_OFFLINE", "events_REALTIME"]
    assert resolve_tables(client, table_type="REALTIME") == ["events_REALTIME"]
    assert resolve_tables(client, tenant="Gold") == ["stats_OFFLINE"]
    assert resolve_tables(client, tenant="DefaultTenant", table_type="OFFLINE") == ["events_OFFLINE"]
    with pytest.raises(PinotError):
        resolve_tables(client, ["nope"])
