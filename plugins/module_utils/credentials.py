# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credentials: how they are sent, and which ones were sent and from where (never a secret's value)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name


CREDENTIAL_ENV = {"username": "PINOT_USERNAME", "password": "PINOT_PASSWORD", "token": "PINOT_TOKEN"}


def describe_credentials(username=None, token=None, origin=None, header=False):
    """Which credentials were sent and where they came from (never a password or token value).

    `origin` maps username/password/token to where each came from (an option or
    a PINOT_* variable); `header` says an Authorization header came from the
    headers option.
    """
    origin = origin or {}
    if token:
        return "a token (from %s)" % origin.get("token", "the token option")
    if username:
        return "user '%s' (username from %s, password from %s)" % (
            username, origin.get("username", "the username option"), origin.get("password", "the password option"))
    if header:
        return "the Authorization header from the headers option"
    return "no credentials (neither username and password nor token is set, as options or as %s)" % ", ".join(
        CREDENTIAL_ENV.values())


def authenticate(session, username=None, password=None, token=None):
    """Set a requests.Session up to send the credentials: a token as the Authorization header, else basic auth."""
    if token:
        # A token that names its scheme ("Basic ...", "Bearer ...") is sent as given.
        session.headers["Authorization"] = token if " " in token.strip() else "Bearer " + token
    elif username:
        session.auth = (username, password or "")
