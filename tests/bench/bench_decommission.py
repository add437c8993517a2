"""Decommission benchmark (issue 7): the hand procedure against the server_decommission role, parallelism 1 and 4.

On a real local cluster of each release in VERSIONS, one after the other (4 servers, no generator, in its own work
directory; a real Kubernetes API whose node agent maps pinot-server-N pods to those servers) with 10 tables (the recipe's
realtime table `events`, the harness's `eventsOffline` and 8 more offline tables of S segments, replication 2), it
removes pinot-server-3 three times, bringing it back with its share of every table in between:
(a) the hand procedure as operators run it, (b) the role with parallelism 1, (c) the role with parallelism 4.
Each variant's controller traffic goes through a counting proxy; an independent watcher follows, through
its own connection, when each table's rebalance has converged. Run with the bootstrap virtualenv's python:
    $VENV/bin/python tests/bench/bench_decommission.py [--reuse] [--pinot-version V ...]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bench_call_overhead import CountingProxy

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests" / "harness"), str(ROOT / "tests" / "system")]

# pylint: disable=wrong-import-position
import k8s_cluster as k8s_harness  # noqa: E402
import pinot_cluster as pinot_harness  # noqa: E402
from conftest import Ansible, _bootstrap  # noqa: E402
from test_server_decommission import PLAYBOOK, rebalance_onto, role_vars, server3_back, wait_until  # noqa: E402

# The newest release, whose wait follows the rebalance job, and the oldest, whose wait follows the views alone.
VERSIONS = (pinot_harness.DEFAULT_VERSION, "0.11.0")
RUN_DIR = Path.home() / ".cache" / "pinotops" / "run"
EXTRA_TABLES = ["benchOffline%d" % number for number in range(8)]
SEGMENTS = 24  # per extra table: keeps a whole run (clusters, 3 variants, 2 restores) near 10 minutes here
REMOVED = 3  # pinot-server-3 goes, as Kubernetes removes the highest ordinal
HAND_POLL_SECONDS = 10.0  # "wait a few seconds, maybe longer": the fixed sleep of a hand-written wait loop
WATCH_SECONDS = 0.5
MEMORY_SECONDS = 0.2
REBALANCE_PARAMS = {"reassignInstances": "true", "includeConsuming": "true", "downtime": "false", "minAvailableReplicas": "1"}

# Budgets of issue 7 (ratios from the same run).
OVERHEAD_SHARE = 0.10
OVERHEAD_FLOOR_S = 15.0
PARALLEL_RATIO = 0.40
CALLS_PER_TABLE = 5

DEFINITIONS = """\
How the decommission figures are defined. They are measured the same way on both releases: on 1.x the role
follows each rebalance's job (`/rebalanceStatus/{jobId}`) and confirms with the views; Pinot 0.11.0 has no job
status API (no job id, no `/rebalanceStatus`), so there the role follows the ideal state and external view alone.
Pinot's own view of when a rebalance ended is not used for *Pinot time*, so the releases compare:

- *Wall*: from the first step (the untag, or the start of `ansible-playbook`) until the instance is dropped
  (the hand procedure) or `ansible-playbook` has exited (the role).
- *Pinot time*: for each table, from the moment its rebalance POST (not a dry run) reaches the controller
  (seen by the counting proxy) until the benchmark's own watcher first sees the table at its target: pinot-server-3
  in none of its ideal state's replicas and the external view equal to the ideal state. The watcher polls
  every 0.5 s on its own connection, not through the proxy, so its reads are not counted. A variant's
  Pinot time is the length of the union of its tables' intervals (tables moving at the same time count once).
  It is what Pinot needs to move the segments at the pace the orchestrator asks for them; it does not include
  the server's shutdown after the scale-down.
- *Overhead*: wall - Pinot time: start-up, preflight, polling lag after convergence, verification, the scale-down
  and the server's graceful shutdown, the drop, the report.
