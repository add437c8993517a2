"""A real local Apache Pinot cluster (ZooKeeper, Kafka, controller, broker, N servers) from Maven Central jars.

Library and CLI for the system tests and the local demo; run with --help for the commands.
Every process runs on loopback with free-picked ports; the state (pids, ports, command lines)
is a JSON file in the work directory, so another process can load() it and stop/start servers.
"""

import argparse
import base64
import contextlib
import csv
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import time
import uuid
import zipfile
from pathlib import Path

import requests

from processes import LOOPBACK, cache_root, free_ports, pid_is, port_open, terminate, terminate_all

HARNESS_DIR = Path(__file__).resolve().parent
DATA_DIR = HARNESS_DIR / "pinot"
DEFAULT_VERSION = "1.5.1"
# Kafka broker, event generator and the OFFLINE segments come from this release's classpath whatever
# the cluster's version: they are the test's infrastructure, not Pinot under test (Pinot 1.x reads
# the segments 0.11's CreateSegment builds, and its Kafka 3.9 client talks to that Kafka 2.8 broker).
TOOLS_VERSION = "0.11.0"
REPO_ROOT = HARNESS_DIR.parents[1]
EXTRA_JARS_ENV = "PINOTOPS_PINOT_EXTRA_JARS"
MAVEN_PROGRESS_SECONDS = 30
# 1.x modules that pom-1.x.xml resolves in profiles of their own, because a registry may lack them
# (this project's CI registry does, for 1.5.1): each with a class only it has, to find it in a jar.
OPTIONAL_MODULES_1X = {
    "pinot-server": "org/apache/pinot/server/starter/helix/HelixServerStarter.class",
    "pinot-query-planner": "org/apache/pinot/query/QueryEnvironment.class",
    "pinot-query-runtime": "org/apache/pinot/query/runtime/QueryRunner.class",
    "pinot-timeseries-planner": "org/apache/pinot/tsdb/planner/TimeSeriesQueryEnvironment.class",
    "pinot-segment-uploader-default": "org/apache/pinot/plugin/segmentuploader/SegmentUploaderDefault.class",
    "pinot-avro-base": "org/apache/pinot/plugin/inputformat/avro/AvroRecordReader.class",
    "pinot-json": "org/apache/pinot/plugin/inputformat/json/JSONRecordReader.class",
    "pinot-kafka-3.0": "org/apache/pinot/plugin/stream/kafka30/KafkaConsumerFactory.class",
}
# starter classes of the 1.x roles (what pinot-tools' Start* commands instantiate)
STARTERS_1X = {
    "controller": "org.apache.pinot.controller.ControllerStarter",
    "broker": "org.apache.pinot.broker.broker.helix.HelixBrokerStarter",
    "server": "org.apache.pinot.server.starter.helix.HelixServerStarter",
}
DEFAULT_SERVERS = 4
DEFAULT_NAMESPACE = "pinot-quickstart"
CLUSTER_NAME = "PinotCluster"
REALTIME_TABLE = "events"
OFFLINE_TABLE = "eventsOffline"
TOPIC_PARTITIONS = 5
OFFLINE_SEGMENTS = 4
OFFLINE_ROWS_PER_SEGMENT = 250
STATE_NAME = "state.json"
STOP_DEADLINE = 60

# Heap caps (MiB): the whole cluster must stay well under 8 GiB resident.
HEAP_MB = {"zookeeper": 128, "kafka": 256, "controller": 512, "broker": 256, "server": 384, "generator": 64}

# What the pinot-admin script adds on Java > 11, plus settings that keep small JVMs lean on 2 cores.
JVM_FLAGS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:+ExitOnOutOfMemoryError", "-Xss512k",
]


def default_workdir():
    """Work directory every command uses unless told otherwise."""
    return Path(os.environ.get("PINOTOPS_RUN_DIR", cache_root() / "run" / "default"))


