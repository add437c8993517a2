"""Bad input for every module and the role, on the real cluster: each fails with a clear message and changes nothing.

The module cases run as one playbook (one task per case, errors ignored, every result written to a JSON file), so the
table below costs one ansible-playbook start; each case is then its own parametrized test. Besides the shared cluster
(left as found), the cases use: a loopback port nothing listens on, a local "proxy" answering an HTML 502 page, a local
HTTPS server with a self-signed certificate forwarding to the shared controller, and a small basic-auth Pinot cluster
(started for this module unless the shared one already has auth).
"""

import http.server
import json
import socket
import ssl
import subprocess
import threading

import pytest
import requests

import pinot_cluster as harness

NO_SUCH_SERVER = "Server_pinot-server-99.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098"
RETRIES = {"retries": 1}  # keeps the cases that retry (controller down, 502) short


class _Forward(http.server.BaseHTTPRequestHandler):
    """Sends every request on to the server's `target` and its answer back (a stand-in for a TLS front end)."""

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() in ("content-type", "authorization"))
        answer = requests.request(self.command, self.server.target + self.path, data=body, headers=headers, timeout=60)
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, *args):  # pylint: disable=arguments-differ
        """Quiet."""


class _Html502(http.server.BaseHTTPRequestHandler):
    """What a reverse proxy answers when the controller behind it is gone."""

    PAGE = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"

    def _answer(self):
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.PAGE)))
        self.end_headers()
        self.wfile.write(self.PAGE)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):  # pylint: disable=arguments-differ
        """Quiet."""


def serve(handler, target=None, tls_cert=None):
    """Start a threaded HTTP(S) server on a free loopback port; return (server, base URL)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.target = target
    scheme = "http"
    if tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls_cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "%s://127.0.0.1:%d" % (scheme, server.server_address[1])


def self_signed_cert(directory):
    """A self-signed certificate for 127.0.0.1 made with the openssl CLI; return (cert, key) paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return str(cert), str(key)


