# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Pinot controller REST API: one method per endpoint, and feature probes.

Everything that knows a Pinot endpoint's path, parameters and reply shape lives
here; how a request travels (auth, TLS, retries, failover) is transport.py's.
Nothing here imports Ansible, so it is usable (and testable) on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import re

from ansible_collections.pinotops.pinot.plugins.module_utils.errors import PinotError, redact_url
from ansible_collections.pinotops.pinot.plugins.module_utils.names import TABLE_TYPES, table_name_with_type
from ansible_collections.pinotops.pinot.plugins.module_utils.transport import PinotTransport


API_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS")


def api_path(path):
    """A path template with every parameter as `{}`, so /tables/{tableName}/x and /tables/{t}/x compare equal."""
    return "/" + re.sub(r"\{[^}]*\}", "{}", path).strip("/")


class PinotClient(PinotTransport):
    """A session to one Pinot cluster: PinotTransport plus one method per controller endpoint."""

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

    def has_rebalance_force_commit(self):
        """Whether POST /tables/{t}/rebalance takes forceCommit (Pinot 1.4+), from the API listing; None = unknown.

        Pinot ignores a query parameter it does not know, so only the listing
        tells without a rebalance whether consuming segments can be committed
        before they move.
        """
        listing = self.api_listing()
        if listing is None:
            return None
        operation = listing.get(("POST", api_path("/tables/{}/rebalance"))) or {}
        return any(isinstance(parameter, dict) and parameter.get("name") == "forceCommit"
                   for parameter in operation.get("parameters") or [])

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
        reply = self.get("/zk/ls", params={"path": "/%s/LIVEINSTANCES" % self.cluster_name()})[1]
        return json.loads(reply) if isinstance(reply, str) else list(reply or [])

    def cluster_name(self):
        """GET /cluster/info: the Helix cluster name of this controller."""
        return self.get("/cluster/info")[1]["clusterName"]

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

    def table_size(self, table):
        """GET /tables/{t}/size?detailed=true: per segment and server the size on disk, as the servers report it."""
        return self.get(self.path("/tables/{0}/size", table), params={"detailed": "true"})[1] or {}

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
