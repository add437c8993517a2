# -*- coding: utf-8 -*-
# Copyright (c) pinotops.pinot contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The server_scale_out role run by ansible-playbook against the fake controller and the stand-in kubernetes.core.

A pod the stand-in StatefulSet gains registers, like a Pinot server starting, as a live instance with the default
tenant's tags. The real scale-out (Pinot balancing segments onto the new server) is the system test's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import re
import subprocess
import sys
import threading

import pytest

from ansible_collections.pinotops.pinot.tests.unit.fake_controller import FakePinot, server_id
from ansible_collections.pinotops.pinot.tests.unit.fake_rebalance import RebalanceSim
# collections: the module fixture that builds the collection tree once (pytest finds it imported here)
from ansible_collections.pinotops.pinot.tests.unit.roles.test_server_decommission_role import (  # noqa: F401 pylint: disable=unused-import
    PLAYBOOK, Run, collections, on)

S0, S1, S2, S3, S4 = (server_id(i) for i in range(5))
TAGS = ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]


@pytest.fixture
def cluster():
    """4 live servers; `stats` has one segment short of a replica, which the fake's rebalance gives the least loaded."""
    fake = FakePinot().start()
    fake.add_table("stats_OFFLINE", {"stats_0": on(S0, S1), "stats_1": on(S2, S3), "stats_2": on(S0)})
    RebalanceSim(fake, "1.4")
    yield fake
    fake.stop()


def play(collections, tmp_path, fake, replicas=4, check=False, **role_vars):
    """Run the role once; a pod the StatefulSet gains joins the fake as a live server with the default tags."""
    state = tmp_path / "k8s.json"
    state.write_text(json.dumps({"replicas": replicas, "calls": []}))
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  connection: local\n  gather_facts: false\n"
                        "  roles: [pinotops.pinot.server_scale_out]\n")
    variables = {"server_scale_out_controller_url": fake.url, "server_scale_out_report_path": str(tmp_path / "r.json"),
                 "server_scale_out_verify_timeout": 0, "ansible_python_interpreter": sys.executable}
    variables.update(role_vars)
    (tmp_path / "vars.json").write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), FAKE_K8S_STATE=str(state),
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="false")
    for name in list(env):
        if name.startswith("PINOT_"):
            del env[name]
    stop = threading.Event()

    def pods_join():
        while not stop.wait(0.05):
            try:
                count = json.loads(state.read_text())["replicas"] or 0
            except ValueError:  # being written
                continue
            for i in range(count):
                if server_id(i) not in fake.instances:
                    fake.add_instance(server_id(i), tags=TAGS, live=True)

    watcher = threading.Thread(target=pods_join, daemon=True)
    watcher.start()
    try:
        proc = subprocess.run(PLAYBOOK + [str(playbook), "-e", "@" + str(tmp_path / "vars.json")] + (["--check"] if check else []),
                              env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=240, check=False)
    finally:
        stop.set()
        watcher.join(5)
    print(proc.stdout)  # pytest shows it for a failed test
    report_path = tmp_path / "r.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return Run(proc.returncode, proc.stdout, report, json.loads(state.read_text()))


def changed(run):
    return int(re.search(r"localhost +: ok=\d+ +changed=(\d+) ", run.output).group(1))


def scales(run):
    return [call for call in run.k8s["calls"] if call[0] == "k8s_scale"]


def test_scale_out_adds_the_server_and_rebalances_onto_it(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, server_scale_out_replicas=5)
    assert run.rc == 0, run.output
    assert run.k8s["replicas"] == 5 and len(scales(run)) == 1
    assert S4 in cluster.live and cluster.instances[S4]["tags"] == TAGS
    assert S4 in cluster.tables["stats_OFFLINE"]["idealstate"]["stats_2"]
    assert run.report["result"] == "done" and run.report["added"] == [S4] and run.report["tagged"] == []
    # ansible-core 2.18 templates the numbers of a nested set_fact dict to strings (the decommission report too)
    assert run.report["replicas_before"] in (4, "4") and run.report["replicas_after"] in (5, "5")
    assert [step["step"] for step in run.report["timeline"]] == ["preflight", "scaled", "live and tagged", "rebalanced",
                                                                 "verified", "done"]
    assert S4 not in run.report["segments_per_server_before"]["stats_OFFLINE"]
    assert run.report["segments_per_server_after"]["stats_OFFLINE"][S4] == 1
    # the controller's listing names forceCommit (Pinot 1.4+): consuming segments are committed before they move
    started = [c for c in cluster.calls("POST", "/tables/") if c[2].get("dryRun") == ["false"]]
    assert started and all(c[2].get("forceCommit") == ["true"] for c in started)


