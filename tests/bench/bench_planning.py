"""Planning logic at scale: the collection's pure functions over a synthetic Pinot-shaped cluster.

2,000 tables (half realtime with LLC segment names, half offline), 500,000 segments, replication 2 or 3,
40 servers in 4 tenants, removing the two highest ordinals (a StatefulSet going from 40 to 38 replicas).
Every view goes through json.loads, as the module gets it from the controller, so the memory is realistic.

Each phase runs in its own process (`--phase NAME`) holding only what the module that runs it holds,
so the peak resident size (ru_maxrss) is that phase's: interpreter + input data + work.
plan_removal holds every table's ideal state at once, as pinot_decommission_plan_info does. The other phases
go table by table, as their modules do, timing the calls alone: view_summary and table_assignment model
pinot_segment_assignment_info without `table` (read one table, summarise it, keep the summary, drop the views),
convergence and plan_moves the rebalance wait loop (nothing kept but a small progress summary).
Usage: python bench_planning.py --tree DIR [--phase NAME] [--profile]
DIR contains ansible_collections/pinotops/pinot (tests/tooling/collection_tree.sh DIR makes one).
"""

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import subprocess
import sys
import time

SERVERS = 40
TENANTS = 4
TABLES = 2000
SEGMENTS = 500000
REMOVING = 2
TIME_BUDGET_S = 10.0
MEMORY_BUDGET_MB = 500.0
PHASES = ("plan_removal", "view_summary", "table_assignment", "convergence", "plan_moves")


def server_id(index):
    """The Helm chart's server id for pod pinot-server-<index>."""
    return "Server_pinot-server-%d.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098" % index


