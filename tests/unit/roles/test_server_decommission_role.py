# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The server_decommission role run by ansible-playbook against the fake controller and a stand-in kubernetes.core.

The stand-in kubernetes.core keeps a StatefulSet's replica count in a JSON file and records the calls; the fake
controller marks a server not live once the role has disabled it (as its pod going away would).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.pinotops.pinot.tests.unit.fake_controller import FakePinot, server_id
from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import RebalanceSim
from ansible_collections.pinotops.pinot.tests.unit.plugins.modules.test_pinot_periodic_task import add_periodic_tasks

COLLECTION = Path(__file__).resolve().parents[3]
# ansible-playbook of the ansible-core under test, also where no script sits beside the Python (ansible-test units)
PLAYBOOK = [sys.executable, "-m", "ansible.cli.playbook"]
S0, S1, S2, S3 = (server_id(i) for i in range(4))

K8S_RUNTIME = """---
requires_ansible: ">=2.16.0"
action_groups:
  k8s: [k8s_info, k8s, k8s_scale]
"""

K8S_MODULE = '''#!/usr/bin/python
# Stand-in for kubernetes.core.%(name)s in the role's unit tests: a StatefulSet in a JSON file.
from __future__ import absolute_import, division, print_function
__metaclass__ = type
import json
import os
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict((k, dict(type="raw")) for k in (
        "api_version", "kind", "name", "namespace", "replicas", "wait", "wait_timeout", "wait_sleep", "state",
        "definition", "kubeconfig", "context")), supports_check_mode=True)
    path = os.environ["FAKE_K8S_STATE"]
    with open(path) as handle:
        state = json.load(handle)
    args = dict((k, v) for k, v in module.params.items() if v is not None)
    state["calls"].append(["%(name)s", args, module.check_mode])
    result = {"changed": False}
    if "%(name)s" == "k8s_info":
        result["resources"] = [{"spec": {"replicas": state["replicas"]}}] if state["replicas"] is not None else []
    elif "%(name)s" == "k8s":
        result["result"] = {"status": {"allowed": state.get("allowed", True)}}
    else:
        result["changed"] = int(args["replicas"]) != state["replicas"]
        if not module.check_mode:
            state["replicas"] = int(args["replicas"])
    with open(path, "w") as handle:
        json.dump(state, handle)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''


def build_collections(root):
    """ansible_collections with a copy of this collection and the stand-in kubernetes.core under `root`."""
    ours = root / "ansible_collections" / "pinotops" / "pinot"
    for part in ("plugins", "roles", "playbooks", "meta"):
        shutil.copytree(COLLECTION / part, ours / part)
    shutil.copy(COLLECTION / "galaxy.yml", ours / "galaxy.yml")
    k8s = root / "ansible_collections" / "kubernetes" / "core"
    (k8s / "meta").mkdir(parents=True)
    (k8s / "meta" / "runtime.yml").write_text(K8S_RUNTIME)
    (k8s / "plugins" / "modules").mkdir(parents=True)
    (k8s / "galaxy.yml").write_text("namespace: kubernetes\nname: core\nversion: 9.9.9\n")
    for name in ("k8s_info", "k8s", "k8s_scale"):
        (k8s / "plugins" / "modules" / (name + ".py")).write_text(K8S_MODULE % {"name": name})


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    root = tmp_path_factory.mktemp("collections")
    build_collections(root)
    return root


def on(*servers):
    return dict((server, "ONLINE") for server in servers)


@pytest.fixture
def cluster(request):
    """4 live servers; pinot-server-3 holds segments of `stats` (replication 2) and `solo` (replication 1)."""
    fake = FakePinot().start()
    stuck = getattr(request, "param", ())
    fake.add_table("stats_OFFLINE", {"stats_0": on(S0, S3), "stats_1": on(S1, S3), "stats_2": on(S1, S2),
                                     "stats_3": on(S2, S0)})
    fake.add_table("solo_OFFLINE", {"solo_0": on(S3), "solo_1": on(S1)}, replication=1)
    RebalanceSim(fake, "1.4", stuck=stuck)
    stop = threading.Event()

    def pods_go_away():  # a disabled server's pod is removed (scale-down, or the user): it leaves the cluster
        while not stop.wait(0.05):
            for name, config in list(fake.instances.items()):
                if not config["enabled"]:
                    fake.live.discard(name)

    watcher = threading.Thread(target=pods_go_away, daemon=True)
    watcher.start()
    yield fake
    stop.set()
    fake.stop()


class Run:
    def __init__(self, rc, output, report, k8s):
        self.rc, self.output, self.report, self.k8s = rc, output, report, k8s


def play(collections, tmp_path, fake, env=None, replicas=4, check=False, **role_vars):
    """Run the role once; returns rc, output, the JSON report and the stand-in Kubernetes state."""
    state = tmp_path / "k8s.json"
    state.write_text(json.dumps({"replicas": replicas, "calls": []}))
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n"
                        "  roles: [pinotops.pinot.server_decommission]\n")
    variables = {"server_decommission_controller_url": fake.url, "server_decommission_report_path": str(tmp_path / "r.json"),
                 "server_decommission_progress_interval": 1, "server_decommission_verify_timeout": 0,
                 "server_decommission_not_live_timeout": 20, "ansible_python_interpreter": sys.executable}
    variables.update(role_vars)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), FAKE_K8S_STATE=str(state),
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_ASYNC_DIR=str(tmp_path / "async"), ANSIBLE_RETRY_FILES_ENABLED="false")
    for name in list(run_env):
        if name.startswith("PINOT_"):
            del run_env[name]
    run_env.update(env or {})
    started = time.monotonic()
    proc = subprocess.run(PLAYBOOK + [str(playbook), "-e", "@" + str(tmp_path / "vars.json")] + (["--check"] if check else []),
                          env=run_env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240,
                          check=False)
    assert time.monotonic() - started < 240
    print(proc.stdout)  # pytest shows it for a failed test
    report_path = tmp_path / "r.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Run(proc.returncode, proc.stdout, report, json.loads(state.read_text()))


def k8s_calls(run, name):
    return [call for call in run.k8s["calls"] if call[0] == name]


# ---- item 12: what is required is checked first --------------------------------------------------------------

def test_missing_replicas_is_said_before_kubernetes_is_asked(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster)
    assert run.rc != 0
    assert "server_decommission_replicas is required" in run.output
    assert run.k8s["calls"] == [] and cluster.writes() == []
    # item 19: the report is written for a failed run too, with what failed
    assert run.report["result"] == "failed"
    assert run.report["failure"]["task"] == "Refuse a run that does not say which servers to remove"
    assert "server_decommission_replicas is required" in run.report["failure"]["error"]
    assert [step["step"] for step in run.report["timeline"]] == ["failed"]


def test_a_target_equal_to_the_replica_count_is_a_run_that_changes_nothing(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, replicas=4, server_decommission_replicas=4)
    assert run.rc == 0, run.output
    assert re.search(r"localhost +: ok=\d+ +changed=0 ", run.output)
    assert run.report["result"] == "done" and run.report["removed"] == [] and cluster.writes() == []


# ---- item 9: explicit servers are scaled away, or refused, or left to the user ---------------------------------

def test_explicit_servers_that_are_not_the_highest_ordinals_are_refused(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, server_decommission_instances=[S1])
    assert run.rc != 0
    assert "removing ordinal 1 means removing ordinals 2, 3 too" in run.output
    assert "(ordinal 1)" in run.output
    assert cluster.writes() == [] and k8s_calls(run, "k8s_scale") == []
    assert run.report["failure"]["task"] == "Refuse explicit servers that a scale-down would not remove"


def test_explicit_highest_ordinal_is_scaled_away_and_dropped(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, server_decommission_instances=[S3],
               server_decommission_downtime_tables=["solo"])
    assert run.rc == 0, run.output
    (scale,) = k8s_calls(run, "k8s_scale")
    assert scale[1]["replicas"] in (3, "3") and run.k8s["replicas"] == 3
    assert [step["step"] for step in run.report["timeline"]] == ["preflight", "drained and verified", "scaled", "dropped", "done"]
    assert run.report["timeline"][2]["replicas"] == 3
    assert run.report["dropped"] == [S3] and S3 not in cluster.instances
    # item 1: the named table that needs it moves with downtime, the other without
    started = [(c[1], c[2].get("downtime")) for c in cluster.calls("POST", "/tables/") if c[2].get("dryRun") == ["false"]]
    assert sorted((path.split("/")[2], downtime) for path, downtime in started) == [
        ("solo_OFFLINE", ["true"]), ("stats_OFFLINE", ["false"])]
    assert run.report["moved_with_downtime"] == ["solo_OFFLINE"]
    # the controller's listing names forceCommit (Pinot 1.4+): consuming segments are committed before they move
    assert all(c[2].get("forceCommit") == ["true"] for c in cluster.calls("POST", "/tables/") if "/rebalance" in c[1])
    # item 18: a progress line per round at default verbosity
    assert "tables done" in run.output and "segments converged" in run.output and "elapsed" in run.output
    # item 20: the view before and after as aligned rows with short names
    assert "  before:" in run.output and "  after:" in run.output
    assert '"    pinot-server-3         2",' in run.output
    assert run.report["segments_per_server_before"]["stats_OFFLINE"][S3] == 2
    assert S3 not in run.report["segments_per_server_after"]["stats_OFFLINE"]


def test_without_scaling_the_role_says_the_servers_are_the_users_and_records_no_scale(collections, tmp_path, cluster):
    # item 13 too: the controller comes from PINOT_CONTROLLER_URL when the variable is empty
    RebalanceSim(cluster, "1.1")  # and a controller whose rebalance has no forceCommit: the role does not send it
    run = play(collections, tmp_path, cluster, env={"PINOT_CONTROLLER_URL": cluster.url},
               server_decommission_controller_url="", server_decommission_instances=[S3],
               server_decommission_scale=False, server_decommission_downtime_tables=["solo_OFFLINE"])
    assert run.rc == 0, run.output
    assert "server_decommission_scale=false: the role does not stop servers. Stop " + S3 in run.output
    assert run.k8s["calls"] == []
    assert [step["step"] for step in run.report["timeline"]] == ["preflight", "drained and verified", "dropped", "done"]
    assert run.report["dropped"] == [S3]
    rebalances = [c for c in cluster.calls("POST", "/tables/") if "/rebalance" in c[1]]
    assert rebalances and not any("forceCommit" in c[2] for c in rebalances)


# ---- item 1: tables that cannot move without downtime ----------------------------------------------------------

def test_a_table_that_cannot_move_without_downtime_is_refused_by_name(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, replicas=4, server_decommission_replicas=3)
    assert run.rc != 0
    assert "These tables cannot move off %s without downtime with min_available_replicas=1: solo_OFFLINE (" % S3 in run.output
    assert "stats_OFFLINE" not in run.report["failure"]["error"]
    assert cluster.writes() == [] and k8s_calls(run, "k8s_scale") == []


# ---- check mode: the plan, the dry runs (in the foreground), nothing else --------------------------------------

def test_check_mode_changes_nothing(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, check=True, server_decommission_replicas=3,
               server_decommission_downtime_tables=["solo"])
    assert run.rc == 0, run.output
    assert [c for c in cluster.writes() if c[2].get("dryRun") != ["true"]] == []
    assert [call[2] for call in k8s_calls(run, "k8s_scale")] == [True] and run.k8s["replicas"] == 4
    assert run.report["check_mode"] is True and [s["step"] for s in run.report["timeline"]] == ["preflight", "done"]
    assert {t["table"] for t in run.report["rebalance"]} == {"solo_OFFLINE", "stats_OFFLINE"}


# ---- items 18 and 19: progress while the rebalance runs, and the report of a run that failed there ----------------

@pytest.mark.parametrize("cluster", [("stats_OFFLINE",)], indirect=True)
def test_a_stuck_rebalance_prints_progress_then_fails_with_the_report_written(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, server_decommission_replicas=3, server_decommission_downtime_tables=["solo"],
               server_decommission_rebalance_stall_timeout=12)
    assert run.rc != 0
    lines = [line for line in run.output.splitlines() if line.startswith("ok: [localhost] => (item=") and "tables done" in line]
    assert len(lines) >= 2, run.output  # one per round; the stall takes 12 s, a round 1 s plus a module run
    assert "segments converged" in lines[0] and "replicas left on the servers" in lines[0] and "elapsed" in lines[0]
    assert run.report["result"] == "failed" and run.report["failure"]["task"] == "Wait for the rebalance results"
    assert "stats_OFFLINE" in run.report["failure"]["error"]
    assert "Wait for the rebalance results failed (nothing after it ran)" in run.output
    assert k8s_calls(run, "k8s_scale") == [] and S3 in cluster.instances
    assert [step["step"] for step in run.report["timeline"]] == ["preflight", "failed"]


# ---- item 13 and 20 for the playbooks: PINOT_CONTROLLER_URL, and the aligned view --------------------------------

def test_playbooks_take_the_controller_from_pinot_controller_url(collections, tmp_path, cluster):
    add_periodic_tasks(cluster)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), PINOT_CONTROLLER_URL=cluster.url,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
    outputs = {}
    for name, extra in (("segment_report", []), ("run_periodic_task", ["-e", "pinot_task=RetentionManager"])):
        proc = subprocess.run(PLAYBOOK + ["pinotops.pinot." + name, "-e", "ansible_python_interpreter=" + sys.executable]
                              + extra, env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout
        outputs[name] = proc.stdout
    assert '"solo_OFFLINE",' in outputs["segment_report"]
    assert '"  server          segments",' in outputs["segment_report"]
    assert '"  pinot-server-3         1",' in outputs["segment_report"]
    assert cluster.runs == [{"task": "RetentionManager", "table": None, "properties": None}]


# ---- issue 17: a reviewed plan, and an apply that refuses drift ----------------------------------------------------

def make_plan(collections, tmp_path, fake):
    run = play(collections, tmp_path, fake, check=True, server_decommission_replicas=3,
               server_decommission_downtime_tables=["solo"], server_decommission_plan_path=str(tmp_path / "plan.json"))
    assert run.rc == 0, run.output
    return json.loads((tmp_path / "plan.json").read_text()), run


def test_the_plan_is_written_in_check_mode_and_applied_by_its_hash(collections, tmp_path, cluster):
    plan, run = make_plan(collections, tmp_path, cluster)
    assert [c for c in cluster.writes() if c[2].get("dryRun") != ["true"]] == []
    (server,) = plan["servers"]
    assert server["name"] == S3
    assert [(t["table"], t["segments"], t["replication"], t["replication_after"]) for t in server["tables"]] == [
        ("solo_OFFLINE", 1, 1, 1), ("stats_OFFLINE", 2, 2, 2)]
    assert plan["fingerprint"]["statefulset"] == {"name": "pinot-server", "namespace": "pinot-quickstart", "replicas": 4}
    summary = (tmp_path / "plan.md").read_text()
    assert plan["hash"] in summary and "| `%s` | stats_OFFLINE | 2 |" % S3 in summary
    assert plan["hash"] in run.output  # the summary is shown, and published with set_stats

    run = play(collections, tmp_path, cluster, server_decommission_replicas=3, server_decommission_downtime_tables=["solo"],
               server_decommission_plan_hash=plan["hash"], server_decommission_plan_path=str(tmp_path / "plan.json"),
               server_decommission_plan_max_age=600)
    assert run.rc == 0, run.output
    assert run.report["plan_hash"] == plan["hash"] and run.report["plan_approved"] is True
    assert "plan matches the cluster (hash %s)" % plan["hash"] in run.report["checks_passed"]
    assert run.report["overrides"] == ["server_decommission_downtime_tables: solo_OFFLINE"]
    assert run.report["dropped"] == [S3]
    markdown = (tmp_path / "r.md").read_text()
    assert "Plan hash executed: `%s` (approved plan)" % plan["hash"] in markdown
    assert "| `%s` | stats_OFFLINE | 2 | 0 | n/a | 2 -> 2 | 2 -> 0 |" % S3 in markdown


def test_a_changed_tag_after_the_plan_is_refused_and_nothing_changes(collections, tmp_path, cluster):
    plan, _run = make_plan(collections, tmp_path, cluster)
    cluster.instances[S1]["tags"] = ["DefaultTenant_OFFLINE", "extra"]
    run = play(collections, tmp_path, cluster, server_decommission_replicas=3, server_decommission_downtime_tables=["solo"],
               server_decommission_plan_path=str(tmp_path / "plan.json"))
    assert run.rc != 0
    assert "Nothing was changed. The approved plan" in run.output
    assert "tags changed on %s: DefaultTenant_OFFLINE, DefaultTenant_REALTIME, now DefaultTenant_OFFLINE, extra" % S1 \
        in run.report["failure"]["error"]
    assert [c for c in cluster.writes() if c[2].get("dryRun") != ["true"]] == [] and k8s_calls(run, "k8s_scale") == []
    assert run.report["result"] == "failed" and run.report["plan_hash"] != plan["hash"]
    assert "Failed at `Refuse a plan the cluster no longer matches`" in (tmp_path / "r.md").read_text()


@pytest.mark.parametrize("bad, expected", [
    ({"server_decommission_plan_hash": "1234"}, "must be 64 lowercase hex characters (it has 4 characters)"),
    ({"server_decommission_plan_hash": "0" * 64}, "give the plan file (server_decommission_plan_path) to see what changed"),
    ({"plan_text": "{not json"}, "the plan file is not JSON"),
    ({"server_decommission_plan_path": "/nonexistent/plan.json"}, "The plan file /nonexistent/plan.json"),
])
def test_bad_plan_input_is_refused_and_nothing_changes(collections, tmp_path, cluster, bad, expected):
    bad = dict(bad)
    if "plan_text" in bad:
        (tmp_path / "bad.json").write_text(bad.pop("plan_text"))
        bad["server_decommission_plan_path"] = str(tmp_path / "bad.json")
    run = play(collections, tmp_path, cluster, server_decommission_replicas=3, server_decommission_downtime_tables=["solo"],
               **bad)
    assert run.rc != 0
    assert expected in " ".join(run.output.split()) and "Nothing was changed." in run.output
    assert cluster.writes() == [] and k8s_calls(run, "k8s_scale") == []
