# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP to the Pinot controller: sessions, auth, TLS, timeouts, retries and failover between controllers.

Knows no Pinot endpoint (client.PinotClient adds those). Nothing here imports Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import time
import traceback

from urllib.parse import quote, urlsplit

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delay
from ansible_collections.pinotops.pinot.plugins.module_utils.credentials import authenticate, describe_credentials
from ansible_collections.pinotops.pinot.plugins.module_utils.errors import (
    REDACTED,
    RETRY_STATUSES,
    PinotError,
    describe_body,
    hint_for_status,
    redact_url,
)

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError
    from urllib3.exceptions import ProxyError as Urllib3ProxyError
    from urllib3.util.retry import Retry
except ImportError:  # pragma: no cover  (reported by the module through missing_required_lib)
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

COLLECTION_VERSION = "0.1.0"
USER_AGENT = "pinotops.pinot/%s (Ansible collection)" % COLLECTION_VERSION


def was_never_sent(exc):
    """True when a connection error happened before the request reached a server.

    Only then is it safe to send a work-starting POST again (to this or another
    controller). Decided by exception type: refused connections, DNS failures
    (urllib3 2.x NameResolutionError is a NewConnectionError) and connect
    timeouts are all urllib3 ConnectTimeoutError; a read timeout or a
    connection reset after sending may have reached the controller.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(exc, requests.exceptions.SSLError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, Urllib3ProxyError):  # the proxy could not be reached: the request went nowhere either
        reason = getattr(reason, "original_error", None)
    return isinstance(reason, ConnectTimeoutError)


def connect_retry(retries, backoff_base, backoff_max):
    """A urllib3 Retry that tries connecting again `retries` times, and nothing else.

    A connection that was never made sent nothing, so this is safe for every
    method; read errors and 502/503/504 depend on whether the request starts
    work, which a session-wide Retry cannot know, so PinotClient.request
    handles those itself.
    """
    kwargs = dict(total=retries, connect=retries, read=False, backoff_factor=backoff_base, raise_on_status=False,
                  respect_retry_after_header=False)
    try:
        # urllib3 2.x: `other` errors (TLS, for example) are not retried; the backoff is capped at backoff_max.
        return Retry(other=0, backoff_max=backoff_max, **kwargs)
    except TypeError:  # urllib3 1.x
        return Retry(**kwargs)


class PinotTransport:
    """HTTP to one Pinot cluster, through one or more controller URLs (PinotClient adds the endpoints).

    Connecting is retried per URL by urllib3 (a request that never connected
    was never sent). Reads and idempotent writes are also tried again on a
    read error or 502/503/504, with capped exponential backoff and jitter; a
    request that starts work (retry=False) only goes to the next controller
    when it provably never reached a server. A controller that answered is
    asked first from then on.
    """

    def __init__(self, controller_urls, username=None, password=None, token=None, headers=None,
                 validate_certs=True, ca_path=None, client_cert=None, client_key=None,
                 timeout=30.0, retries=3, backoff_base=0.5, backoff_max=10.0, sleep=time.sleep, credential_origin=None):
        # Kept for copy(): every argument, as given.
        self._settings = dict(
            controller_urls=controller_urls, username=username, password=password, token=token, headers=headers,
            validate_certs=validate_certs, ca_path=ca_path, client_cert=client_cert, client_key=client_key,
            timeout=timeout, retries=retries, backoff_base=backoff_base, backoff_max=backoff_max, sleep=sleep,
            credential_origin=credential_origin)
        if isinstance(controller_urls, str):
            controller_urls = [controller_urls]
        self.urls = [url.rstrip("/") for url in controller_urls or [] if url and url.strip()]
        if not self.urls:
            raise PinotError("controller_url is empty; give the controller's base URL, e.g. http://pinot-controller:9000")
        for url in self.urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                raise PinotError("controller_url %r is not an http(s) URL such as http://pinot-controller:9000" % redact_url(url))
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep
        self.secrets = [s for s in (password, token) if s]
        self.credentials = describe_credentials(
            username, token, credential_origin,
            header=any(key.lower() == "authorization" for key in (headers or {})))
        self._features = {}  # what PinotClient learnt about this controller's API

        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=connect_retry(retries, backoff_base, backoff_max))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "%s python-requests/%s" % (USER_AGENT, requests.__version__)
        self.session.headers["Accept"] = "application/json"
        self.session.headers.update(headers or {})
        authenticate(self.session, username, password, token)
        # Passed with every request, not only set on the session: requests lets REQUESTS_CA_BUNDLE and
        # CURL_CA_BUNDLE override a session's verify, which would silently ignore ca_path.
        self.verify = ca_path if (ca_path and validate_certs) else bool(validate_certs)
        self.session.verify = self.verify
        if client_cert:
            self.session.cert = (client_cert, client_key) if client_key else client_cert

    def copy(self):
        """A client with the same settings and its own requests.Session, for another thread.

        A requests.Session is not thread-safe: give each worker thread its own
        copy. What was learnt so far (probed features, which controller
        answers) is copied too.
        """
        twin = type(self)(**self._settings)
        twin.urls = list(self.urls)
        twin._features = dict(self._features)  # pylint: disable=protected-access
        return twin

    # ---- transport --------------------------------------------------------------------------

    def _scrub(self, text):
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def backoff(self, attempt):
        """Seconds to wait before retry number `attempt` (1-based): capped exponential, jittered."""
        return backoff_delay(attempt, self.backoff_base, self.backoff_max, jitter=True)

    def request(self, method, path, params=None, body=None, text=None, ok=(200,), retry=None, timeout=None):
        """Send one request; return (status, parsed body).

        `path` is already quoted (use `path()` to build it). `body` is sent as
        JSON, `text` as text/plain. `ok` lists the statuses the caller handles
        itself (for example 404 meaning absent); any other status raises
        PinotError. `retry` defaults to True for GET/PUT/DELETE and False for
        POST; a request that was never sent always goes on to the next controller.
        """
        if retry is None:
            retry = method != "POST"
        kwargs = {"params": params, "timeout": timeout or self.timeout, "verify": self.verify}
        if text is not None:
            kwargs.update(data=text, headers={"Content-Type": "text/plain"})
        elif body is not None:
            kwargs["json"] = body
        last_error = None
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff(attempt))
            answered = False  # a controller answered "not now" or broke off after the request: worth another round
            for base in list(self.urls):
                url = base + path
                try:
                    response = self.session.request(method, url, **kwargs)
                except requests.exceptions.SSLError as exc:
                    raise PinotError(
                        "TLS error: %s" % self._scrub(str(exc)), method, redact_url(url),
                        hint="Set ca_path to the CA bundle that signed the controller's certificate, "
                             "or validate_certs=false for a test cluster")
                except requests.exceptions.RequestException as exc:
                    last_error = PinotError(
                        "cannot reach the controller: %s" % self._scrub(str(exc)), method, redact_url(url),
                        hint="Check controller_url and that the controller is running", unavailable=True)
                    if was_never_sent(exc):
                        continue  # urllib3 already tried connecting again: on to the next controller URL
                    if not retry:
                        raise last_error  # it may have reached the controller: sending it again could start work twice
                    answered = True
                    continue
                if response.status_code in RETRY_STATUSES and retry:
                    last_error = self._error(method, url, response)
                    answered = True
                    continue
                self._prefer(base)
                if response.status_code not in ok:
                    raise self._error(method, url, response)
                return response.status_code, self._parse(response)
            if not answered:
                break  # no controller could be connected to, each after its own connect retries
        raise last_error

    def _prefer(self, base):
        """Ask the controller that answered first from now on, so a dead one costs its connect retries only once."""
        if self.urls[0] != base:
            self.urls.remove(base)
            self.urls.insert(0, base)

    def _error(self, method, url, response):
        message = self._scrub(describe_body(response))
        status = response.status_code
        return PinotError("HTTP %d: %s" % (status, message), method, redact_url(url), status=status,
                          pinot_message=message, unavailable=status in RETRY_STATUSES,
                          hint=hint_for_status(status, self.credentials if status in (401, 403) else None))

    @staticmethod
    def _parse(response):
        text = response.text
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    @staticmethod
    def path(template, *args):
        """Fill a path template, quoting every argument: path('/instances/{0}', name)."""
        return template.format(*[quote(str(arg), safe="") for arg in args])

    def get(self, path, params=None, ok=(200,)):
        return self.request("GET", path, params=params, ok=ok)
