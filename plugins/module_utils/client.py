# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one HTTP client for the Pinot controller REST API.

Everything that knows HTTP or a Pinot endpoint's path, parameters and reply
shape lives here: sessions, auth, TLS, timeouts, retries, failover between
controllers, error parsing, and one method per endpoint. Nothing here imports
Ansible, so it is usable (and testable) on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re
import time
import traceback

from urllib.parse import quote, urlsplit, urlunsplit

from ansible_collections.pinotops.pinot.plugins.module_utils.backoff import backoff_delay

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

# Statuses that mean "a proxy or a restarting controller answered": safe to retry for idempotent calls.
RETRY_STATUSES = (502, 503, 504)
TABLE_TYPES = ("OFFLINE", "REALTIME")
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


def table_name_with_type(table, table_type):
    """`events` + REALTIME -> `events_REALTIME`; a typed name is kept as is."""
    suffix = "_" + table_type.upper()
    return table if table.endswith(suffix) else table + suffix


def split_table_name(table):
    """`events_REALTIME` -> (`events`, `REALTIME`); a raw name -> (name, None)."""
    for table_type in TABLE_TYPES:
        if table.endswith("_" + table_type):
            return table[:-len(table_type) - 1], table_type
    return table, None


def existing_table_names(table, table_type, existing_types):
    """Typed names a table argument means, as Pinot resolves it (ResourceUtils.getExistingTableNamesWithType).

    `table` is raw or typed, `table_type` None or OFFLINE/REALTIME, `existing_types` the types that exist
    for the raw name (the keys of GET /tables/{raw}). Raises PinotError with Pinot's wording when the
    typed name contradicts `table_type` or no such table exists.
    """
    raw, typed_as = split_table_name(table)
    if typed_as and table_type and typed_as != table_type.upper():
        raise PinotError("Table name: %s does not match table type: %s" % (table, table_type.upper()),
                         hint="Give the raw table name with table_type, or the typed name alone")
    wanted = [typed_as or table_type.upper()] if (typed_as or table_type) else list(TABLE_TYPES)
    found = [raw + "_" + kind for kind in wanted if kind in existing_types]
    if not found:
        raise PinotError("Table '%s' not found." % (raw + "_" + wanted[0] if len(wanted) == 1 else table),
                         hint="Check the name with GET /tables")
    return found


INSTANCE_TYPES = {"Controller_": "controller", "Broker_": "broker", "Server_": "server", "Minion_": "minion"}


def instance_type(name):
    """Pinot stores no type: it is the id's prefix (`Server_...` -> `server`); None when unrecognised."""
    for prefix, kind in INSTANCE_TYPES.items():
        if name.startswith(prefix):
            return kind
    return None


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


API_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")


def api_path(path):
    """A path template with every parameter as `{}`, so /tables/{tableName}/x and /tables/{t}/x compare equal."""
    return "/" + re.sub(r"\{[^}]*\}", "{}", path).strip("/")