def test_a_second_run_changes_nothing(collections, tmp_path, cluster):
    cluster.add_instance(S4, tags=TAGS, live=True)
    cluster.tables["stats_OFFLINE"]["idealstate"]["stats_2"] = on(S0, S4)
    cluster.tables["stats_OFFLINE"]["externalview"]["stats_2"] = on(S0, S4)
    run = play(collections, tmp_path, cluster, replicas=5, server_scale_out_replicas=5)
    assert run.rc == 0, run.output
    assert changed(run) == 0 and scales(run) == [] and run.report["added"] == []
    assert [c for c in cluster.writes() if c[2].get("dryRun") != ["true"]] == []


def test_a_rerun_after_the_scale_tags_the_new_server_and_finishes(collections, tmp_path, cluster):
    # interrupted after the scale, before the tags: pinot-server-4 carries another tenant's tag and holds nothing
    cluster.add_instance(S4, tags=["other_OFFLINE"], live=True)
    run = play(collections, tmp_path, cluster, replicas=5, server_scale_out_replicas=5)
    assert run.rc == 0, run.output
    assert scales(run) == [] and run.report["added"] == [S4] and run.report["tagged"] == [S4]
    assert sorted(cluster.instances[S4]["tags"]) == TAGS
    assert S4 in cluster.tables["stats_OFFLINE"]["idealstate"]["stats_2"]


def test_a_small_table_the_old_servers_hold_within_their_fair_share_stays(collections, tmp_path, cluster):
    # 4 segments x 2 replicas on 4 servers, 2 each: with pinot-server-4 the fair share is still ceil(8 / 5) = 2, so
    # Pinot keeps every replica where it is (live 1.5.1 answers NO_OP) and the role does not wait for it to spread.
    cluster.add_table("small_OFFLINE", {"small_0": on(S0, S1), "small_1": on(S2, S3), "small_2": on(S0, S2),
                                        "small_3": on(S1, S3)})
    run = play(collections, tmp_path, cluster, server_scale_out_replicas=5)
    assert run.rc == 0, run.output
    assert S4 not in run.report["segments_per_server_after"]["small_OFFLINE"]
    assert run.report["segments_per_server_after"]["stats_OFFLINE"][S4] == 1


def test_a_table_pinot_must_spread_onto_the_new_server_but_did_not_is_refused(collections, tmp_path, cluster):
    # 10 segments x 2 replicas on 2 of 4 servers: with pinot-server-4 the fair share is ceil(20 / 5) = 4, so the other
    # 4 servers cannot hold all 20 and it must receive some. The fake's rebalance keeps every replica where it is, as
    # Pinot would not (stats_OFFLINE, 6 replicas within a share of 2 each, is not required to spread).
    cluster.add_table("big_OFFLINE", dict(("big_%d" % i, on(S0, S1)) for i in range(10)))
    run = play(collections, tmp_path, cluster, server_scale_out_replicas=5)
    assert run.rc != 0
    text = " ".join(run.output.split())
    assert "new servers serve no segment of these tables: big_OFFLINE: " + S4 + " (" in text, run.output
    assert run.report["result"] == "failed"


def test_check_mode_shows_the_plan_and_changes_nothing(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, check=True, server_scale_out_replicas=5)
    assert run.rc == 0, run.output
    assert "Servers to add: " + S4 in run.output
    assert "Scaling pinot-quickstart/pinot-server from 4 to 5 replicas" in run.output
    assert [c for c in cluster.writes() if c[2].get("dryRun") != ["true"]] == []
    assert [call[2] for call in scales(run)] == [True] and run.k8s["replicas"] == 4
    assert run.report["check_mode"] is True and [s["step"] for s in run.report["timeline"]] == ["preflight", "done"]


@pytest.mark.parametrize("role_vars, words", [
    ({"server_scale_out_replicas": 3}, "Nothing was changed. server_scale_out_replicas=3 is below the 4 replicas"),
    ({}, "server_scale_out_replicas (the StatefulSet's replica count after the scale-out) is required"),
    ({"server_scale_out_replicas": 5, "server_scale_out_tenant": "Nope"},
     "Nothing was changed. Server tenant Nope is carried by no server"),
])
def test_bad_input_is_refused_and_changes_nothing(collections, tmp_path, cluster, role_vars, words):
    run = play(collections, tmp_path, cluster, **role_vars)
    assert run.rc != 0
    assert words in " ".join(run.output.split())
    assert cluster.writes() == [] and scales(run) == [] and run.k8s["replicas"] == 4
    assert run.report["result"] == "failed"


def test_a_missing_statefulset_is_refused(collections, tmp_path, cluster):
    run = play(collections, tmp_path, cluster, replicas=None, server_scale_out_replicas=5)
    assert run.rc != 0
    assert "Nothing was changed. StatefulSet pinot-quickstart/pinot-server not found." in " ".join(run.output.split())
    assert cluster.writes() == [] and scales(run) == []
