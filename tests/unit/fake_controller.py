# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A Pinot-shaped fake controller for unit tests: a real HTTP server on loopback.

It answers with the status codes and JSON shapes the Pinot controller uses
(see shared docs, pinot-controller-api.md), keeps a small in-memory cluster
(instances, liveness, tables with ideal state and external view), records
every request, and can be told to misbehave (HTTP 503 a few times, an HTML
page from a "proxy", a slow answer). Routes are a registry: a test can add or
replace one with `fake.route(method, pattern, handler)`.

Feature flags model the version differences the modules probe for:
`drop_validation`, `tag_validation`, `live_instances`, `state_put`,
`periodic_task_post`, `query_routing`. GET /swagger.json lists the routes that
exist (a feature that is off is not listed), as Pinot's OpenAPI listing does;
`api_listing = False` hides it, as a proxy might. Two more flags change only
answers: `missing_table_404` (GET /tables/{t} of a table it does not have:
404 as live 1.5.1 answers, else 200 {} as 0.11 does) and `shutdown_flag`
(instance configs carry `shutdownInProgress`, Pinot 1.5+).

Every default is the newest behaviour; tests/unit/test_fake_follows_live.py
replays what live controllers answered against fakes set up per version.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import base64
import copy
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

CLUSTER = "PinotCluster"

# GET /periodictask/names of a default 0.11/1.0 controller.
TASK_NAMES = ["RetentionManager", "OfflineSegmentIntervalChecker", "RealtimeSegmentValidationManager",
              "BrokerResourceValidationManager", "SegmentStatusChecker", "SegmentRelocator", "TaskMetricsEmitter"]


def server_id(i):
    """Instance id of server i, shaped like the Helm chart's."""
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % i


class Reply:
    """A response the handler sends: status, body (dict/list -> JSON, str -> as is), content type."""

    def __init__(self, status, body=None, content_type=None):
        self.status = status
        self.body = body
        self.content_type = content_type or ("application/json" if not isinstance(body, str) else "text/plain")


def error(status, message):
    """Pinot's error envelope (WebApplicationExceptionMapper)."""
    return Reply(status, {"code": status, "error": message})


