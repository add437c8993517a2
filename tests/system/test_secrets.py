"""Secrets stay secret: modules and the role run with -vvv and ANSIBLE_DEBUG=1 with a password and a token, and
neither appears in the output or in any file the run wrote.

The controller is reached through a local HTTP front end that demands the credentials (basic auth with this test's
password, or this test's bearer token) and forwards to the shared cluster's controller, so a run that succeeds proves
the secret was really used.
"""

import base64
import http.server
import json
import os
import subprocess
import threading
import uuid

import pytest
import requests

USER = "pipeline"


class _Gate(http.server.BaseHTTPRequestHandler):
    """Answers 401 without the expected Authorization header; forwards the request otherwise."""

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if self.headers.get("Authorization") not in self.server.accepted:
            answer = (401, b'{"code":401,"error":"HTTP 401 Unauthorized"}', "application/json")
        else:
            self.server.authorized += 1
            headers = dict((k, v) for k, v in self.headers.items() if k.lower() == "content-type")
            response = requests.request(self.command, self.server.target + self.path, data=body, headers=headers, timeout=60)
            answer = (response.status_code, response.content, response.headers.get("Content-Type", "application/json"))
        self.send_response(answer[0])
        self.send_header("Content-Type", answer[2])
        self.send_header("Content-Length", str(len(answer[1])))
        self.end_headers()
        self.wfile.write(answer[1])

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args):  # pylint: disable=arguments-differ
        """Quiet."""


@pytest.fixture(scope="module")
def secrets():
    """A fresh password and token (random, so a match in the output can only come from this run)."""
    return {"password": "pw-" + uuid.uuid4().hex, "token": "tok-" + uuid.uuid4().hex}


@pytest.fixture(scope="module")
def gate(pinot_cluster, secrets):
    """The credential-checking front end; yields its URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gate)
    server.target = pinot_cluster.controller_url
    server.authorized = 0
    basic = base64.b64encode(("%s:%s" % (USER, secrets["password"])).encode()).decode()
    server.accepted = ("Basic " + basic, "Bearer " + secrets["token"])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def forms(secrets):
    """Every form a secret could leak in: as given, and the basic-auth header value built from the password."""
    basic = base64.b64encode(("%s:%s" % (USER, secrets["password"])).encode()).decode()
    return [secrets["password"], secrets["token"], basic]


def run_verbose(ansible, playbook, variables, work, check=False, debug=False, environment=None):
    """ansible-playbook -vvv (and ANSIBLE_DEBUG=1 with debug) with a log file and the local temp directory in work/run.

    Secrets come either in a variables file (how a pipeline passes vault or CI secrets: not on the command line) or
    in the environment (PINOT_PASSWORD, PINOT_TOKEN, which every module reads when the option is not set).
    """
    vars_file = work / "secret-vars.json"
    vars_file.write_text(json.dumps(variables))
    env = ansible.env()
    env.update(ANSIBLE_LOG_PATH=str(work / "run" / "ansible.log"), ANSIBLE_LOCAL_TEMP=str(work / "run" / "tmp"), **(environment or {}))
    if debug:
        env["ANSIBLE_DEBUG"] = "1"
    argv = [str(ansible.venv / "bin" / "ansible-playbook"), "-vvv", playbook, "-e", "@" + str(vars_file)]
    if check:
        argv.append("--check")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def files_with(directory, needles):
    """Files under directory that contain any of the needles."""
    found = []
    for root, _dirs, names in os.walk(directory):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                data = handle.read()
            found += ["%s holds %s" % (path, needle) for needle in needles if needle.encode() in data]
    return found


def around(text, needle):
    """The text around the first occurrence of needle, with the needle masked (the failure report is output too)."""
    at = text.index(needle)
    return (text[max(0, at - 300):at] + "<SECRET>" + text[at + len(needle):at + len(needle) + 100]).replace("\n", " | ")


def assert_no_secret(secrets, stdout, stderr, written):
    assert os.path.getsize(os.path.join(written, "ansible.log")) > 10000  # the log was written, verbosely
    assert len(stdout) + len(stderr) > 10000
    for needle in forms(secrets):
        for name, text in (("stdout", stdout), ("stderr", stderr)):
            leaked = needle in text  # not asserted directly: pytest would print the secret
            assert not leaked, "secret in %s: ...%s..." % (name, around(text, needle))
    assert files_with(written, forms(secrets)) == []


def module_playbook(tmp_path, url, credentials):
    """Two reads and a failing write, each with `credentials` (module options; empty: from the environment)."""
    tasks = [
        {"name": "Read instances", "pinotops.pinot.pinot_instance_info": dict(credentials, controller_url=url)},
        {"name": "Read the assignment", "pinotops.pinot.pinot_segment_assignment_info": dict(credentials, controller_url=url)},
        {"name": "A failing call", "pinotops.pinot.pinot_instance_tags": dict(
            credentials, controller_url=url, instance="Server_nosuch_8098", tags=["x"]), "ignore_errors": True},
    ]
    playbook = tmp_path / "modules.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return str(playbook)


def assert_modules_ran(rc, stdout, stderr, gate, authorized_before):
    assert rc == 0, (stdout + stderr)[-4000:]
    assert gate.authorized - authorized_before >= 3  # the secrets were really sent to the controller
    assert "failed=0" in stdout and "ignored=1" in stdout


@pytest.mark.parametrize("credential", ["password", "token"])
def test_module_options_stay_out_of_verbose_output(gate, secrets, ansible, tmp_path, credential):
    """-vvv with the secret as a module option (no_log hides it). Not with ANSIBLE_DEBUG=1: ansible-core's debug
    output prints every module's arguments, no_log ones included (see docs/reliability.md)."""
    options = ({"username": USER, "password": "{{ pinot_secret }}"} if credential == "password"
               else {"token": "{{ pinot_secret }}"})
    authorized_before = gate.authorized
    rc, stdout, stderr = run_verbose(ansible, module_playbook(tmp_path, "http://127.0.0.1:%d" % gate.server_address[1], options),
                                     {"pinot_secret": secrets[credential]}, tmp_path)
    assert_modules_ran(rc, stdout, stderr, gate, authorized_before)
    assert_no_secret(secrets, stdout, stderr, tmp_path / "run")


