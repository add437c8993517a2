"""The whole performance benchmark (issue 7): planning at scale, per-call overhead, then a decommission on a real cluster.

Starts its own small Pinot cluster (the harness's default release, 2 servers, no generator) in
~/.cache/pinotops/run/bench unless --controller-url names one, stops it, then runs bench_decommission on each release
of bench_decommission.VERSIONS in turn (its own 4-server Pinot cluster and Kubernetes API in
~/.cache/pinotops/run/bench-decom-<version>*, stopped at the end) unless --skip-decommission.
Prints the tables of figures, writes them to docs/performance.md (keeping the hand-written notes at its
end) and exits non-zero when a budget is missed. Run with the bootstrap virtualenv's python:
    eval "$(tests/tooling/bootstrap.sh 2.19)" && $VENV/bin/python tests/bench/run_bench.py
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import bench_call_overhead
import bench_decommission
import bench_planning

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "tests" / "harness" / "pinot_cluster.py"
DOC = ROOT / "docs" / "performance.md"
COMMAND = "$VENV/bin/python tests/bench/run_bench.py"
OVERHEAD_VERSION = bench_decommission.VERSIONS[0]
HAND_NOTES = "## What limits the missed budgets"  # the first hand-written section; it and what follows are kept


def machine():
    """nproc, memory and CPU model, for the document."""
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        load = loadavg.read().split()[0]
    return "%d CPUs (nproc), %.1f GiB memory, %s, Python %s, load average at start %s" % (
        os.cpu_count(), total_kb / 1048576.0, platform.machine(), platform.python_version(), load)


def collection_tree(dest):
    """A copy of this checkout as DEST/ansible_collections/pinotops/pinot."""
    subprocess.run(["bash", str(ROOT / "tests" / "tooling" / "collection_tree.sh"), dest], check=True, capture_output=True)
    return dest


def cluster(*args):
    """Run the harness CLI on the benchmark's own work directory."""
    workdir = Path.home() / ".cache" / "pinotops" / "run" / "bench"
    return subprocess.run([sys.executable, str(CLUSTER), "--workdir", str(workdir)] + list(args), check=True,
                          capture_output=True, text=True)


def table(planning, overhead, decommission):
    """Markdown table of the figures, with the budget and the verdict of each."""
    rows = ["| Measure | Figure | Budget | Verdict |", "| --- | --- | --- | --- |"]
    for result in planning:
        rows.append("| planning `%s`, %d tables / %d segments | %.2f s, peak RSS %.0f MiB (before the work %.0f MiB) | < %.0f s, < %.0f MB | %s |" % (
            result["phase"], result["tables"], result["segments"], result["seconds"], result["peak_rss_mb"], result["data_rss_mb"],
            bench_planning.TIME_BUDGET_S, bench_planning.MEMORY_BUDGET_MB, "met" if result["ok"] else "MISSED"))
    if overhead:
        median = overhead["median"]
        rows.append("| %d-task playbook, median of %d paired rounds: empty / `pinot_instance_info` / `uri` | %.2f s / %.2f s / %.2f s "
                    "(whole-playbook ratio x%.2f) | | |" % (
                        overhead["tasks"], len(overhead["rounds"]), median["empty"], median["pinot"], median["uri"], median["playbook_ratio"]))
        rows.append("| per task (start-up taken off): `pinot_instance_info` vs `uri` GET /instances | %.0f ms vs %.0f ms, median ratio x%.2f "
                    "| <= x%.1f | %s |" % (
                        median["per_task_pinot_ms"], median["per_task_uri_ms"], median["per_task_ratio"],
                        bench_call_overhead.RATIO_BUDGET, "met" if overhead["ok"] else "MISSED"))
        rows.append("| HTTP requests per task | `pinot_instance_info` %d, `uri` %d | | |" % (
            sum(overhead["requests_per_task"]["pinot"].values()), sum(overhead["requests_per_task"]["uri"].values())))
    for measure, figure, budget, met in (decommission or {}).get("checks", []):
        rows.append("| %s | %s | %s | %s |" % (measure, figure, budget, ("met" if met else "MISSED") if budget else ""))
    return "\n".join(rows)