- *Calls per table*: controller requests through the proxy, divided by the 10 affected tables, polls apart. The
  budget check also splits them: requests about one table (`/tables/{t}/...`, `/segments/{t}/...`) per table, and
  requests about the cluster (instances, liveness, feature probes, table listings), which do not grow with the tables.
  A poll is a read of a table's ideal state, external view or rebalance status made after that table's rebalance
  POST and before the first request of another kind after the last rebalance POST (the end of the rebalance wait).
- *Poll gaps*: for the table polled most (the realtime `events`, the slowest to move), seconds from its rebalance
  POST to its first poll, then between its successive external view polls; *backs off* when no table's gaps shrink
  and some table's grow.
- *Peak RSS*: the largest sum of VmRSS over `ansible-playbook` and all its descendants, sampled every 0.2 s
  from /proc (the hand procedure runs inside the benchmark: none).
- The hand procedure: `PUT /instances/{id}/updateTags` (to `server_untagged`, as the role does), `GET /tables`,
  then per table `POST /tables/{t}/rebalance?reassignInstances=true&includeConsuming=true&downtime=false` and
  every 10 s `GET idealstate` + `GET externalview` until they match without the server; then `GET /segments/{t}/servers`
  per table (the recipe's check), `kubectl scale statefulset pinot-server --replicas=3`, and `DELETE /instances/{id}`
  every 10 s until it succeeds. This is the safe order (scale after the drain); the recipe's scale-first order
  would make 0.11's no-downtime rebalance wait up to an hour for the dead server.
- Between variants pinot-server-3 is brought back: scaled to 4, live with its tags again, and every table
  rebalanced until it holds part of each and the external view matches the ideal state (not timed).
"""


# --- the cluster ---------------------------------------------------------------------------------


def workdirs(version):
    """(Pinot, Kubernetes) work directories of the benchmark's clusters of one release (`make down` stops them)."""
    return RUN_DIR / ("bench-decom-" + version), RUN_DIR / ("bench-decom-%s-k8s" % version)


def start_clusters(reuse, version):
    """The benchmark's own Pinot and Kubernetes clusters: reused when asked and running, else started afresh."""
    pinot_dir, k8s_dir = workdirs(version)
    pinot_state, k8s_state = pinot_dir / pinot_harness.STATE_NAME, k8s_dir / k8s_harness.STATE_NAME
    if reuse and pinot_state.exists() and pinot_harness.load(pinot_state).running("controller"):
        pinot = pinot_harness.load(pinot_state)
    else:
        pinot = pinot_harness.up(pinot_dir, version=version, servers=4, generator=False)
    if reuse and k8s_state.exists() and k8s_harness.load(k8s_state).running("kube-apiserver"):
        k8s = k8s_harness.load(k8s_state)
        k8s.link_pinot(pinot.state_path)
    else:
        k8s = k8s_harness.up(k8s_dir, pinot_state=pinot.state_path)
    return pinot, k8s


def stop_clusters(version):
    """Stop both clusters of one release's work directories (whatever runs there)."""
    pinot_dir, k8s_dir = workdirs(version)
    for harness, workdir in ((k8s_harness, k8s_dir), (pinot_harness, pinot_dir)):  # Kubernetes first: its agent restarts servers
        if (workdir / harness.STATE_NAME).exists():
            harness.load(workdir / harness.STATE_NAME).down()


def add_offline_tables(pinot, segments):
    """The 8 extra OFFLINE tables (each its own schema) with the same `segments` segment tarballs each.

    The tarballs are built once by the harness's CreateSegment step and cached (~/.cache/pinotops/pinot/<version>/
    bench-offline-segments-<segments>); Pinot 0.11 takes the same tarball under another table name.
    """
    existing = pinot.controller("GET", "/tables").json()["tables"]
    tarballs = pinot_harness._offline_segments(  # pylint: disable=protected-access
        pinot, segments, "bench-offline-segments-%d" % segments)
    for table in EXTRA_TABLES:
        if table in existing:
            continue
        schema = pinot_harness._load_json("events_offline_schema.json")  # pylint: disable=protected-access
        schema["schemaName"] = table
        config = pinot_harness._load_json("events_offline_table.json")  # pylint: disable=protected-access
        config["tableName"] = table
        config["segmentsConfig"]["schemaName"] = table
        for path, body in (("/schemas", schema), ("/tables", config)):
            pinot.controller("POST", path, json=body).raise_for_status()
        for tarball in tarballs:
            with open(tarball, "rb") as data:
                pinot.controller("POST", "/segments", params={"tableName": table}, timeout=120,
                                 files={"file": (tarball.name, data, "application/octet-stream")}).raise_for_status()
    expected = len(tarballs) * pinot_harness.OFFLINE_ROWS_PER_SEGMENT
    for table in EXTRA_TABLES:
        wait_until(lambda table=table: pinot.count(table) == expected, 300, "%s serves its %d rows" % (table, expected))


def typed_tables():
    """(table, type) of the 10 tables."""
    return [(pinot_harness.REALTIME_TABLE, "REALTIME"), (pinot_harness.OFFLINE_TABLE, "OFFLINE")] + [
        (table, "OFFLINE") for table in EXTRA_TABLES]


def bring_back(pinot, k8s):
    """pinot-server-3 back with part of every table: scale to 4, wait live + tags, rebalance every table onto it."""
    server = server3_back(pinot, k8s)
    k8s.wait_ready(4, 300)
    with ThreadPoolExecutor(max_workers=len(typed_tables())) as pool:
        list(pool.map(lambda typed: rebalance_onto(pinot, typed[0], typed[1], server), typed_tables()))


def tables_on(pinot, server):
    """Tables whose ideal state assigns a segment to server."""
    found = []
    for table, table_type in typed_tables():
        ideal = pinot.controller("GET", "/tables/%s/idealstate" % table).json().get(table_type) or {}
        if any(server in replicas for replicas in ideal.values()):
            found.append(table)
    return found


# --- what the benchmark watches ------------------------------------------------------------------


def table_of(path):
    """The raw table name in /tables/{t}[/...] or /segments/{t}/... (a typed name loses its _OFFLINE/_REALTIME),
    else None."""
    parts = path.split("/")
    if len(parts) < 3 or parts[1] not in ("tables", "segments") or not parts[2]:
        return None
    for suffix in ("_OFFLINE", "_REALTIME"):
        if parts[2].endswith(suffix):
            return parts[2][:-len(suffix)]
    return parts[2]


def rebalance_post(method, path, query):
    """The table name when a request starts a rebalance (a POST that is not a dry run), else None."""
    if method == "POST" and path.endswith("/rebalance") and "dryRun=true" not in query:
        return table_of(path)
    return None


def at_target(pinot, table, server):
    """Whether a table's ideal state no longer has server and its external view serves exactly the ideal state."""
    ideal = pinot.controller("GET", "/tables/%s/idealstate" % table).json()
    external = pinot.controller("GET", "/tables/%s/externalview" % table).json()
    for table_type in ("OFFLINE", "REALTIME"):
        assignment = ideal.get(table_type) or {}
        if any(server in replicas for replicas in assignment.values()) or assignment != (external.get(table_type) or {}):
            return False
    return True


class Watcher:
    """Follows, on its own connection every 0.5 s, each table whose rebalance POST the proxy has seen.

    `started[table]` is when its (last) rebalance POST arrived, `converged[table]` when the watcher first saw it
    at its target (monotonic seconds).
    """

    def __init__(self, pinot, proxy, server):
        self.pinot, self.proxy, self.server = pinot, proxy, server
        self.started, self.converged = {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        seen = 0
        while not self._stop.wait(WATCH_SECONDS):
            entries = self.proxy.log[seen:]
            seen += len(entries)
            for at, method, path, query in entries:
                table = rebalance_post(method, path, query)
                if table:
                    self.started[table] = at
                    self.converged.pop(table, None)
            for table in [table for table in self.started if table not in self.converged]:
                try:
                    if at_target(self.pinot, table, self.server):
                        self.converged[table] = time.monotonic()
                except (requests.RequestException, ValueError):
                    pass  # a busy controller: look again next round

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)


def tree_rss_kb(root):
    """Sum of VmRSS (KiB) of process root and all its descendants, from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry, encoding="utf-8") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            with open("/proc/%d/status" % pid, encoding="utf-8") as status:
                total += sum(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except OSError:
            pass
    return total


def peak_tree_rss_mb(process):
    """Wait for a Popen process, sampling its tree's RSS every 0.2 s; return the peak in MiB."""
    peak = 0
    while process.poll() is None:
        peak = max(peak, tree_rss_kb(process.pid))
        time.sleep(MEMORY_SECONDS)
    return peak / 1024.0


# --- the variants --------------------------------------------------------------------------------


def hand_procedure(proxy_url, pinot, k8s):
    """The operators' procedure with requests, one table at a time, checking back every 10 s."""
    server = pinot.server_instance_id(REMOVED)
    session = requests.Session()

    def call(method, path, **kwargs):
        return session.request(method, proxy_url + path, timeout=60, **kwargs)

    call("PUT", "/instances/%s/updateTags" % server, params={"tags": "server_untagged"}).raise_for_status()
    for table in call("GET", "/tables").json()["tables"]:
        table_type = "REALTIME" if table == pinot_harness.REALTIME_TABLE else "OFFLINE"
        call("POST", "/tables/%s/rebalance" % table, params=dict(REBALANCE_PARAMS, type=table_type)).raise_for_status()
        while True:
            time.sleep(HAND_POLL_SECONDS)
            ideal = call("GET", "/tables/%s/idealstate" % table).json().get(table_type) or {}
            external = call("GET", "/tables/%s/externalview" % table).json().get(table_type) or {}
            if ideal == external and not any(server in replicas for replicas in ideal.values()):
                break
    for table in call("GET", "/tables").json()["tables"]:
        if server in json.dumps(call("GET", "/segments/%s/servers" % table).json()):
            raise RuntimeError("%s still has segments on %s" % (table, server))
    k8s.kubectl("-n", k8s.namespace, "scale", "statefulset/pinot-server", "--replicas=3", sa=True)
    while call("DELETE", "/instances/%s" % server).status_code != 200:
        time.sleep(HAND_POLL_SECONDS)
    return None


def role_run(parallelism, ansible, workdir):
    """A function running the role (with the given parallelism) against the proxy.

    It returns the peak RSS in MiB and keeps the playbook's output lines with the time each arrived
    (`lines`), so a task's start ("TASK [...]") can be matched with the controller calls made meanwhile.
    """
    lines = []

    def run(proxy_url, pinot, k8s):
        variables = role_vars(pinot, k8s, workdir, server_decommission_controller_url=proxy_url,
                              server_decommission_parallelism=parallelism)
        argv = [str(ansible.venv / "bin" / "ansible-playbook"), PLAYBOOK, "-e", json.dumps(variables)]
        process = subprocess.Popen(argv, env=ansible.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                   text=True)
        reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), line) for line in process.stdout))
        reader.start()
        peak = peak_tree_rss_mb(process)
        reader.join(30)
        if process.returncode != 0:
            raise RuntimeError("the role failed (rc %d):\n%s" % (process.returncode, "".join(line for _at, line in lines[-80:])))
        shutil.copy(workdir / "report.json", workdir / ("report-p%d.json" % parallelism))
        return peak
    run.lines = lines
    return run