def closed_port():
    """A loopback port nothing listens on (bound once by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cluster_snapshot(pinot, headers=None):
    """What a change would alter: every instance's tags and state, and which servers each segment's ideal state names."""
    def get(path):
        response = requests.get(pinot.controller_url + path, headers=headers or {}, timeout=30)
        response.raise_for_status()
        return response.json()
    instances = dict((name, (get("/instances/" + name)["tags"], get("/instances/" + name)["enabled"]))
                     for name in get("/instances")["instances"])
    assignment = {}
    for table in get("/tables")["tables"]:
        for table_type, segments in get("/tables/%s/idealstate" % table).items():
            for segment, replicas in (segments or {}).items():
                assignment["%s_%s/%s" % (table, table_type, segment)] = sorted(replicas)
    return {"instances": instances, "assignment": assignment}


def changes(before, after):
    """What differs, ignoring the segments the generator's stream created in between (a CONSUMING segment that
    became ONLINE keeps its servers, so states are not compared)."""
    found = [(name, tags, after["instances"].get(name)) for name, tags in before["instances"].items()
             if after["instances"].get(name) != tags]
    found += [(segment, servers, after["assignment"].get(segment)) for segment, servers in before["assignment"].items()
              if after["assignment"].get(segment) != servers]
    return found


def put_tags_back(pinot, before, headers=None):
    """Restore the tags a failed case changed, so the next tests find the cluster as it was."""
    for name, (tags, _enabled) in before["instances"].items():
        answer = requests.get(pinot.controller_url + "/instances/" + name, headers=headers or {}, timeout=30)
        if answer.status_code == 200 and answer.json()["tags"] != tags:
            requests.put(pinot.controller_url + "/instances/%s/updateTags" % name, params={"tags": ",".join(tags)},
                         headers=headers or {}, timeout=30).raise_for_status()


@pytest.fixture(scope="module")
def auth_pinot(pinot_cluster, tmp_path_factory):
    """A basic-auth Pinot cluster: the shared one when it has auth, else a small one for this module."""
    if pinot_cluster.state.get("users"):
        yield pinot_cluster
        return
    cluster = harness.up(tmp_path_factory.mktemp("auth-pinot"), servers=2, auth=True, generator=False,
                         version=pinot_cluster.state["version"], server_version=pinot_cluster.state.get("server_version"))
    try:
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def endpoints(pinot_cluster, auth_pinot, tmp_path_factory):
    """The URLs and credentials the cases use."""
    cert = self_signed_cert(tmp_path_factory.mktemp("tls"))
    tls_server, tls_url = serve(_Forward, target=pinot_cluster.controller_url, tls_cert=cert)
    html_server, html_url = serve(_Html502)
    users = auth_pinot.state["users"]
    yield {
        "pinot": pinot_cluster.controller_url, "auth": auth_pinot.controller_url, "down": "http://127.0.0.1:%d" % closed_port(),
        "html": html_url, "tls": tls_url, "ca_path": cert[0], "admin_password": users["admin"],
    }
    tls_server.shutdown()
    html_server.shutdown()


def module_args(pinot):
    """Valid arguments of every module against `pinot` (the connection cases change only the connection)."""
    server0 = pinot.server_instance_id(0)
    return {
        "pinot_instance": {"instance": server0, "state": "enabled"},
        "pinot_instance_info": {},
        "pinot_instance_tags": {"instance": server0, "tags": ["DefaultTenant_OFFLINE"], "mode": "add"},
        "pinot_periodic_task": {"name": "SegmentStatusChecker"},
        "pinot_periodic_task_info": {},
        "pinot_segment_assignment_info": {},
        "pinot_table_rebalance": {"table": [harness.OFFLINE_TABLE]},
        "pinot_table_rebalance_info": {"table": [harness.OFFLINE_TABLE]},
        "pinot_decommission_plan_info": {"instances": [server0]},
    }


MODULES = [
    "pinot_decommission_plan_info", "pinot_instance", "pinot_instance_info", "pinot_instance_tags", "pinot_periodic_task",
    "pinot_periodic_task_info", "pinot_segment_assignment_info", "pinot_table_rebalance", "pinot_table_rebalance_info"]

# (case id, module, arguments, where it points, words the message must hold). Arguments may name
# "{server0}"; "where" is a key of `endpoints` (the controller URL), and "tls_ca" adds ca_path.
INPUT_CASES = [
    ("unknown-instance-state", "pinot_instance", {"instance": NO_SUCH_SERVER, "state": "disabled"}, "pinot",
     [NO_SUCH_SERVER, "not found"]),
    ("unknown-instance-tags", "pinot_instance_tags", {"instance": NO_SUCH_SERVER, "tags": ["x"]}, "pinot",
     [NO_SUCH_SERVER, "not found"]),
    ("unknown-table-rebalance", "pinot_table_rebalance", {"table": ["nosuch"]}, "pinot", ["nosuch", "not found"]),
    ("unknown-table-rebalance-info", "pinot_table_rebalance_info", {"table": ["nosuch"]}, "pinot", ["nosuch", "not found"]),
    ("unknown-table-assignment", "pinot_segment_assignment_info", {"table": "nosuch"}, "pinot", ["nosuch", "not found"]),
    ("unknown-task", "pinot_periodic_task", {"name": "NoSuchTask"}, "pinot", ["nosuchtask"]),
    ("unknown-task-table", "pinot_periodic_task", {"name": "SegmentStatusChecker", "table": "nosuch"}, "pinot",
     ["nosuch", "not found"]),
    ("tags-not-a-list", "pinot_instance_tags", {"instance": "{server0}", "tags": {"tag": "x"}}, "pinot", ["tags", "list"]),
    ("tag-with-comma", "pinot_instance_tags", {"instance": "{server0}", "tags": ["a,b"]}, "pinot",
     ["'a,b'", "commas", "nothing was changed"]),
    ("tag-empty-string", "pinot_instance_tags", {"instance": "{server0}", "tags": [""]}, "pinot",
     ["must not be empty", "nothing was changed"]),
    ("zero-timeout", "pinot_instance_info", {"timeout": 0}, "pinot", ["timeout", "more than 0"]),
    ("negative-timeout", "pinot_instance_info", {"timeout": -5}, "pinot", ["timeout", "more than 0"]),
    ("negative-retries", "pinot_instance_info", {"retries": -1}, "pinot", ["retries", "0 or more"]),
    ("timeout-not-a-number", "pinot_instance_info", {"timeout": "soon"}, "pinot", ["timeout", "float"]),
    ("rebalance-zero-wait-timeout", "pinot_table_rebalance", {"table": [harness.OFFLINE_TABLE], "wait_timeout": 0}, "pinot",
     ["wait_timeout"]),
    ("rebalance-negative-wait-timeout", "pinot_table_rebalance", {"table": [harness.OFFLINE_TABLE], "wait_timeout": -1},
     "pinot", ["wait_timeout"]),
    ("rebalance-zero-poll-interval", "pinot_table_rebalance", {"table": [harness.OFFLINE_TABLE], "poll_interval": 0},
     "pinot", ["poll_interval"]),
    ("rebalance-zero-parallelism", "pinot_table_rebalance", {"table": [harness.OFFLINE_TABLE], "parallelism": 0}, "pinot",
     ["parallelism"]),
    ("rebalance-replicas-not-int", "pinot_table_rebalance", {"table": [harness.OFFLINE_TABLE], "min_available_replicas": "two"},
     "pinot", ["min_available_replicas", "int"]),
    ("instance-negative-wait-timeout", "pinot_instance", {"instance": NO_SUCH_SERVER, "state": "absent",
                                                          "wait_not_live": True, "wait_timeout": -1}, "pinot",
     ["wait_timeout"]),
    ("url-not-http", "pinot_instance_info", {"controller_url": "ftp://127.0.0.1:9000"}, None, ["ftp://", "http"]),
    ("url-not-a-url", "pinot_instance_info", {"controller_url": "pinot controller"}, None, ["pinot controller", "http"]),
    ("tls-untrusted", "pinot_instance_info", {}, "tls", ["tls", "certificate", "ca_path"]),
]
# Pinot 0.11 refuses missing or wrong credentials with 403 (the status of a missing permission too); Pinot 1.x with
# 401 (tests/harness/PINOT_VERSIONS.md). A case's words name AUTH_REFUSED; auth_words() gives the release's words.
AUTH_REFUSED = "<credentials refused>"


def auth_words(words, version):
    """`words` with AUTH_REFUSED replaced by what the message says for the release's refusal."""
    refused = (["403", "permission is denied", "check the credentials"] if version.startswith("0.")
               else ["401", "credentials were missing or refused", "check the credentials"])
    return [w for word in words for w in (refused if word == AUTH_REFUSED else [word])]


