"""The local Pinot harness gives the cluster the recipe describes (issue 10), on the release asked for (issue 15).

Runs on whatever cluster the fixture gives: $PINOTOPS_PINOT_VERSION (and $PINOTOPS_PINOT_SERVER_VERSION)
name the release, and the assertions that differ between releases derive from it.
"""

import json
import os
import re
import subprocess
import sys
import time
import zipfile

import pytest

import pinot_cluster as harness
from collection_import import module_utils

pinot_client = module_utils("client")

# feature probe -> first release that has the endpoint (plugins/module_utils/client.py says which endpoint)
FEATURES = {"drop_validation": "1.0.0", "tag_validation": "1.0.0", "rebalance_status": "1.0.0",
            "rebalance_cancel": "1.1.0", "live_instances": "1.2.0", "periodic_task_post": "1.4.0",
            "rebalance_force_commit": "1.4.0"}

POD_ID = re.compile(r"^Server_pinot-server-(\d+)\.pinot-server-headless\.[a-z0-9-]+\.svc\.cluster\.local_8098$")


def wait_until(check, timeout, what, cluster):
    """Poll check() until it returns a truthy value; fail naming the cluster's logs."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, f"timed out after {timeout}s waiting for {what}; logs in {cluster.log_dir}"
        time.sleep(2)


def test_servers_live_with_pod_shaped_ids(pinot_cluster):
    ids = [pinot_cluster.server_instance_id(i) for i in range(pinot_cluster.num_servers)]
    assert len(ids) == 4
    assert [int(POD_ID.match(instance).group(1)) for instance in ids] == [0, 1, 2, 3]
    live = pinot_cluster.live_instances()
    assert set(ids) <= set(live)
    for index, instance in enumerate(ids):
        config = pinot_cluster.controller("GET", f"/instances/{instance}").json()
        # the id says 8098 like a pod, the registered port is the real free-picked one
        assert config["hostName"] == "127.0.0.1"
        assert config["port"] == str(pinot_cluster.state["ports"][f"server-{index}"]["netty"])


def test_realtime_partitions_spread_with_two_replicas(pinot_cluster):
    def segments_by_partition():
        view = pinot_cluster.external_view(harness.REALTIME_TABLE)["REALTIME"] or {}
        latest = {}
        completed = 0
        for segment, replicas in view.items():
            _table, partition, sequence, _time = segment.split("__")
            completed += all(state == "ONLINE" for state in replicas.values())
            key = int(partition)
            if key not in latest or int(sequence) > latest[key][0]:
                latest[key] = (int(sequence), replicas)
        return latest, completed

    def settled():
        latest, completed = segments_by_partition()
        # a segment just created shows one replica until the second server catches up: poll
        two_replicas = all(len(replicas) == 2 and set(replicas.values()) <= {"CONSUMING", "ONLINE"}
                           for _sequence, replicas in latest.values())
        return sorted(latest) == [0, 1, 2, 3, 4] and two_replicas and completed >= 3

    # several segments must complete while the generator runs
    wait_until(settled, 240, "3 completed realtime segments and 2 replicas of every partition's newest", pinot_cluster)
    by_server = pinot_cluster.partitions_by_server()
    print("servers -> partitions:", by_server)
    assert len(by_server) >= 2
    assert set(by_server) <= set(pinot_cluster.state["server_instance_ids"])
    assert sorted({p for parts in by_server.values() for p in parts}) == [0, 1, 2, 3, 4]


def test_realtime_rows_queryable_and_growing(pinot_cluster):
    first = pinot_cluster.count(harness.REALTIME_TABLE)
    assert first > 0
    wait_until(lambda: pinot_cluster.count(harness.REALTIME_TABLE) > first, 60, "more realtime rows", pinot_cluster)


def test_offline_table_queryable(pinot_cluster):
    assert pinot_cluster.count(harness.OFFLINE_TABLE) == harness.OFFLINE_SEGMENTS * harness.OFFLINE_ROWS_PER_SEGMENT
    view = pinot_cluster.external_view(harness.OFFLINE_TABLE)["OFFLINE"]
    assert len(view) == harness.OFFLINE_SEGMENTS
    assert all(sorted(replicas.values()) == ["ONLINE", "ONLINE"] for replicas in view.values()), view


def test_no_acknowledged_event_lost(pinot_cluster):
    pinot_cluster.stop_generator()
    try:
        produced = pinot_cluster.produced()
        assert produced > 0
        wait_until(lambda: pinot_cluster.count(harness.REALTIME_TABLE) == produced, 120,
                   f"count(*) == {produced} acknowledged events", pinot_cluster)
    finally:
        pinot_cluster.start_generator()


def test_server_stop_and_start_by_pid(pinot_cluster):
    index = pinot_cluster.num_servers - 1
    instance = pinot_cluster.server_instance_id(index)
    pid = pinot_cluster.state["pids"][f"server-{index}"]
    pinot_cluster.stop_server(index)
    assert not pinot_cluster.server_running(index)
    assert not harness.pid_is(pid, f"-Dpinotops.role=server-{index}")
    wait_until(lambda: instance not in pinot_cluster.live_instances(), 90, f"{instance} to leave", pinot_cluster)
    # a second process (like the Kubernetes node agent) brings it back through the state file
    code = (f"import sys; sys.path.insert(0, {str(harness.HARNESS_DIR)!r}); import pinot_cluster; "
            f"pinot_cluster.load({str(pinot_cluster.state_path)!r}).start_server({index})")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=240)
    pinot_cluster.reload()
    assert pinot_cluster.server_running(index)
    assert instance in pinot_cluster.live_instances()
    wait_until(lambda: pinot_cluster.count(harness.OFFLINE_TABLE) == 1000, 60, "offline rows after restart", pinot_cluster)


def test_down_stops_every_process_by_pid(tmp_path):
    """down() stops the recorded processes and strays carrying the work directory's tag."""
    workdir = tmp_path.resolve()
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    commands = {role: {"argv": sleeper + [f"-Dpinotops.run={workdir}", f"-Dpinotops.role={role}"], "cwd": str(workdir)}
                for role in ("zookeeper", "controller", "server-0")}
    state = {"commands": commands, "pids": {}, "server_instance_ids": ["x"]}
    (workdir / harness.STATE_NAME).write_text(json.dumps(state), encoding="utf-8")
    cluster = harness.load(workdir / harness.STATE_NAME)
    for role in commands:
        cluster.start_role(role)
    cluster.start_role("server-0")  # idempotent: still one process
    # a process recorded nowhere, as left by a crash between spawn and state write
    with subprocess.Popen(sleeper + [f"-Dpinotops.run={workdir}", "-Dpinotops.role=stray"]) as stray:
        time.sleep(0.5)
        assert len(harness.processes_tagged(workdir)) == 4
        cluster.down()
        assert harness.processes_tagged(workdir) == []
        assert stray.wait(10) is not None
    assert not any(cluster.running(role) for role in commands)