class FakePinot:
    """In-memory cluster state plus the HTTP server that serves it."""

    def __init__(self, servers=4, drop_validation=True, tag_validation=True, live_instances=True, state_put=True,
                 periodic_task_post=True, missing_table_404=True, shutdown_flag=True, users=None):
        self.features = dict(drop_validation=drop_validation, tag_validation=tag_validation,
                             live_instances=live_instances, state_put=state_put, periodic_task_post=periodic_task_post,
                             query_routing=False)  # PUT state queries_disable|queries_enable (newer than 1.5)
        self.missing_table_404 = missing_table_404
        self.shutdown_flag = shutdown_flag
        # periodic tasks: GET /periodictask/run answers {"taskId","isSuccessful": periodic_accepted} (0.11+), or with
        # periodic_reply_shape "legacy" {"Log Request Id","Controllers notified"} (0.9/0.10); runs are listed in `runs`
        self.periodic_reply_shape = "current"
        self.periodic_accepted = True
        self.runs = []
        self.users = users or {}  # username -> password; empty = no auth
        # Pinot 0.11 refuses wrong or missing credentials with 403 "Permission is denied for ..."; 401 elsewhere here.
        self.auth_failure_status = 401
        self.api_listing = True  # serve GET /swagger.json
        self.instances = {}
        self.live = set()
        self.tables = {}  # typed name -> {"config": {...}, "idealstate": {...}, "externalview": {...}}
        self.requests = []
        self.faults = []  # list of (method, path regex, Reply, remaining count)
        self.delay = 0.0
        self.lock = threading.Lock()
        self.routes = []
        self._register_default_routes()
        self.add_instance("Controller_localhost_9000", tags=[], live=True)
        self.add_instance("Broker_localhost_8099", tags=["DefaultTenant_BROKER"], live=True)
        for i in range(servers):
            self.add_instance(server_id(i), tags=["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"], live=True)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- state helpers for tests ---------------------------------------------------------------

    def add_instance(self, name, tags=None, live=False, host=None, port=None, enabled=True):
        host = host or (name.split("_")[1] if "_" in name else "localhost")
        self.instances[name] = {
            "instanceName": name, "hostName": host, "enabled": enabled,
            "port": str(port or name.rsplit("_", 1)[-1]), "tags": list(tags or []), "pools": None,
            "grpcPort": -1, "adminPort": -1, "queryServicePort": -1, "queryMailboxPort": -1,
            "systemResourceInfo": None,
        }
        if self.shutdown_flag:
            self.instances[name]["shutdownInProgress"] = False
        if live:
            self.live.add(name)

    def add_table(self, typed_name, assignment, replication=2, tenant="DefaultTenant", external_view=None):
        """A table with `assignment` {segment: {instance: state}} as ideal state (and external view by default)."""
        raw, table_type = typed_name.rsplit("_", 1)
        config = {"tableName": typed_name, "tableType": table_type,
                  "segmentsConfig": {"replication": str(replication)},
                  "tenants": {"server": tenant, "broker": tenant}}
        if table_type == "REALTIME":  # live OFFLINE configs carry no replicasPerPartition
            config["segmentsConfig"]["replicasPerPartition"] = str(replication)
        self.tables[typed_name] = {"raw": raw, "type": table_type, "config": config,
                                   "idealstate": copy.deepcopy(assignment),
                                   "externalview": copy.deepcopy(external_view if external_view is not None else assignment)}

    def fail_next(self, method, path_pattern, reply, times=1):
        """Answer the next `times` matching requests with `reply` instead of the real handler."""
        self.faults.append([method, re.compile(path_pattern), reply, times])

    def route(self, method, pattern, handler):
        """Add (or override, since newest wins) a route; handler(fake, match, query, body) -> Reply."""
        self.routes.insert(0, (method, re.compile("^" + pattern + "$"), handler))

    def calls(self, method=None, path_prefix=""):
        """Recorded requests, optionally filtered: list of (method, path, query, body)."""
        return [r for r in self.requests if (method is None or r[0] == method) and r[1].startswith(path_prefix)]

    def writes(self):
        """Recorded requests that could change the cluster (everything but GET and the validate calls)."""
        return [r for r in self.requests if r[0] != "GET" and not r[1].endswith("/validate")]

    # ---- HTTP plumbing -------------------------------------------------------------------------

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _serve(self, method):
                parts = urlsplit(self.path)
                path = parts.path
                query = parse_qs(parts.query, keep_blank_values=True)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = raw.decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or "") and body:
                    body = json.loads(body)
                with fake.lock:
                    fake.requests.append((method, path, query, body, dict(self.headers)))
                    reply = fake.dispatch(method, path, query, body, self.headers)
                if fake.delay:
                    time.sleep(fake.delay)
                payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                data = payload.encode("utf-8") if payload is not None else b""
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Pinot-Controller-Version", "fake")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # pylint: disable=invalid-name
                self._serve("GET")

            def do_POST(self):  # pylint: disable=invalid-name
                self._serve("POST")

            def do_PUT(self):  # pylint: disable=invalid-name
                self._serve("PUT")

            def do_DELETE(self):  # pylint: disable=invalid-name
                self._serve("DELETE")

        return Handler

    def dispatch(self, method, path, query, body, headers):
        for fault in self.faults:
            if fault[3] > 0 and fault[0] == method and fault[1].search(path):
                fault[3] -= 1
                return fault[2]
        # Pinot's AuthenticationFilter leaves these open, and every file-like path (no "/" after the first, a ".").
        unprotected = path in ("/health", "/auth/info") or ("/" not in path[1:] and "." in path)
        if self.users and not unprotected and not self._authorized(headers):
            if self.auth_failure_status == 403:
                return error(403, "Permission is denied for %s 'http://fake%s'" % (
                    "READ" if method == "GET" else "UPDATE", path))
            return error(401, "HTTP 401 Unauthorized")
        path_matched = False
        for route_method, pattern, handler in self.routes:
            match = pattern.match(path)
            if match:
                reply = handler(self, match, query, body) if route_method == method else None
                if reply is not None:
                    return reply
                path_matched = path_matched or route_method != method
        if path_matched:
            return error(405, "HTTP 405 Method Not Allowed")
        return error(404, "HTTP 404 Not Found")

    def _authorized(self, headers):
        value = headers.get("Authorization") or ""
        if not value.startswith("Basic "):
            return False
        try:
            user, _sep, password = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        except ValueError:
            return False
        return self.users.get(user) == password

    # ---- Pinot behaviour -----------------------------------------------------------------------

    def in_ideal_states(self, name):
        """Typed table names whose ideal state mentions the instance."""
        return sorted(t for t, table in self.tables.items()
                      if any(name in replicas for replicas in table["idealstate"].values()))

    def drop_issues(self, name):
        issues = []
        if name in self.live:
            issues.append({"code": "IS_ALIVE", "message": "Instance %s is still live" % name})
        for table in self.in_ideal_states(name):
            issues.append({"code": "CONTAINS_RESOURCE", "message": "Instance %s exists in ideal state for %s" % (name, table)})
        return issues

    def _register_default_routes(self):
        def feature(name, handler):
            def guarded(fake, match, query, body):
                if not fake.features[name]:
                    return None  # an older controller: as if the route did not exist
                return handler(fake, match, query, body)
            guarded.feature = name
            return guarded

        def name_of(match):
            return unquote(match.group("name"))

        def health(fake, match, query, body):
            return Reply(200, "OK")

        def swagger(fake, match, query, body):
            """Pinot's Swagger 2.0 listing: {"paths": {template: {method: operation}}} of the routes that exist."""
            if not fake.api_listing:
                return error(404, "HTTP 404 Not Found")
            paths = {}
            for method, pattern, handler in fake.routes:
                feature_name = getattr(handler, "feature", None)
                if feature_name and not fake.features[feature_name]:
                    continue
                template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.pattern.strip("^$"))
                # a handler may name its query parameters, as Pinot's listing does (the rebalance's vary by release)
                operation = {"parameters": [{"name": name, "in": "query", "type": "string"}
                                            for name in getattr(handler, "query_parameters", ())]}
                if (method, template) == ("PUT", "/instances/{name}/state"):
                    states = "enable|disable|drain" + ("|queries_disable|queries_enable"
                                                       if fake.features["query_routing"] else "")
                    operation["parameters"] = [{"name": "state", "in": "query", "required": True, "type": "string",
                                                "description": states}]
                paths.setdefault(template, {}).setdefault(method.lower(), operation)
            return Reply(200, {"swagger": "2.0", "basePath": "/", "paths": paths})

        def list_instances(fake, match, query, body):
            return Reply(200, {"instances": list(fake.instances)})

        def live_instances(fake, match, query, body):
            return Reply(200, {"instances": sorted(fake.live)})

        def get_instance(fake, match, query, body):
            name = name_of(match)
            if name not in fake.instances:
                return error(404, "Instance %s not found" % name)
            return Reply(200, fake.instances[name])

        def delete_instance(fake, match, query, body):
            name = name_of(match)
            if name not in fake.instances:
                return error(404, "Instance %s not found" % name)
            issues = fake.drop_issues(name)
            if issues:
                return error(409, "Failed to drop instance %s - %s" % (name, issues[0]["message"]))
            del fake.instances[name]
            return Reply(200, {"status": "Successfully dropped instance"})

        def update_tags(fake, match, query, body):
            name = name_of(match)
            if "tags" not in query:
                return error(400, "Must provide tags to update")
            if name not in fake.instances:
                return error(404, "Failed to find instance config for instance: %s" % name)
            value = query["tags"][0]
            tags = value.split(",") if value else []
            fake.instances[name]["tags"] = tags
            return Reply(200, {"status": "Updated tags: [%s] for instance: %s" % (", ".join(tags), name)})

        def validate_drop(fake, match, query, body):
            result = []
            for name in query.get("instanceNames", []):
                issues = fake.drop_issues(name) if name in fake.instances else []
                result.append({"instanceName": name, "isSafe": not issues, "issues": issues})
            return Reply(200, result)

        def validate_tags(fake, match, query, body):
            result = []
            for change in body or []:
                name = change["instanceName"]
                if name not in fake.instances:
                    return error(412, "Instance %s is not a valid instance name." % name)
                issues = [{"code": "UNRECOGNISED_TAG_TYPE",
                           "message": "The tag '%s' does not follow the suffix convention of either broker or server" % tag}
                          for tag in change["newTags"] if not tag.endswith(("_OFFLINE", "_REALTIME", "_BROKER"))
                          and name.startswith(("Server_", "Broker_"))]
                for tag in fake.instances[name]["tags"]:
                    if tag in change["newTags"] or not tag.endswith(("_OFFLINE", "_REALTIME")):
                        continue
                    remaining = [n for n, conf in fake.instances.items() if tag in conf["tags"] and n != name]
                    needed = max([int(t["config"]["segmentsConfig"]["replication"]) for t in fake.tables.values()
                                  if t["config"]["tenants"]["server"] + "_" + t["type"] == tag] or [0])
                    if len(remaining) < needed:
                        tenant = tag.rsplit("_", 1)[0]
                        issues.append({"code": "MINIMUM_INSTANCE_UNSATISFIED",
                                       "message": "Tenant '%s' will not satisfy minimum 'server' requirement if tag '%s' "
                                                  "is removed from server instance '%s'." % (tenant, tag, name)})
                result.append({"instanceName": name, "isSafe": not issues, "issues": issues})
            return Reply(200, result)

        def put_state(fake, match, query, body):
            name = name_of(match)
            state = (query.get("state") or [""])[0].lower()
            if name not in fake.instances:
                return error(404, "Instance '%s' does not exist" % name)
            if state in ("queries_disable", "queries_enable") and fake.features["query_routing"]:
                if not name.startswith("Server_"):
                    return error(400, "QUERIES_DISABLE/QUERIES_ENABLE only applies to server instances. "
                                      "Instance '%s' is not a server." % name)
                if state == "queries_disable":
                    fake.instances[name]["queriesDisabled"] = "true"
                else:
                    fake.instances[name].pop("queriesDisabled", None)
                return Reply(200, {"status": "%s query routing for server instance '%s'" % (
                    "Disabled" if state == "queries_disable" else "Enabled", name)})
            if state not in ("enable", "disable"):
                return error(400, "Unknown state '%s'" % state)
            fake.instances[name]["enabled"] = state == "enable"
            return Reply(200, {"status": "Request to %s instance '%s' is successful" % (state, name)})

        def post_state(fake, match, query, body):
            name = name_of(match)
            state = (body or "").strip().lower()
            if name not in fake.instances:
                return error(404, "Instance %s not found" % name)
            if state not in ("enable", "disable"):
                return error(400, "Unknown state %s for instance request" % state)
            fake.instances[name]["enabled"] = state == "enable"
            return Reply(200, {"status": "Request to %s instance %s is successful" % (state, name)})

        def create_instance(fake, match, query, body):
            prefix = {"SERVER": "Server_", "BROKER": "Broker_", "CONTROLLER": "Controller_", "MINION": "Minion_"}
            name = "%s%s_%s" % (prefix[str(body["type"]).upper()], body["host"], body["port"])
            if name in fake.instances:
                return error(409, "Instance: %s already exists" % name)
            fake.add_instance(name, tags=body.get("tags"), host=body["host"], port=body["port"])
            return Reply(200, {"status": "Added instance: %s" % name})

        def cluster_info(fake, match, query, body):
            return Reply(200, {"clusterName": CLUSTER})

        def zk_ls(fake, match, query, body):
            if query.get("path", [""])[0] == "/%s/LIVEINSTANCES" % CLUSTER:
                return Reply(200, json.dumps(sorted(fake.live)), "application/json")
            return error(404, "Path not found")

        def list_tables(fake, match, query, body):
            table_type = (query.get("type") or [None])[0]
            if table_type:
                return Reply(200, {"tables": sorted(t for t, v in fake.tables.items() if v["type"] == table_type.upper())})
            return Reply(200, {"tables": sorted(set(v["raw"] for v in fake.tables.values()))})

        def typed_tables(fake, name, table_type=None):
            names = [name] if name in fake.tables else [name + "_OFFLINE", name + "_REALTIME"]
            return [n for n in names if n in fake.tables and (not table_type or fake.tables[n]["type"] == table_type.upper())]

        def table_config(fake, match, query, body):
            # A table it does not have: 404 on live 1.5.1, 200 {} on live 0.11.
            found = typed_tables(fake, name_of(match))
            if not found and fake.missing_table_404:
                return error(404, "Table %s does not exist" % name_of(match))
            return Reply(200, dict((fake.tables[n]["type"], fake.tables[n]["config"]) for n in found))

        def table_view(view):
            def handler(fake, match, query, body):
                table_type = (query.get("tableType") or [None])[0]
                found = typed_tables(fake, name_of(match), table_type)
                if not found:
                    return error(404, "Table not found")
                reply = {"OFFLINE": None, "REALTIME": None}
                for n in found:
                    reply[fake.tables[n]["type"]] = fake.tables[n][view]
                return Reply(200, reply)
            return handler

        def tenant_tables(fake, match, query, body):
            tenant = name_of(match)
            return Reply(200, {"tables": sorted(n for n, t in fake.tables.items() if t["config"]["tenants"]["server"] == tenant)})

        def periodic_task_names(fake, match, query, body):
            return Reply(200, list(TASK_NAMES))

        def run_periodic_task(fake, match, query, body):
            """PinotControllerPeriodicTaskRestletResource: checks the task and the table, then notifies controllers."""
            task = (query.get("taskname") or [""])[0]
            if task not in TASK_NAMES:
                return error(404, "Periodic task '%s' not found." % task)
            table = (query.get("tableName") or [None])[0]
            table_type = (query.get("type") or [None])[0]
            if table_type and table_type.upper() not in ("OFFLINE", "REALTIME"):
                return error(400, "Illegal table type '%s'" % table_type)
            if table:
                for suffix in ("_OFFLINE", "_REALTIME"):
                    if table.endswith(suffix) and table_type and suffix[1:] != table_type.upper():
                        return error(403, "Table name: %s does not match table type: %s" % (table, table_type.upper()))
                typed = [table] if table.endswith(("_OFFLINE", "_REALTIME")) else \
                    [table + "_" + t for t in ("OFFLINE", "REALTIME") if not table_type or t == table_type.upper()]
                matching = [t for t in typed if t in fake.tables]
                if not matching:
                    return error(404, "Table '%s' not found." % typed[0])
                if len(matching) > 1:
                    return error(500, "More than one table matches Table '%s'. Matching names: %s" % (table, matching))
                table = matching[0]
            task_id = "api-%08x" % (len(fake.runs) + 1)
            fake.runs.append({"task": task, "table": table, "properties": body or None})
            if fake.periodic_reply_shape == "legacy":
                return Reply(200, {"Log Request Id": task_id, "Controllers notified": fake.periodic_accepted})
            return Reply(200, {"taskId": task_id, "isSuccessful": fake.periodic_accepted})

        routes = [
            ("GET", r"/health", health),
            ("GET", r"/swagger\.json", swagger),
            ("GET", r"/instances", list_instances),
            ("POST", r"/instances", create_instance),
            ("GET", r"/liveinstances", feature("live_instances", live_instances)),
            ("GET", r"/instances/dropInstance/validate", feature("drop_validation", validate_drop)),
            ("POST", r"/instances/updateTags/validate", feature("tag_validation", validate_tags)),
            ("GET", r"/instances/(?P<name>[^/]+)", get_instance),
            ("DELETE", r"/instances/(?P<name>[^/]+)", delete_instance),
            ("PUT", r"/instances/(?P<name>[^/]+)/updateTags", update_tags),
            ("PUT", r"/instances/(?P<name>[^/]+)/state", feature("state_put", put_state)),
            ("POST", r"/instances/(?P<name>[^/]+)/state", post_state),
            ("GET", r"/cluster/info", cluster_info),
            ("GET", r"/zk/ls", zk_ls),
            ("GET", r"/tables", list_tables),
            ("GET", r"/tables/(?P<name>[^/]+)", table_config),
            ("GET", r"/tables/(?P<name>[^/]+)/idealstate", table_view("idealstate")),
            ("GET", r"/tables/(?P<name>[^/]+)/externalview", table_view("externalview")),
            ("GET", r"/tenants/(?P<name>[^/]+)/tables", tenant_tables),
            ("GET", r"/periodictask/names", periodic_task_names),
            ("GET", r"/periodictask/run", run_periodic_task),
            ("POST", r"/periodictask/run", feature("periodic_task_post", run_periodic_task)),
        ]
        for method, pattern, handler in reversed(routes):
            self.route(method, pattern, handler)