for _module in MODULES:
    INPUT_CASES += [
        ("controller-down-" + _module, _module, {}, "down", ["127.0.0.1", "check controller_url"]),
        ("html-proxy-" + _module, _module, {}, "html", ["html", "502", "proxy"]),
        ("no-credentials-" + _module, _module, {}, "auth", [AUTH_REFUSED]),
        ("wrong-password-" + _module, _module, {"username": "admin", "password": "wrong"}, "auth", [AUTH_REFUSED]),
    ]


# An unknown instance given to a read-only planner is not an error: it is reported as missing (already gone), which
# is what lets the role finish a run interrupted after the drop.
MISSING_CASES = [
    ("unknown-instance-plan", "pinot_decommission_plan_info", {"instances": [NO_SUCH_SERVER]}),
    ("unknown-instance-info", "pinot_instance_info", {"name": [NO_SUCH_SERVER]}),
]


def case_task(case_id, module, args, where, urls, pinot, auth_pinot):
    """One playbook task for a case: the module's valid arguments, overridden by the case's."""
    cluster = auth_pinot if where == "auth" else pinot
    task_args = dict(module_args(cluster)[module]) if where in ("down", "html", "auth", "tls") else {}
    task_args.update(RETRIES)
    if where:
        task_args["controller_url"] = urls[where]
    task_args.update(json.loads(json.dumps(args).replace("{server0}", pinot.server_instance_id(0))))
    return {"name": case_id, "pinotops.pinot." + module: task_args, "register": "case", "ignore_errors": True}


