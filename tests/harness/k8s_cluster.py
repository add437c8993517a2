"""A real local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) built from Go modules.

There is no kubelet and no scheduler: tests/harness/node_agent.py plays both, and can back the
``pinot-server`` pods with the servers of a local Pinot cluster (tests/harness/pinot_cluster.py).
Everything listens on loopback with free-picked ports; the state (pids, ports, kubeconfigs) is a
JSON file in the work directory. Commands: build, up [--pinot-state PATH], down, status.
"""

import argparse
import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from processes import LOOPBACK, cache_root, free_ports, pid_is, terminate

HARNESS_DIR = Path(__file__).resolve().parent
REPO_ROOT = HARNESS_DIR.parents[1]
MODULE_DIR = HARNESS_DIR / "k8s"
MANIFESTS = [MODULE_DIR / "manifests" / "pinot-server.yaml", MODULE_DIR / "manifests" / "decommission-rbac.yaml"]
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kubectl")
NAMESPACE = "pinot-quickstart"
STATEFULSET = "pinot-server"
SERVICE_ACCOUNT = "pinotops-decommission"
STATE_NAME = "state.json"
STOP_DEADLINE = 20
# Stop order: the agent first (it talks to the API), etcd last (everything talks to it).
ROLES = ("etcd", "kube-apiserver", "kube-controller-manager", "node-agent")
CONTROLLERS = "serviceaccount-controller,statefulset-controller,garbage-collector-controller,namespace-controller"


class ClusterError(RuntimeError):
    """The control plane could not be built, started or reached."""