def log(msg):
    """Progress on stderr (stdout is kept for command results)."""
    print(f"[pinot-cluster {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class ClusterError(RuntimeError):
    """The cluster could not be started or does not answer as expected."""


def release(version):
    """'1.5.1' -> (1, 5, 1), for comparing releases."""
    return tuple(int(part) for part in version.split("."))


def is_1x(version):
    """Whether version is a Pinot 1.x (or later) release: started without pinot-tools."""
    return int(version.split(".")[0]) >= 1


def default_extra_jars(version):
    """Folder of jars for the 1.x modules the Maven registry lacks: $PINOTOPS_PINOT_EXTRA_JARS, else
    shared/pinot-<version>/jars beside the repository clone when it exists, else none."""
    if os.environ.get(EXTRA_JARS_ENV):
        return Path(os.environ[EXTRA_JARS_ENV])
    folder = REPO_ROOT.parent / "shared" / f"pinot-{version}" / "jars"
    return folder if folder.is_dir() else None


def _run_maven(argv, what, log_file):
    """Run mvn, its output into log_file, with a progress line every 30 s; return (exit code, output)."""
    log(f"resolving {what} with Maven (jars go to ~/.m2; log {log_file})")
    started = time.monotonic()
    with open(log_file, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(["mvn", "-B"] + argv, stdout=out, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        next_note = started + MAVEN_PROGRESS_SECONDS
        while proc.poll() is None:
            time.sleep(1)
            if time.monotonic() >= next_note:
                next_note += MAVEN_PROGRESS_SECONDS
                downloaded = log_file.read_text(encoding="utf-8", errors="replace").count("Downloaded from")
                log(f"still resolving {what}: {time.monotonic() - started:.0f}s, {downloaded} files downloaded")
    output = log_file.read_text(encoding="utf-8", errors="replace")
    log(f"Maven finished in {time.monotonic() - started:.0f}s")
    return proc.returncode, output


def _maven_classpath(pom, version, cp_file, defines=()):
    """Classpath of pom at version (mvn dependency:build-classpath); (None, output) when mvn failed."""
    partial = cp_file.with_suffix(".partial")
    code, output = _run_maven(
        ["-f", str(pom), f"-Dpinot.version={version}", *defines, "dependency:build-classpath",
         f"-Dmdep.outputFile={partial}"], f"Pinot {version}", cp_file.with_suffix(".mvn.log"))
    if code != 0:
        return None, output
    partial.replace(cp_file)
    return cp_file.read_text(encoding="utf-8").strip(), output


def _unresolved_pinot_modules(output):
    """Pinot artifacts Maven named as not resolvable (its 'Failed to execute goal' line)."""
    failed = [line for line in output.splitlines() if "Failed to execute goal" in line]
    return sorted(set(re.findall(r"org\.apache\.pinot:([A-Za-z0-9.\-]+):jar:", "\n".join(failed))))


def _jars_providing(modules, folder):
    """{module: jar in folder that holds the module's marker class} for the modules some jar provides."""
    found = {}
    for jar in sorted(Path(folder).glob("*.jar")) if folder and Path(folder).is_dir() else []:
        with zipfile.ZipFile(jar) as archive:
            names = set(archive.namelist())
        for module in modules:
            if OPTIONAL_MODULES_1X[module] in names:
                found.setdefault(module, jar)
    return found


def _folder_jars(version, modules, extra_jars):
    """Jars of extra_jars that provide modules; ClusterError naming what is missing and the option."""
    found = _jars_providing(modules, extra_jars)
    missing = [module for module in modules if module not in found]
    if missing:
        where = f"the folder {extra_jars} has no jar with them" if extra_jars else "no folder of jars was given"
        raise ClusterError(
            f"Pinot {version}: the Maven registry does not serve "
            f"{', '.join(f'org.apache.pinot:{m}:{version}' for m in missing)}, and {where}. "
            f"Give a folder of jars that provides them with --extra-jars DIR or {EXTRA_JARS_ENV}=DIR "
            f"(default: ../shared/pinot-{version}/jars beside the repository).")
    return sorted(set(found.values()))


def _resolve_1x(version, extra_jars):
    """Classpath of a 1.x release: what Maven serves (pom-1.x.xml), the rest from extra_jars.

    Which modules Maven lacked is cached with the classpath (keyed by version), so a warm start
    runs no Maven; the folder is looked up on every start (a fresh clone has it somewhere else).
    """
    cache = cache_root() / "pinot" / version
    cp_file, lacks_file = cache / "cp.txt", cache / "from-folder.json"
    if cp_file.exists() and lacks_file.exists():
        classpath = cp_file.read_text(encoding="utf-8").strip()
        lacking = json.loads(lacks_file.read_text(encoding="utf-8"))
        if all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            extra = _folder_jars(version, lacking, extra_jars) if lacking else []
            return os.pathsep.join([classpath] + [str(jar) for jar in extra])
    cache.mkdir(parents=True, exist_ok=True)
    pom = DATA_DIR / "pom-1.x.xml"
    classpath, output = _maven_classpath(pom, version, cp_file)
    lacking = []
    if classpath is None:
        lacking = _unresolved_pinot_modules(output)
        if not lacking or not set(lacking) <= set(OPTIONAL_MODULES_1X):
            raise ClusterError(f"mvn could not resolve Pinot {version}:\n{output[-4000:]}")
        _folder_jars(version, lacking, extra_jars)  # fail now, before a second Maven run
        log(f"the Maven registry lacks {', '.join(lacking)}; taking them from {extra_jars}")
        classpath, output = _maven_classpath(pom, version, cp_file, [f"-Dfolder.{m}" for m in lacking])
        if classpath is None:
            raise ClusterError(f"mvn could not resolve Pinot {version} without {', '.join(lacking)}:\n{output[-4000:]}")
    lacks_file.write_text(json.dumps(lacking), encoding="utf-8")
    extra = _folder_jars(version, lacking, extra_jars) if lacking else []
    return os.pathsep.join([classpath] + [str(jar) for jar in extra])


def resolve_classpath(version, extra_jars=None):
    """Return the runtime classpath of a Pinot release, resolving it with Maven once per version.

    0.x: pinot-tools and everything it brings (pom.xml). 1.x: see _resolve_1x; extra_jars defaults
    to default_extra_jars(version).
    """
    if is_1x(version):
        return _resolve_1x(version, extra_jars if extra_jars is not None else default_extra_jars(version))
    cp_file = cache_root() / "pinot" / version / "cp.txt"
    if cp_file.exists():
        classpath = cp_file.read_text(encoding="utf-8").strip()
        if all(Path(jar).exists() for jar in classpath.split(os.pathsep)):
            return classpath
    cp_file.parent.mkdir(parents=True, exist_ok=True)
    classpath, output = _maven_classpath(DATA_DIR / "pom.xml", version, cp_file)
    if classpath is None:
        raise ClusterError(f"mvn could not resolve Pinot {version}:\n{output[-4000:]}")
    return classpath


def launcher_dir(version, classpath):
    """Folder with PinotRole.class (our 1.x role launcher), compiled with javac once per version and source."""
    source = DATA_DIR / "PinotRole.java"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    target = cache_root() / "pinot" / version / f"launcher-{digest}"
    if (target / "PinotRole.class").exists():
        return target
    partial = target.with_suffix(".partial")
    subprocess.run(["rm", "-rf", str(partial)], check=True)
    partial.mkdir(parents=True)
    result = subprocess.run(["javac", "-nowarn", "-d", str(partial), "-cp", classpath, str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"javac could not compile {source} against Pinot {version}:\n{result.stdout[-4000:]}")
    subprocess.run(["rm", "-rf", str(target)], check=True)
    partial.rename(target)
    return target


def write_properties(path, props):
    """Write a Java properties file (values are plain: no escapes needed for ours)."""
    path.write_text("".join(f"{key}={value}\n" for key, value in props.items()), encoding="utf-8")


def basic_token(user, password):
    """Authorization header value for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def processes_tagged(workdir):
    """Pids of every process whose command line names this work directory's tag (left by a crash)."""
    tag = f"-Dpinotops.run={workdir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if tag in (entry / "cmdline").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


class PinotCluster:
    """Handle on a cluster described by a state file; safe to use from several processes."""

    def __init__(self, state_path):
        self.state_path = Path(state_path).resolve()
        self.workdir = self.state_path.parent
        self.state = json.loads(self.state_path.read_text(encoding="utf-8"))

    # --- state ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self):
        """Hold the state lock, with the state reloaded, and save it on exit."""
        with open(self.state_path.with_suffix(".lock"), "a", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
            yield self.state
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.state, indent=2), encoding="utf-8")
            tmp.replace(self.state_path)

    def reload(self):
        """Re-read the state file (another process may have started or stopped something)."""
        self.state = json.loads(self.state_path.read_text(encoding="utf-8"))

    @property
    def controller_url(self):
        """Base URL of the controller REST API."""
        return self.state["controller_url"]

    @property
    def broker_url(self):
        """Base URL of the broker's query endpoint."""
        return self.state["broker_url"]

    @property
    def num_servers(self):
        """Number of servers the cluster was started with."""
        return len(self.state["server_instance_ids"])

    @property
    def log_dir(self):
        """Folder with one log file per process."""
        return self.workdir / "logs"

    def server_instance_id(self, index):
        """Helix instance id of server index (pod-shaped)."""
        return self.state["server_instance_ids"][index]

    def auth_headers(self, user="admin"):
        """Authorization header for a configured user, or none when auth is off."""
        users = self.state.get("users")
        if not users:
            return {}
        return {"Authorization": basic_token(user, users[user])}

    # --- processes -----------------------------------------------------------------------------

    def _tag(self, role):
        return f"-Dpinotops.role={role}"

    def running(self, role):
        """Whether the process of role (e.g. 'server-2') is up."""
        pid = self.state["pids"].get(role)
        return bool(pid) and pid_is(pid, self._tag(role))

    def _spawn(self, role):
        """Start role's recorded command detached from us (it outlives the caller); return its pid."""
        spec = self.state["commands"][role]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{role}.log", "ab") as out:
            out.write(f"\n==== start {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            out.flush()
            proc = subprocess.Popen(  # pylint: disable=consider-using-with  # runs detached
                spec["argv"], cwd=spec["cwd"], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.state["pids"][role] = proc.pid
        # until exec the child still shows our command line: wait, so running() is true from now on
        for _attempt in range(100):
            if pid_is(proc.pid, self._tag(role)) or proc.poll() is not None:
                break
            time.sleep(0.05)
        return proc.pid

    def start_role(self, role):
        """Start role unless it already runs (idempotent, serialised by the state lock)."""
        with self.locked():
            if not self.running(role):
                self._spawn(role)

    def stop_role(self, role, graceful=True):
        """Stop role by its recorded pid (idempotent)."""
        with self.locked():
            pid = self.state["pids"].get(role)
            if pid:
                terminate(pid, self._tag(role), graceful)
            self.state["pids"][role] = None

    def start_server(self, index, wait=True, timeout=180):
        """Start server index; with wait, until it is live in Helix and its health check is OK."""
        self.start_role(f"server-{index}")
        if wait:
            self.wait_server(index, timeout)

    def add_server(self, index):
        """Give the cluster servers up to `index` (pods above the initial ones), each configured like server 0.

        Idempotent. A new server gets its own ports, config, data folder and the Helm-shaped id of its pod; it
        is not started (start_server does that). Server 0's command line and config are the template.
        """
        with self.locked() as state:
            for new in range(len(state["server_instance_ids"]), index + 1):
                role, conf_dir = f"server-{new}", self.workdir / "conf"
                ports = dict(zip(("netty", "admin", "grpc", "mse_server", "mse_runner"), free_ports(5)))
                base = self.workdir / role
                props = dict(line.split("=", 1) for line in
                             (conf_dir / "server-0.conf").read_text(encoding="utf-8").splitlines() if "=" in line)
                instance_id = state["server_instance_ids"][0].replace("pinot-server-0.", f"pinot-server-{new}.", 1)
                props.update({
                    "pinot.server.instance.id": instance_id, "pinot.server.netty.port": ports["netty"],
                    "pinot.server.adminapi.port": ports["admin"], "pinot.server.grpc.port": ports["grpc"],
                    "pinot.query.server.port": ports["mse_server"], "pinot.query.runner.port": ports["mse_runner"],
                    "pinot.server.instance.dataDir": base / "data", "pinot.server.instance.segmentTarDir": base / "segments"})
                write_properties(conf_dir / f"{role}.conf", props)
                swap = {str(conf_dir / "server-0.conf"): str(conf_dir / f"{role}.conf"),
                        self._tag("server-0"): self._tag(role)}
                cwd = self.workdir / "cwd" / role
                cwd.mkdir(parents=True, exist_ok=True)
                state["commands"][role] = {"argv": [swap.get(arg, arg) for arg in state["commands"]["server-0"]["argv"]],
                                           "cwd": str(cwd)}
                state["ports"][role] = ports
                state["server_instance_ids"].append(instance_id)
                log(f"added server {new} ({instance_id})")

    def stop_server(self, index, graceful=True):
        """Stop server index (SIGTERM and wait, or SIGKILL when not graceful)."""
        self.stop_role(f"server-{index}", graceful)

    def server_running(self, index):
        """Whether the process of server index is up."""
        self.reload()
        return self.running(f"server-{index}")

    def start_controller(self, wait=True, timeout=180):
        """Start the controller; with wait, until /health answers OK."""
        self.start_role("controller")
        if wait:
            self.wait_for(f"controller health ({self.controller_url}/health)", self.controller_healthy, timeout)

    def stop_controller(self, graceful=True):
        """Stop the controller."""
        self.stop_role("controller", graceful)

    def down(self):
        """Stop everything this cluster started, by pid; also strays left by a crash."""
        servers = [role for role in self.state["commands"] if role.startswith("server-")]
        # generator first (it writes its final count), then the Helix participants together
        stages = [["generator"], ["broker"] + servers, ["controller"], ["kafka"], ["zookeeper"]]
        with self.locked():
            for stage in stages:
                targets = [(self.state["pids"][role], self._tag(role)) for role in stage if self.state["pids"].get(role)]
                if targets:
                    log(f"stopping {', '.join(stage)}")
                    terminate_all(targets, graceful=True, deadline=30)
                for role in stage:
                    self.state["pids"][role] = None
            for pid in processes_tagged(self.workdir):
                log(f"stopping stray pid {pid}")
                terminate(pid, f"-Dpinotops.run={self.workdir}", graceful=False)

    def start_generator(self):
        """Start the Kafka event generator."""
        self.start_role("generator")

    def stop_generator(self):
        """Stop the generator; it flushes and writes its final acknowledged count first."""
        self.stop_role("generator")

    def produced(self):
        """Number of events Kafka acknowledged to the generator so far."""
        path = self.workdir / "generator" / "count.json"
        if not path.exists():
            return 0
        return json.loads(path.read_text(encoding="utf-8"))["acked"]

    # --- REST ----------------------------------------------------------------------------------

    def controller(self, method, path, **kwargs):
        """Call the controller as admin; return the response."""
        headers = {**self.auth_headers(), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", 30)
        return requests.request(method, self.controller_url + path, headers=headers, **kwargs)

    def controller_healthy(self):
        """Whether the controller answers /health with OK."""
        with contextlib.suppress(requests.RequestException):
            return requests.get(self.controller_url + "/health", timeout=5).text.strip() == "OK"
        return False

    def query(self, sql):
        """Run SQL through the broker; return the response JSON (raises on query exceptions)."""
        resp = requests.post(self.broker_url + "/query/sql", json={"sql": sql}, headers=self.auth_headers(), timeout=30)
        resp.raise_for_status()
        body = resp.json()
        if body.get("exceptions"):
            raise ClusterError(f"query {sql!r} failed: {body['exceptions']}")
        return body

    def count(self, table):
        """count(*) of table through the broker."""
        return self.query(f"SELECT COUNT(*) FROM {table}")["resultTable"]["rows"][0][0]

    def external_view(self, table):
        """External view of table: {"OFFLINE": {segment: {instance: state}}, "REALTIME": ...}."""
        resp = self.controller("GET", f"/tables/{table}/externalview")
        resp.raise_for_status()
        return resp.json()

    def partitions_by_server(self, table=REALTIME_TABLE):
        """Realtime partitions each server serves (ONLINE or CONSUMING), from the external view."""
        view = self.external_view(table).get("REALTIME") or {}
        result = {}
        for segment, replicas in view.items():
            # LLC segment names: <table>__<partition>__<sequence>__<time>
            partition = int(segment.split("__")[1])
            for instance, state in replicas.items():
                if state in ("ONLINE", "CONSUMING"):
                    result.setdefault(instance, set()).add(partition)
        return {instance: sorted(parts) for instance, parts in result.items()}

    def live_instances(self):
        """Ids of the Helix participants connected now (ZooKeeper LIVEINSTANCES)."""
        resp = self.controller("GET", "/zk/ls", params={"path": f"/{CLUSTER_NAME}/LIVEINSTANCES"})
        resp.raise_for_status()
        return sorted(resp.json())

    def server_healthy(self, index):
        """Whether server index's admin API reports healthy."""
        port = self.state["ports"][f"server-{index}"]["admin"]
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"http://{LOOPBACK}:{port}/health", timeout=5).status_code == 200
        return False

    def wait_server(self, index, timeout=180):
        """Wait until server index is live in Helix and healthy."""
        instance = self.server_instance_id(index)
        self.wait_for(f"server {instance}",
                      lambda: self.server_healthy(index) and instance in self.live_instances(), timeout, [f"server-{index}"])

    def wait_for(self, what, check, timeout, roles=()):
        """Poll check() until true; fail naming the logs, at once if one of roles has exited."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for role in roles:
                if not self.running(role):
                    raise ClusterError(f"{role} exited while waiting for {what}; see {self.log_dir / (role + '.log')}")
            with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                if check():
                    return
            time.sleep(1)
        raise ClusterError(f"timed out after {timeout}s waiting for {what}; logs in {self.log_dir}")

    def status(self):
        """Summary of processes, urls and instance ids."""
        self.reload()
        summary = {
            "workdir": str(self.workdir), "version": self.state["version"],
            "server_version": self.state.get("server_version", self.state["version"]),
            "controller_url": self.controller_url, "broker_url": self.broker_url,
            "processes": {role: {"pid": self.state["pids"].get(role), "running": self.running(role)}
                          for role in self.state["commands"]},
            "server_instance_ids": self.state["server_instance_ids"],
        }
        if self.running("controller"):
            with contextlib.suppress(requests.RequestException, ValueError):
                summary["live_instances"] = self.live_instances()
        return summary

    def integration_vars(self):
        """Variables for ansible-test integration targets."""
        variables = {
            "pinot_controller_url": self.controller_url, "pinot_broker_url": self.broker_url,
            "pinot_server_instances": self.state["server_instance_ids"],
            "pinot_realtime_table": REALTIME_TABLE, "pinot_offline_table": OFFLINE_TABLE,
            "pinot_version": self.state["version"], "pinot_auth_enabled": bool(self.state.get("users")),
            "pinot_state_file": str(self.state_path),
        }
        if self.state.get("users"):
            variables["pinot_admin_user"] = "admin"
            variables["pinot_admin_password"] = self.state["users"]["admin"]
            variables["pinot_readonly_user"] = "reader"
            variables["pinot_readonly_password"] = self.state["users"]["reader"]
        return variables

    def write_integration_config(self, path):
        """Write the integration variables as YAML (JSON is a subset of YAML)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.integration_vars(), indent=2) + "\n", encoding="utf-8")


def load(state_path=None):
    """Attach to the cluster whose state file is given (default: the default work directory's)."""
    return PinotCluster(state_path or default_workdir() / STATE_NAME)


# --- bring-up ----------------------------------------------------------------------------------


class _Plan:
    """Builds the configs and command lines of a new cluster in a work directory."""

    def __init__(self, workdir, version, servers, namespace, auth, flush_rows, rate,  # pylint: disable=too-many-arguments
                 server_version=None, extra_jars=None):
        self.workdir = workdir
        self.version = version
        self.server_version = server_version or version
        self.servers = servers
        self.namespace = namespace
        self.auth = auth
        self.flush_rows = flush_rows
        self.rate = rate
        # every classpath and the launcher before any process starts: a missing module fails here, at once
        self.classpaths = {v: resolve_classpath(v, extra_jars) for v in sorted({version, self.server_version, TOOLS_VERSION})}
        self.classpath = self.classpaths[version]
        self.launchers = {v: launcher_dir(v, cp) for v, cp in self.classpaths.items() if is_1x(v)}
        self.users = {"admin": uuid.uuid4().hex[:16], "reader": uuid.uuid4().hex[:16]} if auth else None
        names = ["zookeeper", "kafka", "controller", "broker"]
        numbers = iter(free_ports(len(names) + 5 * servers))
        self.ports = {name: next(numbers) for name in names}
        for i in range(servers):
            self.ports[f"server-{i}"] = {key: next(numbers) for key in ("netty", "admin", "grpc", "mse_server", "mse_runner")}

    def java(self, role, heap_role, main, args, version=None):
        """Command line of one JVM on version's classpath (default the cluster's), tagged so its pid can be recognised."""
        tmp = self.workdir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        heap = HEAP_MB[heap_role]
        flags = [f"-Xms{min(heap, 64)}m", f"-Xmx{heap}m", "-XX:MaxMetaspaceSize=192m", f"-XX:MaxDirectMemorySize={heap}m"]
        flags += JVM_FLAGS + [f"-Djava.io.tmpdir={tmp}", f"-Dlog4j2.configurationFile={DATA_DIR / 'log4j2.xml'}",
                              f"-Dpinotops.run={self.workdir}", f"-Dpinotops.role={role}"]
        return ["java"] + flags + ["-cp", self.classpaths[version or self.version], main] + args

    def admin(self, role, heap_role, args, version=None):
        """A PinotAdministrator command line (0.x)."""
        return self.java(role, heap_role, "org.apache.pinot.tools.admin.PinotAdministrator", args, version)

    def role(self, role, kind, conf_file, admin_args, version=None):
        """Command line of a controller, broker or server: 0.x through pinot-tools, 1.x by its starter class."""
        version = version or self.version
        if not is_1x(version):
            return self.admin(role, kind, admin_args, version)
        argv = self.java(role, kind, "PinotRole", [STARTERS_1X[kind], str(conf_file)], version)
        at = argv.index("-cp") + 1
        argv[at] = os.pathsep.join([str(self.launchers[version]), argv[at]])
        return argv

    def server_id(self, index):
        """Helm-chart-shaped id of server index."""
        return f"Server_pinot-server-{index}.pinot-server-headless.{self.namespace}.svc.cluster.local_8098"

    def commands(self):
        """Write config files; return {role: {"argv", "cwd"}}."""
        zk = f"{LOOPBACK}:{self.ports['zookeeper']}"
        conf = self.workdir / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        cmds = {}

        if is_1x(self.version):
            # ZooKeeper 3.9 from the 1.x classpath (no pinot-tools StartZookeeper there)
            (self.workdir / "zookeeper").mkdir(parents=True, exist_ok=True)
            write_properties(conf / "zoo.cfg", {
                "tickTime": 2000, "dataDir": self.workdir / "zookeeper", "clientPort": self.ports["zookeeper"],
                "clientPortAddress": LOOPBACK, "maxClientCnxns": 0, "admin.enableServer": "false",
            })
            cmds["zookeeper"] = self.java("zookeeper", "zookeeper", "org.apache.zookeeper.server.ZooKeeperServerMain",
                                          [str(conf / "zoo.cfg")])
        else:
            cmds["zookeeper"] = self.admin("zookeeper", "zookeeper", [
                "StartZookeeper", "-zkPort", str(self.ports["zookeeper"]), "-dataDir", str(self.workdir / "zookeeper")])

        # Kafka 2.8 from Pinot 0.11's classpath, started by our own launcher (see KafkaBroker.java).
        write_properties(conf / "kafka.properties", {
            "broker.id": 0, "listeners": f"PLAINTEXT://{LOOPBACK}:{self.ports['kafka']}",
            "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{self.ports['kafka']}",
            "zookeeper.connect": f"{zk}/kafka", "log.dirs": self.workdir / "kafka",
            "num.partitions": TOPIC_PARTITIONS, "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1, "transaction.state.log.min.isr": 1,
            "group.initial.rebalance.delay.ms": 0, "log.flush.interval.messages": 10000,
        })
        cmds["kafka"] = self.java("kafka", "kafka", str(DATA_DIR / "KafkaBroker.java"), [str(conf / "kafka.properties")],
                                  TOOLS_VERSION)

        controller = {
            "controller.host": LOOPBACK, "controller.port": self.ports["controller"],
            "controller.vip.host": LOOPBACK, "controller.vip.port": self.ports["controller"],
            "controller.zk.str": zk, "controller.helix.cluster.name": CLUSTER_NAME,
            "controller.data.dir": self.workdir / "controller" / "data",
            "controller.local.temp.dir": self.workdir / "controller" / "tmp",
        }
        server_auth = {}
        broker_auth = {}
        if self.auth:
            admin_token = basic_token("admin", self.users["admin"])
            controller.update({
                "controller.admin.access.control.factory.class":
                    "org.apache.pinot.controller.api.access.BasicAuthAccessControlFactory",
                "controller.admin.access.control.principals": "admin,reader",
                "controller.admin.access.control.principals.admin.password": self.users["admin"],
                "controller.admin.access.control.principals.reader.password": self.users["reader"],
                "controller.admin.access.control.principals.reader.permissions": "READ",
                "controller.segment.fetcher.auth.token": admin_token,
            })
            broker_auth = {
                "pinot.broker.access.control.class": "org.apache.pinot.broker.broker.BasicAuthAccessControlFactory",
                "pinot.broker.access.control.principals": "admin,reader",
                "pinot.broker.access.control.principals.admin.password": self.users["admin"],
                "pinot.broker.access.control.principals.reader.password": self.users["reader"],
            }
            server_auth = {
                "pinot.server.segment.fetcher.auth.token": admin_token,
                "pinot.server.segment.uploader.auth.token": admin_token,
                "pinot.server.instance.auth.token": admin_token,
            }
        write_properties(conf / "controller.conf", controller)
        cmds["controller"] = self.role("controller", "controller", conf / "controller.conf", [
            "StartController", "-configFileName", str(conf / "controller.conf")])

        write_properties(conf / "broker.conf", {
            "pinot.zk.server": zk, "pinot.cluster.name": CLUSTER_NAME,
            "pinot.broker.client.queryPort": self.ports["broker"], "pinot.broker.hostname": LOOPBACK,
            "pinot.broker.timeoutMs": 20000, **broker_auth,
        })
        cmds["broker"] = self.role("broker", "broker", conf / "broker.conf", [
            "StartBroker", "-zkAddress", zk, "-clusterName", CLUSTER_NAME, "-configFileName", str(conf / "broker.conf")])

        # a 1.x broker reads 0.x servers only in the DataTable version it knows (a rolling upgrade half-way)
        mixed = ({"pinot.server.instance.currentDataTableVersion": 4}
                 if is_1x(self.version) and not is_1x(self.server_version) else {})
        for i in range(self.servers):
            ports = self.ports[f"server-{i}"]
            base = self.workdir / f"server-{i}"
            write_properties(conf / f"server-{i}.conf", {
                "pinot.zk.server": zk, "pinot.cluster.name": CLUSTER_NAME,
                # the broker routes by the host/port registered here, not by the id
                "pinot.server.instance.id": self.server_id(i), "pinot.server.netty.host": LOOPBACK,
                "pinot.server.netty.port": ports["netty"], "pinot.server.adminapi.port": ports["admin"],
                "pinot.server.grpc.port": ports["grpc"],
                "pinot.query.server.port": ports["mse_server"], "pinot.query.runner.port": ports["mse_runner"],
                "pinot.server.instance.dataDir": base / "data", "pinot.server.instance.segmentTarDir": base / "segments",
                "pinot.server.instance.realtime.alloc.offheap": "true",
                # bounded graceful shutdown so a stopped "pod" goes away within seconds
                "pinot.server.shutdown.timeoutMs": 20000, "pinot.server.shutdown.noQueryThresholdMs": 2000,
                **server_auth, **mixed,
            })
            cmds[f"server-{i}"] = self.role(f"server-{i}", "server", conf / f"server-{i}.conf", [
                "StartServer", "-zkAddress", zk, "-clusterName", CLUSTER_NAME,
                "-configFileName", str(conf / f"server-{i}.conf")], self.server_version)

        gen_dir = self.workdir / "generator"
        gen_dir.mkdir(parents=True, exist_ok=True)
        cmds["generator"] = self.java("generator", "generator", str(DATA_DIR / "Generator.java"), [
            f"{LOOPBACK}:{self.ports['kafka']}", REALTIME_TABLE, str(TOPIC_PARTITIONS), str(self.rate),
            str(gen_dir / "count.json")], TOOLS_VERSION)

        for role, argv in cmds.items():
            cwd = self.workdir / "cwd" / role
            cwd.mkdir(parents=True, exist_ok=True)
            cmds[role] = {"argv": argv, "cwd": str(cwd)}
        return cmds

    def state(self):
        """Initial state document."""
        base = f"http://{LOOPBACK}"
        return {
            "version": self.version, "server_version": self.server_version, "workdir": str(self.workdir),
            "namespace": self.namespace,
            "cluster_name": CLUSTER_NAME, "ports": self.ports,
            "controller_url": f"{base}:{self.ports['controller']}", "broker_url": f"{base}:{self.ports['broker']}",
            "kafka_bootstrap": f"{LOOPBACK}:{self.ports['kafka']}", "zookeeper": f"{LOOPBACK}:{self.ports['zookeeper']}",
            "server_instance_ids": [self.server_id(i) for i in range(self.servers)],
            "users": self.users, "realtime_table": REALTIME_TABLE, "offline_table": OFFLINE_TABLE,
            "flush_rows": self.flush_rows, "rate": self.rate,
            "commands": self.commands(), "pids": {}, "started_at": time.time(),
            # CreateSegment's command line without its arguments (see _offline_segments)
            "segment_builder": {"version": TOOLS_VERSION,
                                "argv": self.admin("create-segment", "controller", [], TOOLS_VERSION)},
        }


def _prepare_workdir(workdir):
    """Make sure no cluster of ours runs in workdir, then empty it."""
    state_path = workdir / STATE_NAME
    if state_path.exists():
        old = PinotCluster(state_path)
        if any(old.running(role) for role in old.state["commands"]):
            raise ClusterError(f"a cluster is already running in {workdir}: run `down` first")
    if processes_tagged(workdir):
        raise ClusterError(f"processes of an earlier run in {workdir} are still alive: run `down` first")
    for sub in ("zookeeper", "kafka", "controller", "logs", "tmp", "cwd", "conf", "generator", "offline"):
        subprocess.run(["rm", "-rf", str(workdir / sub)], check=True)
    for path in workdir.glob("server-*"):
        subprocess.run(["rm", "-rf", str(path)], check=True)
    workdir.mkdir(parents=True, exist_ok=True)


def _offline_files(directory, count=OFFLINE_SEGMENTS):
    """Deterministic CSV files, one per offline segment."""
    directory.mkdir(parents=True, exist_ok=True)
    base_ts = 1_700_000_000_000
    files = []
    for seg in range(count):
        path = directory / f"events_{seg}.csv"
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["ts", "uuid", "count"])
            for row in range(OFFLINE_ROWS_PER_SEGMENT):
                n = seg * OFFLINE_ROWS_PER_SEGMENT + row
                writer.writerow([base_ts + n * 1000, str(uuid.uuid5(uuid.NAMESPACE_OID, str(n))), n % 100])
        files.append(path)
    return files


def _load_json(name, **substitutions):
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    for key, value in substitutions.items():
        text = text.replace(f"@{key}@", str(value))
    return json.loads(text)


def _create_tables(cluster):
    """Schemas, the REALTIME table on the Kafka topic, the OFFLINE table with its uploaded segments."""
    for schema in ("events_schema.json", "events_offline_schema.json"):
        resp = cluster.controller("POST", "/schemas", json=_load_json(schema))
        if resp.status_code >= 300:
            raise ClusterError(f"adding {schema} failed: {resp.status_code} {resp.text}")
    realtime = _load_json("events_realtime_table.json", KAFKA_BROKER=cluster.state["kafka_bootstrap"],
                          FLUSH_ROWS=cluster.state["flush_rows"])
    offline = _load_json("events_offline_table.json")
    for table in (realtime, offline):
        resp = cluster.controller("POST", "/tables", json=table)
        if resp.status_code >= 300:
            raise ClusterError(f"adding table {table['tableName']} failed: {resp.status_code} {resp.text}")
    for tarball in _offline_segments(cluster):
        with open(tarball, "rb") as data:
            resp = cluster.controller("POST", "/segments", params={"tableName": OFFLINE_TABLE},
                                      files={"file": (tarball.name, data, "application/octet-stream")}, timeout=120)
        if resp.status_code >= 300:
            raise ClusterError(f"uploading {tarball.name} failed: {resp.status_code} {resp.text}")


def _offline_segments(cluster, count=OFFLINE_SEGMENTS, name="offline-segments"):
    """Segment tarballs of the OFFLINE table, built once with CreateSegment and cached.

    The controller's /ingestFromFile would build them itself, but on 0.11 it cannot push to an
    auth-enabled controller, so the harness builds them and uploads them as a client.
    CreateSegment is pinot-tools' (TOOLS_VERSION): 1.x has no pinot-tools in every registry, and reads
    these segments as they are (`up` checks the rows). `count` segments (the table's 4 unless told)
    are cached under `name` in the builder version's cache folder.
    """
    builder = cluster.state["segment_builder"]
    cache = cache_root() / "pinot" / builder["version"] / name
    tarballs = sorted(cache.glob("*.tar.gz"))
    if len(tarballs) == count:
        return tarballs
    build = cluster.workdir / ("offline" if name == "offline-segments" else name)
    _offline_files(build / "input", count)
    main_at = builder["argv"].index("org.apache.pinot.tools.admin.PinotAdministrator")
    argv = builder["argv"][:main_at + 1] + [
        "CreateSegment", "-dataDir", str(build / "input"), "-format", "CSV", "-outDir", str(build / "segments"),
        "-overwrite", "-tableConfigFile", str(DATA_DIR / "events_offline_table.json"),
        "-schemaFile", str(DATA_DIR / "events_offline_schema.json")]
    with open(cluster.log_dir / "create-segment.log", "wb") as out:
        subprocess.run(argv, cwd=build, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=300)
    partial = cache.with_suffix(".partial")
    subprocess.run(["rm", "-rf", str(partial)], check=True)
    partial.mkdir(parents=True)
    for segment in sorted((build / "segments").iterdir()):
        with tarfile.open(partial / f"{segment.name}.tar.gz", "w:gz") as tar:
            tar.add(segment, arcname=segment.name)
    subprocess.run(["rm", "-rf", str(cache)], check=True)
    partial.rename(cache)
    return sorted(cache.glob("*.tar.gz"))


def up(workdir=None, version=DEFAULT_VERSION, servers=DEFAULT_SERVERS, namespace=DEFAULT_NAMESPACE, auth=False,
       flush_rows=600, rate=20, timeout=300, integration_config=None, generator=True, server_version=None,
       extra_jars=None):
    """Start a new cluster in workdir, load the data, and return its handle. Stops it again on failure.

    server_version: the servers' release when it differs from the controller's and broker's (a rolling
    upgrade caught half-way). extra_jars: folder of jars for 1.x modules Maven lacks (default_extra_jars).
    """
    workdir = Path(workdir or default_workdir()).resolve()
    _prepare_workdir(workdir)
    plan = _Plan(workdir, version, servers, namespace, auth, flush_rows, rate, server_version, extra_jars)
    state_path = workdir / STATE_NAME
    state_path.write_text(json.dumps(plan.state(), indent=2), encoding="utf-8")
    cluster = PinotCluster(state_path)
    started = time.monotonic()
    deadline = started + timeout

    def left():
        return max(1.0, deadline - time.monotonic())

    try:
        servers_note = f" with {plan.server_version} servers" if plan.server_version != version else ""
        log(f"starting Pinot {version}{servers_note} in {workdir} (logs in {cluster.log_dir})")
        cluster.start_role("zookeeper")
        cluster.wait_for("ZooKeeper", lambda: port_open(plan.ports["zookeeper"]), left(), ["zookeeper"])
        cluster.start_role("controller")
        cluster.start_role("kafka")
        cluster.wait_for("Kafka", lambda: port_open(plan.ports["kafka"]), left(), ["kafka"])
        if generator:
            cluster.start_generator()
        cluster.wait_for("controller health", cluster.controller_healthy, left(), ["controller", "kafka"])
        log(f"controller up after {time.monotonic() - started:.0f}s")
        cluster.start_role("broker")
        for i in range(servers):
            cluster.start_server(i, wait=False)
        for i in range(servers):
            cluster.wait_server(i, left())
        broker_id = f"Broker_{LOOPBACK}_{plan.ports['broker']}"
        cluster.wait_for("broker", lambda: broker_id in cluster.live_instances(), left(), ["broker"])
        log(f"{servers} servers and the broker live after {time.monotonic() - started:.0f}s")
        if generator:
            cluster.wait_for("generator topic", (workdir / "generator" / "count.json").exists, left(), ["generator"])
        _create_tables(cluster)
        expected_offline = OFFLINE_SEGMENTS * OFFLINE_ROWS_PER_SEGMENT
        cluster.wait_for("offline rows", lambda: cluster.count(OFFLINE_TABLE) == expected_offline, left())
        if generator:
            cluster.wait_for("realtime rows", lambda: cluster.count(REALTIME_TABLE) > 0, left())
        log(f"cluster ready after {time.monotonic() - started:.0f}s")
    except BaseException:
        log(f"start failed; stopping what was started (logs kept in {cluster.log_dir})")
        cluster.down()
        raise
    with cluster.locked() as state:
        state["ready_seconds"] = round(time.monotonic() - started, 1)
    if integration_config:
        cluster.write_integration_config(integration_config)
    return cluster


def cluster_rss_mb(cluster):
    """Sum of the resident memory of the cluster's processes (MiB)."""
    total_kb = 0
    for role in cluster.state["commands"]:
        pid = cluster.state["pids"].get(role)
        if pid and cluster.running(role):
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
                total_kb += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    return total_kb // 1024


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="work directory (default $PINOTOPS_RUN_DIR or ~/.cache/pinotops/run/default)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start a cluster and load the data")
    p_up.add_argument("--servers", type=int, default=DEFAULT_SERVERS)
    p_up.add_argument("--version", default=DEFAULT_VERSION, help=f"Pinot release (default {DEFAULT_VERSION})")
    p_up.add_argument("--server-version", default=None,
                      help="the servers' release, when it differs (e.g. 1.5.1 controller and broker, 0.11.0 servers)")
    p_up.add_argument("--namespace", default=DEFAULT_NAMESPACE)
    p_up.add_argument("--auth", action="store_true", help="basic auth on the controller and broker")
    p_up.add_argument("--flush-rows", type=int, default=600,
                      help="realtime.segment.flush.threshold.rows (0.11 divides it by the partitions a server consumes)")
    p_up.add_argument("--rate", type=float, default=20, help="generator events per second")
    p_up.add_argument("--no-generator", action="store_true")
    p_up.add_argument("--timeout", type=int, default=300)
    p_up.add_argument("--integration-config", type=Path, default=None)
    sub.add_parser("down", help="stop every process of the cluster")
    sub.add_parser("status", help="processes, urls, live instances")
    for name in ("stop-server", "start-server"):
        p_server = sub.add_parser(name)
        p_server.add_argument("index", type=int)
        if name == "stop-server":
            p_server.add_argument("--kill", action="store_true", help="SIGKILL instead of a graceful stop")
    sub.add_parser("stop-controller")
    sub.add_parser("start-controller")
    sub.add_parser("count").add_argument("table")
    sub.add_parser("external-view").add_argument("table")
    sub.add_parser("partitions", help="servers -> realtime partitions (from the external view)")
    sub.add_parser("memory", help="sum of the processes' resident memory (MiB)")
    sub.add_parser("generator").add_argument("action", choices=["start", "stop", "count"])
    p_resolve = sub.add_parser("resolve", help="only resolve the classpath")
    p_resolve.add_argument("--version", default=DEFAULT_VERSION)
    for sub_parser in (p_up, p_resolve):
        sub_parser.add_argument("--extra-jars", type=Path, default=None,
                                help=f"folder of jars for the 1.x modules the Maven registry lacks (default "
                                     f"${EXTRA_JARS_ENV}, else ../shared/pinot-<version>/jars beside the repository)")
    args = parser.parse_args(argv)

    workdir = (args.workdir or default_workdir()).resolve()
    if args.command in ("resolve", "up"):
        try:
            if args.command == "resolve":
                print(resolve_classpath(args.version, args.extra_jars))
                return 0
            cluster = up(workdir, args.version, args.servers, args.namespace, args.auth, args.flush_rows, args.rate,
                         args.timeout, args.integration_config, not args.no_generator, args.server_version,
                         args.extra_jars)
        except ClusterError as exc:
            log(f"error: {exc}")
            return 1
        print(json.dumps(cluster.status(), indent=2))
        return 0
    state_path = workdir / STATE_NAME
    if not state_path.exists():
        print(f"no cluster state in {workdir}", file=sys.stderr)
        return 0 if args.command == "down" else 1
    cluster = load(state_path)
    actions = {
        "down": cluster.down,
        "status": lambda: print(json.dumps(cluster.status(), indent=2)),
        "stop-controller": cluster.stop_controller,
        "start-controller": cluster.start_controller,
        "count": lambda: print(cluster.count(getattr(args, "table", ""))),
        "external-view": lambda: print(json.dumps(cluster.external_view(getattr(args, "table", "")), indent=2)),
        "partitions": lambda: print(json.dumps(cluster.partitions_by_server(), indent=2)),
        "memory": lambda: print(cluster_rss_mb(cluster)),
    }
    if args.command == "stop-server":
        cluster.stop_server(args.index, graceful=not args.kill)
    elif args.command == "start-server":
        cluster.start_server(args.index)
    elif args.command == "generator":
        {"start": cluster.start_generator, "stop": cluster.stop_generator,
         "count": lambda: print(cluster.produced())}[args.action]()
    else:
        actions[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