def environment_for(credential, secrets):
    if credential == "password":
        return {"PINOT_USERNAME": USER, "PINOT_PASSWORD": secrets["password"]}
    return {"PINOT_TOKEN": secrets["token"]}


@pytest.mark.parametrize("credential", ["password", "token"])
def test_secrets_from_the_environment_stay_out_of_debug_output(gate, secrets, ansible, tmp_path, credential):
    authorized_before = gate.authorized
    rc, stdout, stderr = run_verbose(ansible, module_playbook(tmp_path, "http://127.0.0.1:%d" % gate.server_address[1], {}),
                                     {}, tmp_path, debug=True, environment=environment_for(credential, secrets))
    assert_modules_ran(rc, stdout, stderr, gate, authorized_before)
    assert_no_secret(secrets, stdout, stderr, tmp_path / "run")


@pytest.mark.parametrize("credential", ["password", "token"])
def test_role_keeps_secrets(gate, secrets, pinot_cluster, k8s_cluster, ansible, tmp_path, credential):
    # check mode: the role reads everything and plans, and changes nothing; the credentials come from the environment
    variables = {
        "server_decommission_controller_url": "http://127.0.0.1:%d" % gate.server_address[1],
        "server_decommission_kubeconfig": str(k8s_cluster.sa_kubeconfig),
        "server_decommission_replicas": k8s_cluster.statefulset()["spec"]["replicas"] - 1,
        "server_decommission_report_path": str(tmp_path / "run" / "report.json"),
    }
    authorized_before = gate.authorized
    rc, stdout, stderr = run_verbose(ansible, "pinotops.pinot.decommission_server", variables, tmp_path, check=True, debug=True,
                                     environment=environment_for(credential, secrets))
    assert rc == 0, (stdout + stderr)[-4000:]
    assert gate.authorized - authorized_before > 5
    assert "Removing: " + pinot_cluster.server_instance_id(variables["server_decommission_replicas"]) in stdout
    assert_no_secret(secrets, stdout, stderr, tmp_path / "run")
