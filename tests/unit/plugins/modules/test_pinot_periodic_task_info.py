# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.pinotops.pinot.plugins.modules import pinot_periodic_task_info
from ansible_collections.pinotops.pinot.tests.unit.fake_controller import FakePinot
from ansible_collections.pinotops.pinot.tests.unit.plugins.modules.test_pinot_periodic_task import (
    TASK_NAMES,
    add_periodic_tasks,
)


@pytest.mark.parametrize("post", [True, False])
def test_lists_names_and_runs_nothing(run_module, fake, post):
    add_periodic_tasks(fake, post=post)
    result = run_module(pinot_periodic_task_info, {"controller_url": fake.url})
    assert result["changed"] is False
    assert result["names"] == TASK_NAMES
    assert result["properties_supported"] is post
    assert fake.runs == []
    # an _info module sends only reads: the feature comes from the API listing, not from a POST probe
    assert [c[0] for c in fake.requests] == ["GET", "GET"] and fake.writes() == []


def test_check_mode_is_the_same(run_module, fake):
    add_periodic_tasks(fake)
    result = run_module(pinot_periodic_task_info, {"controller_url": fake.url}, check_mode=True)
    assert result["names"] == TASK_NAMES and result["properties_supported"] is True
    assert fake.writes() == []


def test_hidden_api_listing_leaves_properties_unknown(run_module, fake):
    add_periodic_tasks(fake)
    fake.api_listing = False  # a proxy in front of the controller that does not pass /swagger.json
    result = run_module(pinot_periodic_task_info, {"controller_url": fake.url})
    assert result["names"] == TASK_NAMES and result["properties_supported"] is None
    assert fake.writes() == []


def test_user_who_may_not_run_tasks_still_gets_everything(run_module):
    """The API listing needs no permission (Pinot leaves /swagger.json open), so a reader learns the feature too."""
    fake = add_periodic_tasks(FakePinot(users={"reader": "secret"}).start())
    try:
        result = run_module(pinot_periodic_task_info, {"controller_url": fake.url, "username": "reader",
                                                       "password": "secret"})
    finally:
        fake.stop()
    assert result["names"] == TASK_NAMES and result["properties_supported"] is True


@pytest.mark.parametrize("status", [401, 403])
def test_wrong_password_is_a_clear_failure_without_the_secret(run_module, status):
    fake = add_periodic_tasks(FakePinot(users={"admin": "secret"}).start())
    fake.auth_failure_status = status  # Pinot 0.11 answers 403 to a wrong password
    try:
        result = run_module(pinot_periodic_task_info, {"controller_url": fake.url, "username": "admin",
                                                       "password": "wrong-password", "retries": 0})
    finally:
        fake.stop()
    assert result["failed"] is True and result["status"] == status
    assert result["msg"].startswith("Could not list the periodic tasks: GET ")
    assert "user 'admin' (username from the username option, password from the password option)" in result["msg"]
    assert "wrong-password" not in str(result)
