# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller errors and the words around them: PinotError, Pinot's own message from a reply, what to do next.

Nothing here sends a request or imports Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

from urllib.parse import urlsplit, urlunsplit

# Statuses that mean "a proxy or a restarting controller answered": safe to retry for idempotent calls.
RETRY_STATUSES = (502, 503, 504)
REDACTED = "********"


class PinotError(Exception):
    """A controller call that did not succeed.

    Carries what a person needs to act: the request (method and URL, never
    credentials), the HTTP status (None when no answer came), Pinot's own
    message, and a hint of what to do. `unavailable` is True when no
    controller answered, or one answered 502/503/504: worth waiting for.
    `unsupported` is True when the controller refused the request because its
    Pinot version lacks the endpoint or the value (nothing was done).
    """

    def __init__(self, message, method=None, url=None, status=None, pinot_message=None, hint=None, unavailable=False,
                 unsupported=False):
        super(PinotError, self).__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.status = status
        self.pinot_message = pinot_message
        self.hint = hint
        self.unavailable = unavailable
        self.unsupported = unsupported

    def __str__(self):
        text = self.message
        if self.method and self.url:
            text = "%s %s: %s" % (self.method, self.url, text)
        if self.hint:
            text = "%s. %s" % (text.rstrip("."), self.hint)
        return text

    def to_result(self):
        """The error as result keys (for fail_json)."""
        return {"status": self.status, "url": self.url, "method": self.method, "pinot_error": self.pinot_message}


def redact_url(url):
    """Drop user:password@ and the query string from a URL for messages."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe_body(response):
    """Pinot's own message from an error reply: JSON {"code","error"}, plain text, or an HTML page."""
    text = (response.text or "").strip()
    content_type = response.headers.get("Content-Type", "")
    if text.startswith("{") or "json" in content_type:
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ("error", "message", "status"):
                if isinstance(body.get(key), str):
                    return body[key]
            return json.dumps(body, sort_keys=True)[:500]
    if "html" in content_type or text.lower().startswith(("<!doctype html", "<html")):
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        summary = title.group(1).strip() if title else re.sub(r"<[^>]+>|\s+", " ", text).strip()[:200]
        return "an HTML page (%s) - a proxy or load balancer answered, not the Pinot controller" % (summary or "no title")
    return text[:500] or "(empty body)"


def hint_for_status(status, credentials=None):
    """What to do about an HTTP status, in one sentence or two; `credentials` from describe_credentials()."""
    sent = " Sent: %s." % credentials if credentials else ""
    if status == 401:
        return ("The controller requires authentication and did not accept the request: the credentials were missing "
                "or refused.%s Check the credentials." % sent)
    if status == 403:
        # Pinot 0.11 answers a wrong password with 403 too: the same status as a missing permission.
        return ("Pinot answers 403 both when it refuses the credentials (a wrong password, for example) and when the "
                "user lacks the permission this call needs; it does not say which.%s Check the credentials (password "
                "or token) first, then the user's permissions." % sent)
    if status in RETRY_STATUSES:
        return "The controller (or a proxy in front of it) is unavailable; check that it is running and reachable"
    return None
