"""pytest configuration for the system tests (real Pinot cluster, real Kubernetes API)."""

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

# The fixtures live beside the harnesses they drive.
from fixtures_pinot import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
from fixtures_k8s import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import


def _bootstrap():
    """VENV and COLLECTIONS from tests/tooling/bootstrap.sh (cached after the first call)."""
    out = subprocess.run([str(ROOT / "tests" / "tooling" / "bootstrap.sh"), "2.19"], check=True,
                         capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class Ansible:
    """Runs ansible-playbook against this checkout of the collection (plus kubernetes.core)."""

    def __init__(self, collections_root, venv):
        self.collections_root = collections_root
        self.venv = venv

    def env(self):
        env = dict(os.environ)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(self.collections_root), ANSIBLE_FORCE_COLOR="0",
                   ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                   PATH=str(self.venv / "bin") + os.pathsep + env.get("PATH", ""))
        return env

    def playbook(self, playbook, extra_vars, check=False, timeout=1800):
        """Run a playbook; return (returncode, output, recap {changed, failed, ...} of localhost)."""
        argv = [str(self.venv / "bin" / "ansible-playbook"), playbook, "-e", json.dumps(extra_vars)]
        if check:
            argv.append("--check")
        proc = subprocess.run(argv, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False)
        output = proc.stdout + proc.stderr
        recap = {}
        for line in output.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                recap = dict((k, int(v)) for k, v in (item.split("=") for item in line.split(":", 1)[1].split()))
        return proc.returncode, output, recap


@pytest.fixture(scope="session")
def ansible(tmp_path_factory):
    """An Ansible runner with pinotops.pinot (this checkout) and kubernetes.core installed side by side."""
    paths = _bootstrap()
    root = tmp_path_factory.mktemp("collections")
    subprocess.run([str(ROOT / "tests" / "tooling" / "collection_tree.sh"), str(root)], check=True, capture_output=True)
    shutil.copytree(pathlib.Path(paths["COLLECTIONS"]) / "ansible_collections" / "kubernetes",
                    root / "ansible_collections" / "kubernetes")
    return Ansible(root, pathlib.Path(paths["VENV"]))


def committed_segments_served(pinot):
    """Whether the external view serves every committed (ONLINE) replica the ideal states name."""
    for table in pinot.controller("GET", "/tables").json()["tables"]:
        ideal = pinot.controller("GET", "/tables/%s/idealstate" % table).json()
        external = pinot.controller("GET", "/tables/%s/externalview" % table).json()
        for table_type, segments in ideal.items():
            served = external.get(table_type) or {}
            for segment, replicas in (segments or {}).items():
                if any(state == "ONLINE" and (served.get(segment) or {}).get(server) != "ONLINE"
                       for server, state in replicas.items()):
                    return False
    return True


@pytest.fixture(scope="module")
def cluster(pinot_cluster, k8s_cluster):
    """Both harnesses, linked, with the generator running (the decommission and fault files).

    Starts once every committed segment is served: a server the previous file restarted may still be loading its
    segments, and a scenario started then would measure that, not the role.
    """
    k8s_cluster.link_pinot(pinot_cluster.state_path)
    if not pinot_cluster.running("generator"):
        pinot_cluster.start_generator()
    deadline = time.monotonic() + 300
    while not committed_segments_served(pinot_cluster):
        assert time.monotonic() < deadline, "committed segments still not served after 300 s; logs in %s" % (
            pinot_cluster.log_dir)
        time.sleep(3)
    return pinot_cluster, k8s_cluster