def segment_names(table, realtime, count, partitions):
    """[(segment name, last segment of its partition)] in Pinot's naming for the table type."""
    raw = table.rsplit("_", 1)[0]
    names = []
    for index in range(count):
        if realtime:  # LLC: <raw>__<partition>__<sequence>__<creation time>
            names.append(("%s__%d__%d__20261122T0439Z" % (raw, index % partitions, index // partitions), index + partitions >= count))
        else:  # uploaded offline segment: <raw>_<min time>_<max time>_<sequence>
            start = 1700000000000 + index * 3600000
            names.append(("%s_%d_%d_%d" % (raw, start, start + 3599999, index), False))
    return names


def replacement(pool, replicas, removing, index):
    """A server of the pool that takes over a removed server's replica (what a rebalance would pick)."""
    for offset in range(len(pool)):
        candidate = pool[(index + offset) % len(pool)]
        if candidate not in replicas and candidate not in removing:
            return candidate
    raise ValueError("no server left in the pool")


def via_json(view):
    """The view as the client gets it: parsed from the controller's JSON reply."""
    return json.loads(json.dumps(view))


def synthetic_cluster(seed=7, views=("ideal_state",)):
    """(server_tags, removing, live, iterator of (typed table, {"config", "replication", and the asked views})).

    The tables are made one at a time as the iterator is consumed, so a phase that works table by table holds one.

    views: which of ideal_state, external_view, target to build (a phase holds only what its module holds).
    The external view equals the ideal state except that every 100th table has one replica in ERROR and one OFFLINE.
    The target moves every replica of a removed server to another server of the table's tenant.
    """
    rng = random.Random(seed)
    servers = [server_id(index) for index in range(SERVERS)]
    per_tenant = SERVERS // TENANTS
    server_tags = dict((name, ["tenant%d_OFFLINE" % (index // per_tenant), "tenant%d_REALTIME" % (index // per_tenant)])
                       for index, name in enumerate(servers))
    removing = servers[-REMOVING:]
    return server_tags, removing, set(servers), synthetic_tables(rng, servers, removing, views)


def synthetic_tables(rng, servers, removing, views):
    """Yield (typed table, entry) for every table of the synthetic cluster."""
    per_tenant = SERVERS // TENANTS
    per_table = SEGMENTS // TABLES
    for number in range(TABLES):
        realtime = number % 2 == 0
        table = "table%04d_%s" % (number, "REALTIME" if realtime else "OFFLINE")
        tenant = rng.randrange(TENANTS)
        replication = rng.choice((2, 3))
        partitions = rng.choice((4, 8, 16))
        pool = servers[tenant * per_tenant:(tenant + 1) * per_tenant]
        shift = rng.randrange(per_tenant)
        segments_config = {"replication": str(replication), "timeColumnName": "ts"}
        if realtime:
            segments_config["replicasPerPartition"] = str(replication)
        config = {"tableName": table, "tableType": "REALTIME" if realtime else "OFFLINE", "segmentsConfig": segments_config,
                  "tenants": {"broker": "DefaultTenant", "server": "tenant%d" % tenant}}
        ideal, target = {}, {}
        for index, (segment, consuming) in enumerate(segment_names(table, realtime, per_table, partitions)):
            slot = (index % partitions) * replication if realtime else index
            replicas = [pool[(shift + slot + r) % per_tenant] for r in range(replication)]
            state = "CONSUMING" if consuming else "ONLINE"
            ideal[segment] = dict((name, state) for name in replicas)
            moved = [name if name not in removing else replacement(pool, replicas, removing, index) for name in replicas]
            target[segment] = dict((name, state) for name in moved)
        entry = {"config": via_json(config), "replication": replication}
        if "ideal_state" in views:
            entry["ideal_state"] = via_json(ideal)
        if "external_view" in views:
            external = via_json(ideal)
            if number % 100 == 0:
                first, second = sorted(external)[:2]
                external[first][sorted(external[first])[0]] = "ERROR"
                external[second][sorted(external[second])[0]] = "OFFLINE"
            entry["external_view"] = external
        if "target" in views:
            entry["target"] = via_json(target)
        yield table, entry


def import_module_utils(tree):
    """The collection's module_utils from a collection tree copy (DIR/ansible_collections/pinotops/pinot)."""
    sys.path.insert(0, tree)
    # pylint: disable=import-outside-toplevel,import-error
    from ansible_collections.pinotops.pinot.plugins.module_utils import assignment, plan, rebalance
    return assignment, plan, rebalance


# The views each phase's module reads, and the work; each returns a small summary to check the work was done.
# plan_removal holds every table at once, as pinot_decommission_plan_info does. The others work table by table, so
# only one table's views are held at a time and only the calls are timed: view_summary and table_assignment as
# pinot_segment_assignment_info (without `table`) does, keeping every table's result; convergence and plan_moves as
# the rebalance wait loop does.
ALL_AT_ONCE = ("plan_removal",)
VIEWS = {
    "plan_removal": ("ideal_state",),
    "view_summary": ("ideal_state",),
    "table_assignment": ("ideal_state", "external_view"),
    "convergence": ("ideal_state", "external_view", "target"),
    "plan_moves": ("ideal_state", "target"),
}


def per_table(function, tables, arguments):
    """[function(*arguments of each table)] and the seconds spent in the calls alone.

    arguments: keys of each table's entry (its views, "replication").
    """
    results, seconds = [], 0.0
    for _table, entry in tables:
        started = time.perf_counter()
        results.append(function(*[entry[argument] for argument in arguments]))
        seconds += time.perf_counter() - started
    return results, seconds


def run_phase(phase, modules, data):
    """Run one phase over every table; return (summary of its results, seconds spent in the functions)."""
    assignment, plan, rebalance = modules
    server_tags, removing, live, tables = data
    if phase not in ALL_AT_ONCE:
        return run_per_table(phase, assignment, rebalance, tables)
    started = time.perf_counter()
    summary = run_all_at_once(phase, plan, (server_tags, removing, live, tables))
    return summary, time.perf_counter() - started


def run_all_at_once(phase, plan, data):
    """The phases over a {table: entry} of every table at once (plan_removal)."""
    server_tags, removing, live, tables = data
    if phase == "plan_removal":  # pinot_decommission_plan_info: one call over the whole cluster
        result = plan.plan_removal(removing, server_tags, tables, live)
        return {"affected_tables": len(result["tables"]), "safe": result["safe"],
                "segments_on_removed": sum(sum(entry["segments_on_removed"].values()) for entry in result["tables"])}
    raise ValueError("unknown phase %s" % phase)


def run_per_table(phase, assignment, rebalance, tables):
    """The phases one table at a time: (summary, seconds in the calls)."""
    if phase == "view_summary":  # one view of pinot_segment_assignment_info's tables, every summary kept
        kept, seconds = per_table(assignment.view_summary, tables, VIEWS[phase])
        return {"segments": sum(view["segment_count"] for view in kept)}, seconds
    if phase == "table_assignment":  # pinot_segment_assignment_info without `table`: every table's result kept
        kept, seconds = per_table(assignment.table_assignment, tables, VIEWS[phase] + ("replication",))
        return {"segments": sum(view["ideal_state"]["segment_count"] for view in kept),
                "error_segments": sum(len(view["error_segments"]) for view in kept),
                "under_replicated": sum(len(view["under_replicated"]) for view in kept)}, seconds
    if phase == "convergence":  # the rebalance wait loop: one progress check per table
        progress, seconds = per_table(rebalance.convergence, tables, VIEWS[phase])
        return {"converged": sum(item["converged"] for item in progress),
                "remaining_replicas": sum(item["remaining_replicas"] for item in progress)}, seconds
    if phase == "plan_moves":  # check mode / the plan of every table's rebalance
        moves, seconds = per_table(rebalance.plan_moves, tables, VIEWS[phase])
        return {"segments_to_move": sum(item["segments_to_move"] for item in moves),
                "replicas_to_add": sum(item["replicas_to_add"] for item in moves)}, seconds
    raise ValueError("unknown phase %s" % phase)


def rss_mb():
    """Peak resident size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(phase, tree, profile):
    """One phase in this process: build its inputs, time the work, report as one JSON line on stdout."""
    modules = import_module_utils(tree)
    server_tags, removing, live, tables = synthetic_cluster(views=VIEWS[phase])
    if phase in ALL_AT_ONCE:
        tables = dict(tables)
        counted = [len(entry["ideal_state"]) for entry in tables.values()]
    else:  # count the segments of each table as it goes by, keeping nothing else
        counted = []
        tables = (counted.append(len(entry["ideal_state"])) or (table, entry) for table, entry in tables)
    data_rss = rss_mb()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    summary, seconds = run_phase(phase, modules, (server_tags, removing, live, tables))
    if profiler:
        profiler.disable()
    report = {"phase": phase, "seconds": round(seconds, 3), "data_rss_mb": round(data_rss, 1), "peak_rss_mb": round(rss_mb(), 1),
              "summary": summary, "tables": len(counted), "segments": sum(counted)}
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(8)
        report["profile"] = text.getvalue()
    print(json.dumps(report))


def run_all(tree, python=sys.executable, profile_misses=True):
    """Every phase in a fresh process; a phase that misses a budget is run again under cProfile."""
    results = []
    for phase in PHASES:
        out = subprocess.run([python, __file__, "--tree", tree, "--phase", phase], check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["ok"] = result["seconds"] < TIME_BUDGET_S and result["peak_rss_mb"] < MEMORY_BUDGET_MB
        if not result["ok"] and profile_misses:
            again = subprocess.run([python, __file__, "--tree", tree, "--phase", phase, "--profile"],
                                   check=True, capture_output=True, text=True)
            result["profile"] = json.loads(again.stdout.strip().splitlines()[-1])["profile"]
        print("planning %-16s %6.2f s  peak %6.1f MiB (before the work %6.1f MiB)  %s" % (
            phase, result["seconds"], result["peak_rss_mb"], result["data_rss_mb"], json.dumps(result["summary"])), file=sys.stderr)
        results.append(result)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True, help="directory containing ansible_collections/pinotops/pinot")
    parser.add_argument("--phase", choices=PHASES, help="run only this phase, in this process")
    parser.add_argument("--profile", action="store_true", help="with --phase: add cProfile's top functions to the report")
    args = parser.parse_args()
    if args.phase:
        worker(args.phase, args.tree, args.profile)
    else:
        print(json.dumps(run_all(args.tree), indent=1))


if __name__ == "__main__":
    main()