@pytest.fixture(scope="module")
def results(pinot_cluster, auth_pinot, endpoints, ansible, tmp_path_factory):
    """Run every case in one playbook; return ({case id: result}, snapshots before and after)."""
    work = tmp_path_factory.mktemp("bad-input")
    out = work / "results.json"
    tasks = [{"name": "Start the result file", "ansible.builtin.copy": {"dest": str(out), "content": "{}"}}]
    for case_id, module, args, where, _words in INPUT_CASES:
        tasks.append(case_task(case_id, module, args, where, endpoints, pinot_cluster, auth_pinot))
        tasks.append({"name": "Record " + case_id, "ansible.builtin.copy": {
            "dest": str(out), "content": "{{ lookup('file', '%s') | from_json | combine({'%s': case}) | to_json }}" % (out, case_id)}})
    tls = {"controller_url": endpoints["tls"], "ca_path": endpoints["ca_path"]}
    extra = [("tls-with-ca-path", "pinot_instance_info", tls, {}),
             # the same with the CA bundle variables requests reads from the environment emptied
             ("tls-with-ca-path-no-ca-bundle-env", "pinot_instance_info", tls, {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""})]
    extra += [(case_id, module, dict(args, controller_url=pinot_cluster.controller_url), {}) for case_id, module, args in MISSING_CASES]
    for case_id, module, args, environment in extra:
        tasks.append({"name": case_id, "pinotops.pinot." + module: args, "environment": environment, "register": "case",
                      "ignore_errors": True})
        tasks.append({"name": "Record " + case_id, "ansible.builtin.copy": {
            "dest": str(out), "content": "{{ lookup('file', '%s') | from_json | combine({'%s': case}) | to_json }}" % (out, case_id)}})
    playbook = work / "bad_input.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    admin = {"Authorization": harness.basic_token("admin", endpoints["admin_password"])}
    before = cluster_snapshot(pinot_cluster), cluster_snapshot(auth_pinot, admin)
    rc, output, _recap = ansible.playbook(str(playbook), {})
    after = cluster_snapshot(pinot_cluster), cluster_snapshot(auth_pinot, admin)
    put_tags_back(pinot_cluster, before[0])
    put_tags_back(auth_pinot, before[1], admin)
    assert rc == 0, output[-6000:]  # every failure was a case's and ignored
    return json.loads(out.read_text()), before, after


@pytest.mark.parametrize("case_id,words", [(case[0], case[4]) for case in INPUT_CASES], ids=[case[0] for case in INPUT_CASES])
def test_bad_input_fails_clearly(results, auth_pinot, case_id, words):
    result = results[0][case_id]
    assert result.get("failed") is True, result
    assert result.get("changed") is not True, result
    msg = result["msg"].lower()
    missing = [word for word in auth_words(words, auth_pinot.state["version"]) if word.lower() not in msg]
    assert not missing, "message lacks %s: %s" % (missing, result["msg"])


def test_bad_input_changed_nothing(results):
    _results, before, after = results
    assert changes(before[0], after[0]) == []
    assert changes(before[1], after[1]) == []


@pytest.mark.parametrize("case_id", [case[0] for case in MISSING_CASES])
def test_unknown_instance_is_reported_missing(results, case_id):
    result = results[0][case_id]
    assert not result.get("failed"), result
    assert result["missing"] == [NO_SUCH_SERVER] and result["instances"] == []