def task_profile(lines, log, began, ended, top=10):
    """[(seconds, controller calls, task name)] of the slowest playbook tasks, from the output's TASK lines."""
    starts = [(began, "(ansible-playbook start-up, before the first task)")] + [
        (at, line.strip().split("[", 1)[1].rsplit("]", 1)[0] if line.startswith("TASK [") else "(play recap and exit)")
        for at, line in lines if line.startswith(("TASK [", "PLAY RECAP"))]
    tasks = {}
    for (at, name), (until, _next) in zip(starts, starts[1:] + [(ended, None)]):
        seconds, calls = tasks.get(name, (0.0, 0))
        tasks[name] = (seconds + until - at, calls + sum(1 for when, *_request in log if at <= when < until))
    ranked = sorted(((round(seconds, 1), calls, name) for name, (seconds, calls) in tasks.items()), reverse=True)
    rest = ranked[top:]
    return ranked[:top] + [(round(sum(task[0] for task in rest), 1), sum(task[1] for task in rest),
                            "(the other %d tasks together)" % len(rest))]


def union_seconds(intervals):
    """Length of the union of (start, end) intervals."""
    total, reach = 0.0, None
    for start, end in sorted(intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def is_wait_read(method, path):
    """A read a rebalance wait loop repeats: ideal state, external view, rebalance status or jobs."""
    return method == "GET" and (path.endswith(("/idealstate", "/externalview", "/jobs"))
                                or path.startswith("/rebalanceStatus/"))


def split_polls(log, started):
    """(polls, other calls, other calls about one table) of a proxy log, by the poll rule of DEFINITIONS; plus
    {table: [external view poll times]}."""
    last_post = max(started.values()) if started else float("inf")
    wait_end = next((at for at, method, path, query in log if at > last_post
                     and not is_wait_read(method, path) and not rebalance_post(method, path, query)), float("inf"))
    polls, others, table_calls, view_polls = 0, 0, 0, {}
    for at, method, path, _query in log:
        table = table_of(path)
        if is_wait_read(method, path) and table in started and started[table] < at < wait_end:
            polls += 1
            if path.endswith("/externalview"):
                view_polls.setdefault(table, []).append(at)
        else:
            others += 1
            table_calls += table is not None
    return polls, others, table_calls, view_polls


def poll_gaps(view_polls, started):
    """{table: [seconds from the rebalance POST to the first poll, then between successive polls]}."""
    return dict((table, [round(later - earlier, 1) for earlier, later in zip([started[table]] + times, times)])
                for table, times in view_polls.items())


def backs_off(gaps):
    """True when every table's poll gaps never shrink and some table's grow; None without two gaps anywhere."""
    waits = [table_gaps[1:] for table_gaps in gaps.values() if len(table_gaps) > 2]
    if not waits:
        return None
    return all(later >= earlier - 0.5 for table_gaps in waits for earlier, later in zip(table_gaps, table_gaps[1:])) \
        and any(table_gaps[-1] > table_gaps[0] + 0.5 for table_gaps in waits)


def run_variant(name, procedure, pinot, k8s):
    """Run one variant through a fresh proxy with the watcher on; return its figures."""
    server = pinot.server_instance_id(REMOVED)
    affected = tables_on(pinot, server)
    print("[bench-decom %s] %s: %d tables hold segments on pinot-server-3" % (time.strftime("%H:%M:%S"), name, len(affected)),
          file=sys.stderr, flush=True)
    with CountingProxy(pinot.controller_url) as proxy, Watcher(pinot, proxy, server) as watcher:
        began = time.monotonic()
        peak = procedure(proxy.url, pinot, k8s)
        ended = time.monotonic()
        profile = task_profile(procedure.lines, proxy.log, began, ended) if hasattr(procedure, "lines") else None
        time.sleep(2 * WATCH_SECONDS)  # the watcher's last look
    wall = ended - began
    pinot_s = union_seconds((at, watcher.converged.get(table, ended)) for table, at in watcher.started.items())
    polls, others, table_calls, view_polls = split_polls(proxy.log, watcher.started)
    gaps = poll_gaps(view_polls, watcher.started)
    result = {"variant": name, "tables": len(affected), "wall_s": wall, "pinot_s": pinot_s, "overhead_s": wall - pinot_s,
              "calls": others, "polls": polls, "calls_per_table": others / float(len(affected)),
              "table_calls_per_table": table_calls / float(len(affected)), "cluster_calls": others - table_calls,
              "polls_per_table": polls / float(len(affected)), "poll_gaps_s": gaps,
              "polls_back_off": backs_off(gaps), "peak_rss_mb": peak, "calls_by_template": dict(sorted(proxy.templates.items())),
              "rebalance_s": dict((table, round(watcher.converged.get(table, ended) - at, 1))
                                  for table, at in watcher.started.items()),
              "unconverged": sorted(set(watcher.started) - set(watcher.converged)), "task_profile": profile}
    print("[bench-decom %s] %s: wall %.1f s, Pinot %.1f s, %d calls + %d polls" % (
        time.strftime("%H:%M:%S"), name, wall, pinot_s, others, polls), file=sys.stderr, flush=True)
    return result


def verdicts(results, version):
    """Budget checks over one release's variants: [(measure, figure, budget, met)]."""
    by_name = dict((result["variant"], result) for result in results)
    checks = []
    for result in results:
        if not result["variant"].startswith("role"):
            continue
        allowed = max(OVERHEAD_SHARE * result["wall_s"], OVERHEAD_FLOOR_S)
        share = 100.0 * result["overhead_s"] / result["wall_s"]
        checks.append(("decommission on %s, %s: orchestration overhead" % (version, result["variant"]),
                       "%.1f s of %.1f s wall (%.0f%%)" % (result["overhead_s"], result["wall_s"], share),
                       "<= %.1f s (10%% of wall or 15 s)" % allowed, result["overhead_s"] <= allowed))
        figure = "%.1f + %.1f polls (%.1f about one table each, %d about the cluster); poll gaps %s" % (
            result["calls_per_table"], result["polls_per_table"], result["table_calls_per_table"], result["cluster_calls"],
            gaps_text(result))
        checks.append(("decommission on %s, %s: controller calls per affected table" % (version, result["variant"]), figure,
                       "<= %d + polls that back off" % CALLS_PER_TABLE,
                       result["calls_per_table"] <= CALLS_PER_TABLE and result["polls_back_off"] is not False))
    if "hand" in by_name and "role p4" in by_name:
        ratio = by_name["role p4"]["wall_s"] / by_name["hand"]["wall_s"]
        checks.append(("decommission on %s, wall: role p4 / hand procedure" % version, "x%.2f (%.1f s / %.1f s)" % (
            ratio, by_name["role p4"]["wall_s"], by_name["hand"]["wall_s"]), "<= x%.2f" % PARALLEL_RATIO,
            ratio <= PARALLEL_RATIO))
    return checks


def gaps_text(result):
    """The poll gaps of the table polled most, e.g. `events: 0.0, 2.0, 3.0 s, backs off`."""
    if not result["poll_gaps_s"]:
        return "none"
    table_name, gaps = max(result["poll_gaps_s"].items(), key=lambda item: (len(item[1]), item[0] == pinot_harness.REALTIME_TABLE))
    verdict = {True: ", backs off", False: ", does not back off", None: ""}[result["polls_back_off"]]
    return "%s: %s s%s" % (table_name, ", ".join("%.1f" % gap for gap in gaps), verdict)


def table(runs):
    """Markdown table of the variants' figures, release by release (runs: what measure returned for each)."""
    rows = ["| Pinot | Variant | Tables | Wall | Pinot time | Overhead | Calls per table (+ polls) | Poll gaps | Peak RSS (ansible-playbook tree) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run, result in ((run, result) for run in runs for result in run["results"]):
        rows.append("| %s | %s | %d | %.1f s | %.1f s | %.1f s (%.0f%%) | %.1f (+ %.1f) | %s | %s |" % (
            run["version"], result["variant"], result["tables"], result["wall_s"], result["pinot_s"], result["overhead_s"],
            100.0 * result["overhead_s"] / result["wall_s"], result["calls_per_table"], result["polls_per_table"],
            gaps_text(result), "%.0f MiB" % result["peak_rss_mb"] if result["peak_rss_mb"] else "n/a (no playbook)"))
    return "\n".join(rows)


def ansible_runner(tree):
    """An Ansible runner on tree (a collection tree with pinotops.pinot) with kubernetes.core added."""
    paths = _bootstrap()
    target = Path(tree) / "ansible_collections" / "kubernetes"
    if not target.exists():
        shutil.copytree(Path(paths["COLLECTIONS"]) / "ansible_collections" / "kubernetes", target)
    return Ansible(Path(tree), Path(paths["VENV"]))


def measure(tree, version, segments=SEGMENTS, reuse=False, keep=False):
    """The whole benchmark on one release: clusters up, tables, the three variants with restores between."""
    ansible = ansible_runner(tree)
    started = time.monotonic()
    try:
        pinot, k8s = start_clusters(reuse, version)
        add_offline_tables(pinot, segments)
        with tempfile.TemporaryDirectory(prefix="bench-decom-") as workdir:
            variants = [("hand", hand_procedure), ("role p1", role_run(1, ansible, Path(workdir))),
                        ("role p4", role_run(4, ansible, Path(workdir)))]
            results = []
            for name, procedure in variants:
                if len(tables_on(pinot, pinot.server_instance_id(REMOVED))) < len(typed_tables()):
                    bring_back(pinot, k8s)
                results.append(run_variant(name, procedure, pinot, k8s))
            for result in results[1:]:
                report = Path(workdir) / ("report-p%s.json" % result["variant"][-1])
                result["role_timeline"] = json.loads(report.read_text(encoding="utf-8"))["timeline"]
    finally:
        if not keep:
            stop_clusters(version)
    minutes = (time.monotonic() - started) / 60.0
    print("[bench-decom] whole benchmark on Pinot %s: %.1f min" % (version, minutes), file=sys.stderr)
    return {"version": version, "results": results, "checks": verdicts(results, version), "minutes": minutes,
            "segments": segments}


def compare(runs):
    """Side by side, the same run: how the releases' role waits differ ([(measure, figure, budget, met)], no budget)."""
    by_release = dict((run["version"], dict((result["variant"], result) for result in run["results"])) for run in runs)
    if len(by_release) < 2:
        return []
    (new, newer), (old, older) = list(by_release.items())[:2]
    checks = []
    for variant in ("role p1", "role p4"):
        if variant in newer and variant in older:
            checks.append(("decommission %s, Pinot %s vs %s: polls per table, wall" % (variant, new, old),
                           "%.1f vs %.1f polls (x%.2f), %.1f s vs %.1f s (x%.2f)" % (
                               newer[variant]["polls_per_table"], older[variant]["polls_per_table"],
                               newer[variant]["polls_per_table"] / max(older[variant]["polls_per_table"], 0.1),
                               newer[variant]["wall_s"], older[variant]["wall_s"],
                               newer[variant]["wall_s"] / older[variant]["wall_s"]), "", True))
    return checks


def measure_all(tree, versions=VERSIONS, segments=SEGMENTS, reuse=False, keep=False):
    """The benchmark on each release in turn, and the comparison: {"runs": [...], "checks": [...]}."""
    runs = [measure(tree, version, segments, reuse, keep) for version in versions]
    return {"runs": runs, "checks": [check for run in runs for check in run["checks"]] + compare(runs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=SEGMENTS, help="segments of each extra offline table")
    parser.add_argument("--reuse", action="store_true", help="use the clusters already running in the work directories")
    parser.add_argument("--keep", action="store_true", help="leave the clusters running at the end")
    parser.add_argument("--pinot-version", action="append", dest="versions",
                        help="a Pinot release to run on (repeat for several; default: %s)" % " and ".join(VERSIONS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as tree:
        subprocess.run(["bash", str(ROOT / "tests" / "tooling" / "collection_tree.sh"), tree], check=True, capture_output=True)
        figures = measure_all(tree, tuple(args.versions or VERSIONS), args.segments, args.reuse, args.keep)
    print(json.dumps(figures, indent=1, default=str))
    print(table(figures["runs"]))
    for measure_name, figure, budget, met in figures["checks"]:
        print("%s: %s (budget %s): %s" % (measure_name, figure, budget, "met" if met else "MISSED"))
    return 0 if all(check[3] for check in figures["checks"]) else 1


if __name__ == "__main__":
    sys.exit(main())