def log(msg):
    """Progress on stderr (stdout is kept for command results)."""
    print(f"[k8s-cluster {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_workdir():
    """Work directory every command uses unless told otherwise."""
    return Path(os.environ.get("PINOTOPS_K8S_RUN_DIR", cache_root() / "run" / "k8s-default"))


# --- build -------------------------------------------------------------------------------------


def pinned_version(go_mod, module):
    """Version of module required by a go.mod (the pin is the single source of truth)."""
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", go_mod.read_text(encoding="utf-8"), re.M)
    if not match:
        raise ClusterError(f"{go_mod} does not require {module}")
    return match.group(1)


def versions():
    """Pinned Kubernetes and etcd versions."""
    return {"kubernetes": pinned_version(MODULE_DIR / "go.mod", "k8s.io/kubernetes"),
            "etcd": pinned_version(MODULE_DIR / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3")}


def bin_dir():
    """Cache folder of the binaries, keyed by the pinned versions."""
    pins = versions()
    return cache_root() / "k8s" / f"{pins['kubernetes']}+etcd-{pins['etcd']}" / "bin"


# A cold build takes minutes per binary: a line at least this often says it is still going.
HEARTBEAT_SECONDS = 20


def build_step(name, cwd, argv, out, log_path):
    """Run one `go build` (output appended to `out`, the open build log), saying every HEARTBEAT_SECONDS how far it is."""
    out.write(f"+ (cd {cwd} && {' '.join(argv)})\n")
    out.flush()
    start_offset = out.tell()
    started = time.monotonic()
    with subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT) as proc:
        while True:
            try:
                code = proc.wait(timeout=HEARTBEAT_SECONDS)
                break
            except subprocess.TimeoutExpired:
                # go build -v names each package as it compiles it (cached ones are not named)
                with open(log_path, "rb") as written:
                    written.seek(start_offset)
                    compiled = written.read().count(b"\n")
                log(f"  still building {name}: {round(time.monotonic() - started)} s, {compiled} packages compiled so far"
                    " (packages from Go's build cache are not counted)")
    if code != 0:
        raise ClusterError(f"build of {name} failed: {' '.join(argv)} in {cwd}; see {log_path}")
    return round(time.monotonic() - started)


def build(force=False):
    """Build the four binaries into the cache unless they are there; return the folder."""
    target = bin_dir()
    if not force and all((target / name).is_file() for name in BINARIES):
        log(f"binaries cached in {target}")
        return target
    partial = target.with_name("bin.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    build_log = target.with_name("build.log")
    # Two cores, shared with a Java cluster: low priority, at most PINOTOPS_GO_JOBS packages at once.
    jobs = os.environ.get("PINOTOPS_GO_JOBS", "2")
    common = ["nice", "-n", "10", "go", "build", "-v", "-p", jobs, "-trimpath", "-buildvcs=false"]
    # Outside Kubernetes' own build scripts the version would read v0.0.0-master: stamp it as they do.
    pin = versions()["kubernetes"]
    major, minor = pin.lstrip("v").split(".")[:2]
    stamp = " ".join(f"-X k8s.io/{pkg}.{key}={value}" for pkg in ("component-base/version", "client-go/pkg/version")
                     for key, value in (("gitVersion", pin), ("gitMajor", major), ("gitMinor", minor), ("gitTreeState", "clean")))
    # One binary per step, so each gets its own line and time; they share Go's build cache (later ones reuse
    # the packages the earlier ones compiled).
    steps = [("etcd", MODULE_DIR / "etcd",
              common + ["-ldflags=-s -w", "-o", str(partial / "etcd"), "go.etcd.io/etcd/server/v3"])]
    steps += [(name, MODULE_DIR, common + [f"-ldflags=-s -w {stamp}", "-o", str(partial / name), f"k8s.io/kubernetes/cmd/{name}"])
              for name in BINARIES[1:]]
    log(f"building {', '.join(BINARIES)} from the Go module proxy (several minutes when Go's build cache is cold; "
        f"log {build_log})")
    started = time.monotonic()
    times = {}
    with open(build_log, "w", encoding="utf-8") as out:
        for number, (name, cwd, argv) in enumerate(steps, 1):
            log(f"building {name} ({number}/{len(steps)})")
            times[name] = build_step(name, cwd, argv, out, build_log)
            log(f"built {name} in {times[name]} s")
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    seconds = round(time.monotonic() - started)
    sizes = {name: (target / name).stat().st_size for name in BINARIES}
    target.with_name("build.json").write_text(json.dumps({"seconds": seconds, "binaries": times, "sizes": sizes}, indent=2),
                                              encoding="utf-8")
    log(f"built in {seconds} s into {target}")
    return target


# --- processes ---------------------------------------------------------------------------------


def openssl(*args):
    """Run one openssl command quietly; fail with its output."""
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def make_pki(pki):
    """A CA, the apiserver's serving cert, the admin's client cert and the service-account key pair."""
    pki.mkdir(parents=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=pinotops-test-ca",
            "-keyout", str(pki / "ca.key"), "-out", str(pki / "ca.crt"))
    leaves = {
        "apiserver": ("/CN=kube-apiserver", "serverAuth",
                      "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
                      "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"),
        # O=system:masters: the admin is bound to cluster-admin by the bootstrap RBAC policy.
        "admin": ("/O=system:masters/CN=pinotops-admin", "clientAuth", ""),
    }
    for name, (subject, usage, extra) in leaves.items():
        ext = pki / f"{name}.ext"
        ext.write_text(f"{extra}extendedKeyUsage={usage}\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                       "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nbasicConstraints=CA:FALSE\n", encoding="utf-8")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                "-keyout", str(pki / f"{name}.key"), "-out", str(pki / f"{name}.csr"))
        openssl("x509", "-req", "-in", str(pki / f"{name}.csr"), "-CA", str(pki / "ca.crt"), "-CAkey", str(pki / "ca.key"),
                "-CAcreateserial", "-days", "3650", "-extfile", str(ext), "-out", str(pki / f"{name}.crt"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(pki / "sa.key"))
    openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def write_kubeconfig(path, server, ca, user):
    """Write a kubeconfig (JSON is YAML) with one cluster, one user and one context."""
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "pinotops",
        "clusters": [{"name": "pinotops", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "pinotops", "user": user}],
        "contexts": [{"name": "pinotops", "context": {"cluster": "pinotops", "user": "pinotops", "namespace": NAMESPACE}}],
    }
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    path.chmod(0o600)


def bootstrap_paths(line="2.19"):
    """VENV and COLLECTIONS from tests/tooling/bootstrap.sh (cheap once it has run)."""
    out = subprocess.run([str(REPO_ROOT / "tests" / "tooling" / "bootstrap.sh"), line],
                         capture_output=True, text=True, check=True).stdout
    return dict(row.split("=", 1) for row in out.splitlines() if "=" in row)


def agent_python():
    """A Python with the kubernetes client: this one, $PINOTOPS_AGENT_PYTHON, or the bootstrap venv's."""
    if os.environ.get("PINOTOPS_AGENT_PYTHON"):
        return os.environ["PINOTOPS_AGENT_PYTHON"]
    if importlib.util.find_spec("kubernetes"):
        return sys.executable
    return str(Path(bootstrap_paths()["VENV"]) / "bin" / "python")


class K8sCluster:
    """Handle on a control plane described by a state file."""

    def __init__(self, state_path):
        self.state_path = Path(state_path).resolve()
        self.workdir = self.state_path.parent
        self.state = json.loads(self.state_path.read_text(encoding="utf-8"))

    def save(self):
        """Write the state atomically."""
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2), encoding="utf-8")
        tmp.replace(self.state_path)

    @property
    def log_dir(self):
        """Folder with one log file per process."""
        return self.workdir / "logs"

    @property
    def server(self):
        """URL of the kube-apiserver."""
        return self.state["server"]

    @property
    def kubeconfig(self):
        """Admin kubeconfig (system:masters)."""
        return self.state["kubeconfig"]

    @property
    def sa_kubeconfig(self):
        """Kubeconfig of the least-privilege decommission ServiceAccount."""
        return self.state["sa_kubeconfig"]

    @property
    def kubectl_path(self):
        """The kubectl binary built with the control plane."""
        return self.state["kubectl"]

    @property
    def namespace(self):
        """Namespace of the Pinot StatefulSet."""
        return self.state["namespace"]

    @property
    def pinot_state(self):
        """State file of the Pinot cluster the node agent backs pods with, or None."""
        return self.state.get("pinot_state")

    def running(self, role):
        """Whether the process of role is up."""
        pid = self.state["pids"].get(role)
        return bool(pid) and pid_is(pid, str(self.workdir))

    def spawn(self, role, argv, env=None):
        """Start a process detached from us, logging to logs/<role>.log; record its pid."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{role}.log", "ab") as out:
            out.write(f"\n==== start {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
            out.flush()
            proc = subprocess.Popen(  # pylint: disable=consider-using-with  # runs detached
                argv, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=env)
        # Until exec the child still shows our command line, so running() would call it exited: wait for the exec.
        for _attempt in range(100):
            if pid_is(proc.pid, str(self.workdir)) or proc.poll() is not None:
                break
            time.sleep(0.05)
        self.state["pids"][role] = proc.pid
        self.state["commands"][role] = argv
        self.save()

    def stop(self, role):
        """Stop role by its recorded pid (idempotent)."""
        pid = self.state["pids"].get(role)
        if pid:
            terminate(pid, str(self.workdir), deadline=STOP_DEADLINE, log=log)
        self.state["pids"][role] = None
        self.save()

    def down(self):
        """Stop every process, in reverse start order."""
        for role in reversed(ROLES):
            self.stop(role)
        log(f"stopped; logs kept in {self.log_dir}")

    def api(self, path, raw=False):
        """GET an API path as the admin; return the decoded JSON (the text when raw)."""
        pki = self.workdir / "pki"
        resp = requests.get(self.server + path, cert=(str(pki / "admin.crt"), str(pki / "admin.key")),
                            verify=str(pki / "ca.crt"), timeout=10)
        resp.raise_for_status()
        return resp.text if raw else resp.json()

    def kubectl(self, *args, sa=False, check=True):
        """Run kubectl with the admin (or the ServiceAccount's) kubeconfig; return the CompletedProcess."""
        argv = [self.kubectl_path, "--kubeconfig", self.sa_kubeconfig if sa else self.kubeconfig, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
        if check and proc.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed: {proc.stderr.strip()}")
        return proc

    def statefulset(self):
        """The pinot-server StatefulSet as JSON."""
        return self.api(f"/apis/apps/v1/namespaces/{self.namespace}/statefulsets/{STATEFULSET}")

    def pods(self):
        """Names of the pinot-server pods -> their JSON."""
        items = self.api(f"/api/v1/namespaces/{self.namespace}/pods")["items"]
        return {pod["metadata"]["name"]: pod for pod in items}

    def wait_for(self, what, check, timeout):
        """Poll check() until true; fail naming the logs."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                if check():
                    return
            for role in ROLES:
                if self.state["pids"].get(role) and not self.running(role):
                    raise ClusterError(f"{role} exited while waiting for {what}; see {self.log_dir / (role + '.log')}")
            time.sleep(0.5)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}; logs in {self.log_dir}")

    def wait_ready(self, replicas, timeout):
        """Wait until the StatefulSet has exactly replicas pods, all ready."""
        def ready():
            status = self.statefulset().get("status", {})
            return status.get("replicas") == replicas and status.get("readyReplicas") == replicas \
                and len(self.pods()) == replicas
        self.wait_for(f"{replicas} ready {STATEFULSET} pods", ready, timeout)

    def start_agent(self, pinot_state=None):
        """(Re)start the node agent, backing pinot-server pods with the Pinot cluster of pinot_state."""
        self.stop("node-agent")
        argv = [agent_python(), str(HARNESS_DIR / "node_agent.py"), "--kubeconfig", self.kubeconfig]
        if pinot_state:
            argv += ["--pinot-state", str(Path(pinot_state).resolve())]
        self.state["pinot_state"] = str(Path(pinot_state).resolve()) if pinot_state else None
        # The agent would also link itself through $PINOTOPS_PINOT_STATE: only the argument decides here.
        env = {key: value for key, value in os.environ.items() if key != "PINOTOPS_PINOT_STATE"}
        self.spawn("node-agent", argv, env)

    def link_pinot(self, pinot_state, timeout=300):
        """Make the node agent back the pods with this Pinot cluster (restarts the agent if it changes)."""
        wanted = str(Path(pinot_state).resolve()) if pinot_state else None
        if wanted != self.pinot_state or not self.running("node-agent"):
            self.start_agent(wanted)
        self.wait_ready(self.statefulset()["spec"]["replicas"], timeout)

    def rss_mb(self):
        """Resident memory of each process (MiB)."""
        result = {}
        for role in ROLES:
            if self.running(role):
                status = Path(f"/proc/{self.state['pids'][role]}/status").read_text(encoding="utf-8")
                result[role] = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) // 1024
        return result

    def status(self):
        """Summary of processes, endpoints and the StatefulSet."""
        summary = {
            "state": str(self.state_path), "server": self.server, "versions": self.state["versions"],
            "kubeconfig": self.kubeconfig, "sa_kubeconfig": self.sa_kubeconfig, "kubectl": self.kubectl_path,
            "pinot_state": self.pinot_state, "ready_seconds": self.state.get("ready_seconds"),
            "processes": {role: {"pid": self.state["pids"].get(role), "running": self.running(role)} for role in ROLES},
            "rss_mb": self.rss_mb(),
        }
        with contextlib.suppress(requests.RequestException, ValueError, KeyError):
            status = self.statefulset().get("status", {})
            summary["statefulset"] = {key: status.get(key) for key in ("replicas", "readyReplicas", "currentReplicas")}
            summary["pods"] = sorted(self.pods())
        return summary


def load(state_path=None):
    """Attach to the control plane whose state file is given (default: the default work directory's)."""
    return K8sCluster(state_path or default_workdir() / STATE_NAME)


def _prepare_workdir(workdir):
    """Refuse a work directory whose control plane still runs; otherwise start it afresh."""
    state_path = workdir / STATE_NAME
    if state_path.exists():
        old = load(state_path)
        if any(old.running(role) for role in ROLES):
            raise ClusterError(f"a control plane already runs from {workdir}: run `down` first")
    elif workdir.exists() and any(workdir.iterdir()):
        raise ClusterError(f"{workdir} is not empty and holds no {STATE_NAME}: not wiping it")
    shutil.rmtree(workdir, ignore_errors=True)
    (workdir / "logs").mkdir(parents=True)


def _commands(bins, workdir, ports):
    """Command lines of etcd, kube-apiserver and kube-controller-manager."""
    pki = workdir / "pki"
    etcd_url, peer_url = f"http://{LOOPBACK}:{ports['etcd']}", f"http://{LOOPBACK}:{ports['etcd-peer']}"
    return {
        "etcd": [str(bins / "etcd"), "--name=pinotops", f"--data-dir={workdir / 'etcd-data'}",
                 f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
                 f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
                 f"--initial-cluster=pinotops={peer_url}",
                 # test data only: no fsync keeps etcd from waiting on the disk the Java cluster also uses
                 "--unsafe-no-fsync=true", "--log-level=warn"],
        "kube-apiserver": [
            str(bins / "kube-apiserver"), f"--etcd-servers={etcd_url}",
            f"--bind-address={LOOPBACK}", f"--advertise-address={LOOPBACK}", f"--secure-port={ports['apiserver']}",
            f"--cert-dir={workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24", "--authorization-mode=RBAC",
            # a loopback address is not a valid Endpoints address: do not publish one for the kubernetes Service
            "--endpoint-reconciler-type=none", "--profiling=false"],
        "kube-controller-manager": [
            str(bins / "kube-controller-manager"), f"--kubeconfig={workdir / 'admin.kubeconfig'}",
            f"--controllers={CONTROLLERS}", "--leader-elect=false", "--secure-port=0"],
    }


def up(workdir=None, pinot_state=None, timeout=300, attempts=2):
    """Build if needed, start the control plane, create the Pinot server StatefulSet; return a K8sCluster.

    A failed start is tried once more with new ports: the ports are picked free but only bound later, and on
    a busy machine another process can take one in between. The failed attempt's directory is kept beside
    the work directory (`<workdir>.failed-<n>`) and named in the log.
    """
    workdir = Path(workdir or default_workdir()).resolve()
    for attempt in range(1, attempts + 1):
        try:
            return _start(workdir, pinot_state, timeout)
        except ClusterError as exc:
            if attempt == attempts:
                raise
            kept = workdir.with_name(f"{workdir.name}.failed-{attempt}")
            shutil.rmtree(kept, ignore_errors=True)
            shutil.move(str(workdir), str(kept))
            log(f"start attempt {attempt} failed ({exc}); its files are in {kept}; trying again with new ports")
    raise AssertionError("unreachable")


def _start(workdir, pinot_state, timeout):
    """One attempt of up()."""
    bins = build()
    _prepare_workdir(workdir)
    started = time.monotonic()
    make_pki(workdir / "pki")
    ports = dict(zip(("etcd", "etcd-peer", "apiserver"), free_ports(3)))
    server = f"https://{LOOPBACK}:{ports['apiserver']}"
    pki = workdir / "pki"
    write_kubeconfig(workdir / "admin.kubeconfig", server, pki / "ca.crt",
                     {"client-certificate": str(pki / "admin.crt"), "client-key": str(pki / "admin.key")})
    state = {"versions": versions(), "bin_dir": str(bins), "kubectl": str(bins / "kubectl"), "server": server,
             "ports": ports, "kubeconfig": str(workdir / "admin.kubeconfig"),
             "sa_kubeconfig": str(workdir / "decommission.kubeconfig"), "namespace": NAMESPACE,
             "statefulset": STATEFULSET, "service_account": SERVICE_ACCOUNT, "pinot_state": None,
             "pids": {}, "commands": {}}
    (workdir / STATE_NAME).write_text(json.dumps(state, indent=2), encoding="utf-8")
    cluster = load(workdir / STATE_NAME)
    commands = _commands(bins, workdir, ports)

    def left():
        return max(1.0, timeout - (time.monotonic() - started))
    try:
        cluster.spawn("etcd", commands["etcd"])
        cluster.wait_for("etcd health", lambda: requests.get(f"http://{LOOPBACK}:{ports['etcd']}/health", timeout=5).json()
                         .get("health") == "true", left())
        cluster.spawn("kube-apiserver", commands["kube-apiserver"])
        cluster.wait_for("kube-apiserver /readyz", lambda: cluster.api("/readyz", raw=True) == "ok", left())
        cluster.spawn("kube-controller-manager", commands["kube-controller-manager"])
        # The serviceaccount controller creating "default" proves the controller manager runs and reaches the API.
        cluster.wait_for("the controller manager (default ServiceAccount)",
                         lambda: cluster.api("/api/v1/namespaces/default/serviceaccounts/default"), left())
        for manifest in MANIFESTS:
            cluster.kubectl("apply", "-f", str(manifest))
        token = cluster.kubectl("create", "token", SERVICE_ACCOUNT, "-n", NAMESPACE, "--duration=24h").stdout.strip()
        write_kubeconfig(Path(cluster.sa_kubeconfig), server, pki / "ca.crt", {"token": token})
        cluster.start_agent(pinot_state)
        cluster.wait_ready(4, left())
    except BaseException:
        log(f"start failed; stopping what was started (logs kept in {cluster.log_dir})")
        cluster.down()
        raise
    cluster.state["ready_seconds"] = round(time.monotonic() - started, 1)
    cluster.save()
    log(f"control plane ready after {cluster.state['ready_seconds']}s: {server}")
    return cluster


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None,
                        help="work directory (default $PINOTOPS_K8S_RUN_DIR or ~/.cache/pinotops/run/k8s-default)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the binaries into the cache").add_argument("--force", action="store_true")
    p_up = sub.add_parser("up", help="start the control plane, the node agent and the StatefulSet")
    p_up.add_argument("--pinot-state", type=Path, default=None, help="back pinot-server pods with this Pinot cluster")
    p_up.add_argument("--timeout", type=int, default=300)
    sub.add_parser("down", help="stop every process")
    sub.add_parser("status", help="processes, endpoints, StatefulSet")
    args = parser.parse_args(argv)

    if args.command == "build":
        print(build(args.force))
        return 0
    workdir = (args.workdir or default_workdir()).resolve()
    if args.command == "up":
        print(json.dumps(up(workdir, args.pinot_state, args.timeout).status(), indent=2))
        return 0
    state_path = workdir / STATE_NAME
    if not state_path.exists():
        print(f"no control plane state in {workdir}", file=sys.stderr)
        return 0 if args.command == "down" else 1
    cluster = load(state_path)
    if args.command == "down":
        cluster.down()
    else:
        print(json.dumps(cluster.status(), indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ClusterError as error:
        log(f"error: {error}")
        sys.exit(1)