def test_release_is_the_one_asked(pinot_cluster):
    """The controller, the broker and the servers run the releases named by the environment (or the state)."""
    version = os.environ.get("PINOTOPS_PINOT_VERSION") or pinot_cluster.state["version"]
    server_version = os.environ.get("PINOTOPS_PINOT_SERVER_VERSION") or version
    assert pinot_cluster.state["version"] == version
    assert pinot_cluster.state.get("server_version", version) == server_version
    argv = {role: " ".join(spec["argv"]) for role, spec in pinot_cluster.state["commands"].items()}
    for role, wanted in (("controller", version), ("broker", version), ("server-0", server_version)):
        # pinot-spi comes from Maven for every release (the folder of jars only fills modules Maven lacks)
        assert f"/pinot-spi-{wanted}.jar" in argv[role], f"{role} does not run Pinot {wanted}"
    reported = pinot_cluster.controller("GET", "/version").json()
    print("GET /version:", reported)
    assert reported.get("pinot-controller", "").startswith(version), reported


def test_feature_probes_answer_as_the_release_does(pinot_cluster):
    """Every probe the modules use says what the controller's release has: on 1.5.1 every 1.x endpoint is
    present and the query-routing states (newer than 1.5.1) are absent; on 0.11.0 everything is absent."""
    version = harness.release(pinot_cluster.state["version"])
    users = pinot_cluster.state.get("users") or {}
    client = pinot_client.PinotClient(pinot_cluster.controller_url, username="admin" if users else None,
                                      password=users.get("admin"))
    # the write probes are read from the controller's API listing: it must be readable on every release
    assert client.api_listing(), "GET /swagger.json gave no API listing"
    seen = {name: getattr(client, f"has_{name}")() for name in FEATURES}
    assert seen == {name: version >= harness.release(first) for name, first in FEATURES.items()}
    assert client.has_query_routing_states() is False


MAVEN_FAILURE = (
    "[ERROR] Failed to execute goal on project pinot-1x-classpath: Could not resolve dependencies for project "
    "pinotops.harness:pinot-1x-classpath:pom:1: The following artifacts could not be resolved: "
    "org.apache.pinot:pinot-server:jar:1.5.1, org.apache.pinot:pinot-kafka-3.0:jar:1.5.1: Could not find artifact "
    "org.apache.pinot:pinot-server:jar:1.5.1 in central")


def test_maven_failure_names_the_unserved_modules():
    assert harness._unresolved_pinot_modules("[INFO] x\n" + MAVEN_FAILURE) == [  # pylint: disable=protected-access
        "pinot-kafka-3.0", "pinot-server"]


def test_folder_jar_found_by_the_class_only_its_module_has(tmp_path):
    with zipfile.ZipFile(tmp_path / "some-name.jar", "w") as jar:
        jar.writestr(harness.OPTIONAL_MODULES_1X["pinot-server"], b"")
    with pytest.raises(harness.ClusterError) as failure:
        harness._folder_jars("1.5.1", ["pinot-server", "pinot-kafka-3.0"], tmp_path)  # pylint: disable=protected-access
    message = str(failure.value)
    assert "org.apache.pinot:pinot-kafka-3.0:1.5.1" in message and "pinot-server:" not in message
    assert "--extra-jars" in message and harness.EXTRA_JARS_ENV in message
    assert harness._folder_jars("1.5.1", ["pinot-server"], tmp_path) == [  # pylint: disable=protected-access
        tmp_path / "some-name.jar"]


def test_missing_module_without_a_folder_fails_at_once(tmp_path, monkeypatch):
    """A cold resolve whose registry lacks a 1.x module and no folder provides it: a message, within Maven's time.

    Where the registry serves every module (the real Maven Central) the resolve succeeds and needs no folder.
    """
    monkeypatch.setenv("PINOTOPS_CACHE", str(tmp_path / "cache"))
    started = time.monotonic()
    try:
        classpath = harness.resolve_classpath("1.5.1", extra_jars=tmp_path / "empty")
    except harness.ClusterError as exc:
        message = str(exc)
        print(message)
        assert "the Maven registry does not serve" in message and "org.apache.pinot:pinot-server:1.5.1" in message
        assert "--extra-jars" in message and harness.EXTRA_JARS_ENV in message
        assert "Exception" not in message
    else:
        assert "/pinot-server-1.5.1.jar" in classpath
    assert time.monotonic() - started < 180