def decommission_section(decommission):
    """Markdown of the decommission benchmark: its table, how the figures are defined, where the role's time goes."""
    runs = decommission["runs"]
    releases = " and ".join("Pinot " + run["version"] for run in runs)
    parts = ["## Decommission of pinot-server-3: hand procedure and role, on %s" % releases, "",
             "10 tables (`events` realtime, `eventsOffline` with 4 segments, 8 offline tables of %d segments; "
             "replication 2) on 4 servers, one release after the other in the same run; the decommission benchmark "
             "took %s." % (runs[0]["segments"], ", ".join("%.1f min on %s" % (run["minutes"], run["version"]) for run in runs)), "",
             bench_decommission.table(runs), "", bench_decommission.DEFINITIONS]
    for run, result in ((run, result) for run in runs for result in run["results"]):
        if result.get("task_profile"):
            title = "### Where `%s` spends its time on Pinot %s (slowest tasks, seconds and controller calls)" % (
                result["variant"], run["version"])
            parts += [title, "", "| Seconds | Controller calls | Task |", "| --- | --- | --- |"]
            parts += ["| %.1f | %d | %s |" % tuple(task) for task in result["task_profile"]]
            parts.append("")
    return parts


def hand_notes():
    """The hand-written sections at the end of the current document (kept across regenerations)."""
    if not DOC.exists():
        return []
    text = DOC.read_text(encoding="utf-8")
    return [text[text.index(HAND_NOTES):].rstrip("\n"), ""] if HAND_NOTES in text else []


def document(text, planning, decommission, when, host):
    """docs/performance.md: the command, the machine, the date, the table and the profiles of missed budgets."""
    parts = ["# Performance", "",
             "Latest figures of the benchmark of issue 7 (`tests/bench/`), all from one run. Regenerate with:", "",
             "```bash", 'eval "$(tests/tooling/bootstrap.sh 2.19)"', COMMAND, "```", "",
             "- Date: %s" % when, "- Machine: %s" % host, "",
             "Planning runs each function over every table of a synthetic cluster (2,000 tables, half realtime with LLC "
             "segment names, half offline; 500,000 segments; replication 2-3; 40 servers in 4 tenants; removing 2 servers). "
             "Every view is parsed from JSON as the modules get it. Each phase runs in its own process. `plan_removal` "
             "holds every table's ideal state at once, as `pinot_decommission_plan_info` does, so its *before the work* "
             "is interpreter + input data; the other phases go table by table, holding one table's views at a time and "
             "timing the calls alone: `view_summary` and `table_assignment` as `pinot_segment_assignment_info` (without "
             "`table`) does, keeping every table's result, `convergence` and `plan_moves` as the rebalance wait loop "
             "does. The per-call overhead runs against a real Pinot %s controller on "
             "loopback (2 servers); *per task* takes the empty playbook's time (ansible-playbook start-up) off both." % OVERHEAD_VERSION, "", text, ""]
    if decommission:
        parts += decommission_section(decommission)
    for result in planning:
        if result.get("profile"):
            parts += ["## Profile of `%s` (cProfile, top functions by own time)" % result["phase"], "", "```",
                      result["profile"].strip(), "```", ""]
    parts += hand_notes()
    DOC.write_text("\n".join(parts), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--controller-url", help="use this running controller instead of starting a cluster")
    parser.add_argument("--rounds", type=int, default=bench_call_overhead.ROUNDS)
    parser.add_argument("--skip-overhead", action="store_true", help="no per-call overhead (its cluster is not started)")
    parser.add_argument("--skip-decommission", action="store_true", help="no decommission benchmark (its clusters are not started)")
    parser.add_argument("--segments", type=int, default=bench_decommission.SEGMENTS,
                        help="segments of each extra offline table of the decommission benchmark")
    args = parser.parse_args()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    with tempfile.TemporaryDirectory(prefix="bench-tree-") as tree:
        collection_tree(tree)
        planning = bench_planning.run_all(tree)
        overhead = None
        if not args.skip_overhead:
            url = args.controller_url
            if not url:
                cluster("up", "--version", OVERHEAD_VERSION, "--servers", "2", "--no-generator")
            try:
                if not url:
                    url = json.loads(cluster("status").stdout)["controller_url"]
                overhead = bench_call_overhead.measure(tree, url, rounds=args.rounds)
            finally:
                if not args.controller_url:
                    cluster("down")
        decommission = None if args.skip_decommission else bench_decommission.measure_all(tree, segments=args.segments)
    text = table(planning, overhead, decommission)
    print(text)
    if decommission:
        print(bench_decommission.table(decommission["runs"]))
    document(text, planning, decommission, when, host)
    print("written to %s" % DOC.relative_to(ROOT), file=sys.stderr)
    missed = [result for result in planning if not result["ok"]] + ([overhead] if overhead and not overhead["ok"] else [])
    missed += [check for check in (decommission or {}).get("checks", []) if not check[3]]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