class PinotClient:
    """A session to one Pinot cluster, through one or more controller URLs.

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
        self._features = {}

        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=connect_retry(retries, backoff_base, backoff_max))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "%s python-requests/%s" % (USER_AGENT, requests.__version__)
        self.session.headers["Accept"] = "application/json"
        self.session.headers.update(headers or {})
        if token:
            # A token that names its scheme ("Basic ...", "Bearer ...") is sent as given.
            self.session.headers["Authorization"] = token if " " in token.strip() else "Bearer " + token
        elif username:
            self.session.auth = (username, password or "")
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
        twin = PinotClient(**self._settings)
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

    # ---- feature probes (by reading, never by writing; not by version) -----------------------

    def _probe(self, name, method, path, params=None, body=None, present=None):
        if name not in self._features:
            status, reply = self.request(method, path, params=params, body=body, ok=(200, 404, 405), retry=True)
            self._features[name] = present(status, reply)
        return self._features[name]

    def api_listing(self):
        """{(METHOD, api_path(path)): operation} from the controller's OpenAPI listing, or None when unreadable.

        Every Pinot controller serves its Swagger 2.0 listing at GET /swagger.json,
        without authentication (its AuthenticationFilter leaves file-like paths
        open). It tells which write endpoints exist without sending a write. A
        proxy may hide it: then None, and the write itself tells when it is due.
        """
        if "api" not in self._features:
            status, reply = self.request("GET", "/swagger.json", ok=(200, 401, 403, 404))
            listing = None
            if status == 200 and isinstance(reply, dict) and isinstance(reply.get("paths"), dict):
                listing = {}
                for path, operations in reply["paths"].items():
                    for verb, operation in (operations if isinstance(operations, dict) else {}).items():
                        if verb.upper() in API_METHODS:
                            listing[(verb.upper(), api_path(path))] = operation or {}
            self._features["api"] = listing
        return self._features["api"]

    def _api_has(self, method, path):
        """True/False from the API listing; None when the listing cannot be read."""
        listing = self.api_listing()
        return None if listing is None else (method, api_path(path)) in listing

    def has_drop_validation(self):
        """GET /instances/dropInstance/validate (Pinot 1.0+)."""
        return self._probe("drop_validation", "GET", "/instances/dropInstance/validate",
                           params={"instanceNames": "__pinotops_probe__"}, present=lambda s, r: s == 200)

    def has_tag_validation(self):
        """POST /instances/updateTags/validate (Pinot 1.0+), from the API listing.

        Without a listing, asked with an empty validation: a check that changes
        nothing, the call the tag module makes next anyway.
        """
        listed = self._api_has("POST", "/instances/updateTags/validate")
        if listed is not None:
            return listed
        return self._probe("tag_validation", "POST", "/instances/updateTags/validate", body=[],
                           present=lambda s, r: s == 200)

    def has_rebalance_status(self):
        """GET /rebalanceStatus/{jobId} (Pinot 1.0+): a 404 from the resource, not from the router."""
        return self._probe("rebalance_status", "GET", "/rebalanceStatus/00000000-pinotops-probe",
                           present=lambda s, r: s == 200 or (s == 404 and "HTTP 404 Not Found" not in str(r)))

    def has_live_instances(self):
        """GET /liveinstances (Pinot 1.2+)."""
        return self._probe("live_instances", "GET", "/liveinstances", present=lambda s, r: s == 200)

    def has_rebalance_cancel(self):
        """DELETE /tables/{t}/rebalance (Pinot 1.1+), from the API listing.

        True when the listing cannot be read: the DELETE itself then tells
        (cancel_rebalance raises PinotError with `unsupported` on a 405).
        """
        return self._api_has("DELETE", "/tables/{}/rebalance") is not False

    def has_query_routing_states(self):
        """Whether PUT /instances/{name}/state takes queries_disable|queries_enable (newer than 1.5); None = unknown.

        From the API listing: the controllers that take these states name them
        in the operation's documentation. The write itself answers for certain
        (set_instance_state raises PinotError with `unsupported`).
        """
        listing = self.api_listing()
        if listing is None:
            return None
        operation = listing.get(("PUT", api_path("/instances/{}/state")))
        return operation is not None and "queries_disable" in json.dumps(operation).lower()

    def has_periodic_task_post(self):
        """POST /periodictask/run, which takes task properties (Pinot 1.4+), from the API listing; None = unknown."""
        return self._api_has("POST", "/periodictask/run")

    # ---- instances --------------------------------------------------------------------------

    def list_instances(self):
        """GET /instances: every participant id, dead ones included."""
        return self.get("/instances")[1].get("instances", [])

    def get_instance(self, name):
        """GET /instances/{name}: the instance config, or None when Pinot does not know it."""
        status, reply = self.get(self.path("/instances/{0}", name), ok=(200, 404))
        return reply if status == 200 else None

    def live_instances(self):
        """Ids of the live participants.

        /liveinstances where the controller has it; otherwise the ZooKeeper
        LIVEINSTANCES listing through the controller's ZK browser.
        """
        if self.has_live_instances():
            return self.get("/liveinstances")[1].get("instances", [])
        cluster = self.get("/cluster/info")[1]["clusterName"]
        reply = self.get("/zk/ls", params={"path": "/%s/LIVEINSTANCES" % cluster})[1]
        return json.loads(reply) if isinstance(reply, str) else list(reply or [])

    def update_instance_tags(self, name, tags, update_broker_resource=False):
        """PUT /instances/{name}/updateTags: replaces the whole tag list."""
        params = {"tags": ",".join(tags), "updateBrokerResource": str(bool(update_broker_resource)).lower()}
        return self.request("PUT", self.path("/instances/{0}/updateTags", name), params=params)[1]

    def validate_tag_update(self, changes):
        """POST /instances/updateTags/validate with [{"instanceName", "newTags"}] (a read: safe to retry)."""
        body = [{"instanceName": name, "newTags": list(tags)} for name, tags in changes.items()]
        return self.request("POST", "/instances/updateTags/validate", body=body, retry=True)[1]

    def validate_drop(self, names):
        """GET /instances/dropInstance/validate: per instance isSafe and issues."""
        return self.get("/instances/dropInstance/validate", params={"instanceNames": list(names)})[1]

    def drop_instance(self, name):
        """DELETE /instances/{name}. Returns False when the instance was already gone (404)."""
        status, _reply = self.request("DELETE", self.path("/instances/{0}", name), ok=(200, 404))
        return status == 200

    def set_instance_state(self, name, state):
        """PUT /instances/{name}/state?state= (Pinot 1.0+); where that is refused with 405, the older POST form.

        The older form only knows enable and disable (and drop, never sent
        here). A state the controller does not know raises PinotError with
        `unsupported` set; nothing was changed then.
        """
        path = self.path("/instances/{0}/state", name)
        if self._features.get("state_put", True):
            try:
                status, reply = self.request("PUT", path, params={"state": state}, ok=(200, 405))
            except PinotError as exc:
                exc.unsupported = exc.status == 400 and "unknown state" in (exc.pinot_message or "").lower()
                raise
            if status == 200:
                return reply
            self._features["state_put"] = False  # the router refused the method: Pinot before 1.0
        if state not in ("enable", "disable"):
            raise PinotError("this controller has no PUT /instances/{instanceName}/state (Pinot 1.0 and newer), and its "
                             "older POST form does not know the state %r; nothing was changed" % state,
                             "PUT", redact_url(self.urls[0] + path), status=405, unsupported=True)
        # Older controllers take the state as a text/plain body of a POST; enable/disable are idempotent.
        return self.request("POST", path, text=state, retry=True)[1]

    def create_instance(self, instance):
        """POST /instances with {"host", "port", "type", "tags", ...}."""
        return self.request("POST", "/instances", body=instance)[1]

    # ---- tables and assignment ----------------------------------------------------------------

    def list_tables(self, table_type=None):
        """GET /tables: raw names, or typed names when `table_type` is given."""
        params = {"type": table_type.lower()} if table_type else None
        return self.get("/tables", params=params)[1].get("tables", [])

    def typed_tables(self):
        """[(typed name, type)] of every table, OFFLINE first: two listings, however many tables there are."""
        return [(table, table_type) for table_type in TABLE_TYPES for table in self.list_tables(table_type)]

    def get_table_config(self, table):
        """GET /tables/{table}: {"OFFLINE": {...}, "REALTIME": {...}} (only the types that exist; {} if none)."""
        status, reply = self.get(self.path("/tables/{0}", table), ok=(200, 404))
        return reply if status == 200 and isinstance(reply, dict) else {}

    def _table_view(self, view, table, table_type=None):
        params = {"tableType": table_type.lower()} if table_type else None
        reply = self.get(self.path("/tables/{0}/" + view, table), params=params)[1] or {}
        return dict((key, value) for key, value in reply.items() if value is not None)

    def ideal_state(self, table, table_type=None):
        """GET /tables/{t}/idealstate: {"OFFLINE"|"REALTIME": {segment: {instance: state}}}."""
        return self._table_view("idealstate", table, table_type)

    def external_view(self, table, table_type=None):
        """GET /tables/{t}/externalview: same shape as the ideal state, with ERROR and transient states."""
        return self._table_view("externalview", table, table_type)

    def tenant_tables(self, tenant):
        """GET /tenants/{tenant}/tables: typed names of the tables served by a server tenant."""
        return self.get(self.path("/tenants/{0}/tables", tenant))[1].get("tables", [])

    # ---- rebalance ----------------------------------------------------------------------------

    def rebalance(self, table, table_type, params):
        """POST /tables/{t}/rebalance: starts work, so it is never blindly re-sent; 409 is returned, not raised."""
        query = dict(params)
        query["type"] = table_type
        return self.request("POST", self.path("/tables/{0}/rebalance", table), params=query, ok=(200, 409), retry=False)

    def rebalance_status(self, job_id):
        """GET /rebalanceStatus/{jobId}, or None when the controller has no such job (404)."""
        status, reply = self.get(self.path("/rebalanceStatus/{0}", job_id), ok=(200, 404))
        return reply if status == 200 else None

    def cancel_rebalance(self, table, table_type):
        """DELETE /tables/{t}/rebalance?type=: the ids of the jobs it cancelled (405 before Pinot 1.1: `unsupported`)."""
        try:
            return self.request("DELETE", self.path("/tables/{0}/rebalance", table), params={"type": table_type})[1] or []
        except PinotError as exc:
            exc.unsupported = exc.status == 405
            raise

    def reset_segment(self, table, table_type, segment, instance):
        """POST /segments/{tableNameWithType}/{segment}/reset?targetInstance=: reload one replica that is in ERROR.

        Pinot takes the replica OFFLINE and back ONLINE (or CONSUMING) in the background; the call returns at once.
        """
        path = self.path("/segments/{0}/{1}/reset", table_name_with_type(table, table_type), segment)
        return self.request("POST", path, params={"targetInstance": instance})[1]

    def table_jobs(self, table, table_type=None, job_types="TABLE_REBALANCE"):
        """GET /table/{t}/jobs (singular `table`): jobId -> job metadata."""
        params = {"jobTypes": job_types}
        if table_type:
            params["type"] = table_type
        return self.get(self.path("/table/{0}/jobs", table), params=params)[1] or {}

    # ---- periodic tasks -----------------------------------------------------------------------

    def periodic_task_names(self):
        """GET /periodictask/names."""
        return self.get("/periodictask/names")[1] or []

    def run_periodic_task(self, task, table=None, table_type=None, properties=None):
        """Run a controller periodic task: POST with properties (1.4+), else GET. Never re-sent blindly."""
        params = {"taskname": task}
        if table:
            params["tableName"] = table
        if table_type:
            params["type"] = table_type
        if properties:
            try:
                return self.request("POST", "/periodictask/run", params=params, body=properties, retry=False)[1]
            except PinotError as exc:
                exc.unsupported = exc.status == 405  # only the GET form (before Pinot 1.4): nothing ran
                raise
        return self.request("GET", "/periodictask/run", params=params, retry=False)[1]