@pytest.mark.parametrize("case_id", ["tls-with-ca-path", "tls-with-ca-path-no-ca-bundle-env"])
def test_ca_path_trusts_the_self_signed_controller(results, pinot_cluster, case_id):
    result = results[0][case_id]
    assert not result.get("failed"), result
    names = set(instance["name"] for instance in result["instances"])
    assert pinot_cluster.server_instance_id(0) in names


ROLE = "pinotops.pinot.server_decommission"


def role_playbook(tmp_path, variables):
    playbook = tmp_path / "role.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False,
                                     "roles": [{"role": ROLE, "vars": variables}]}]))
    return str(playbook)


# (case id, role variables over the defaults below, where it points, words the output must hold)
ROLE_CASES = [
    ("replicas-not-a-number", {"server_decommission_replicas": "three"}, "pinot", ["server_decommission_replicas", "int"]),
    ("replicas-zero", {"server_decommission_replicas": 0}, "pinot", ["server_decommission_replicas=0", "between 1"]),
    ("replicas-not-lower", {"server_decommission_replicas": 9}, "pinot", ["server_decommission_replicas=9", "between 1"]),
    ("statefulset-missing", {"server_decommission_statefulset": "nosuch"}, "pinot", ["nosuch not found"]),
    ("instances-not-a-list", {"server_decommission_instances": {"a": 1}}, "pinot", ["server_decommission_instances", "list"]),
    ("rebalance-timeout-negative", {"server_decommission_rebalance_timeout": -1}, "pinot",
     ["server_decommission_rebalance_timeout"]),
    ("controller-down", {}, "down", ["127.0.0.1", "check controller_url"]),
    ("controller-html", {}, "html", ["html", "proxy"]),
    ("wrong-password", {"server_decommission_controller_username": "admin",
                        "server_decommission_controller_password": "wrong"}, "auth", [AUTH_REFUSED]),
    ("no-credentials", {}, "auth", [AUTH_REFUSED]),
]


@pytest.mark.parametrize("variables,where,words", [case[1:] for case in ROLE_CASES], ids=[case[0] for case in ROLE_CASES])
def test_role_bad_input_fails_clearly(pinot_cluster, k8s_cluster, auth_pinot, endpoints, ansible, tmp_path,
                                      variables, where, words):
    role_vars = {"server_decommission_controller_url": endpoints[where], "server_decommission_kubeconfig": str(k8s_cluster.sa_kubeconfig),
                 "server_decommission_replicas": 2}
    if where == "auth":  # the small auth cluster is not on Kubernetes: name the server, skip the scale
        role_vars.update(server_decommission_instances=[auth_pinot.server_instance_id(1)], server_decommission_scale=False)
    role_vars.update(variables)
    admin = {"Authorization": harness.basic_token("admin", endpoints["admin_password"])}
    before = cluster_snapshot(pinot_cluster), cluster_snapshot(auth_pinot, admin), k8s_cluster.statefulset()["spec"]["replicas"]
    rc, output, recap = ansible.playbook(role_playbook(tmp_path, role_vars), {})
    after = cluster_snapshot(pinot_cluster), cluster_snapshot(auth_pinot, admin), k8s_cluster.statefulset()["spec"]["replicas"]
    put_tags_back(pinot_cluster, before[0])
    put_tags_back(auth_pinot, before[1], admin)
    assert rc != 0 and recap.get("failed") == 1, output[-4000:]
    missing = [word for word in auth_words(words, auth_pinot.state["version"]) if word.lower() not in output.lower()]
    assert not missing, "output lacks %s: %s" % (missing, output[-4000:])
    assert changes(before[0], after[0]) == [] and changes(before[1], after[1]) == [], output[-4000:]
    assert after[2] == before[2]
    assert recap.get("changed", 0) == 0, output[-4000:]
