"""Record what a live Pinot controller answers to the requests the modules make: status and JSON shape.

    python tests/harness/record_transcripts.py --state RUN_DIR/state.json [--out tests/unit/transcripts]

Attaches to a running harness cluster (pinot_cluster.py up, any version, 4 servers, its two tables),
drives plugins/module_utils/client.py's methods (so the requests are exactly the modules') and writes
tests/unit/transcripts/pinot-<version>.json: per request the method, path, query, body, status and the
shape of the answer (tests/unit/transcript_shape.py). tests/unit/test_fake_follows_live.py replays each
request against tests/unit/fake_controller.py and compares.

Only harmless requests: reads, validations, dry runs, writes that change nothing (the same tags, enable
an enabled server, cancel with no job) or that undo themselves (an instance created, then dropped).
Ids that differ per cluster are written as placeholders: {controller}, {broker}, {job}.
"""

import argparse
import importlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pinot_cluster
from collection_import import REPO_ROOT as ROOT
from collection_import import module_utils

# the client as the modules import it (module_utils import one another by the collection's name)
pinot_client = module_utils("client")
PinotError = module_utils("errors").PinotError
shape_of = importlib.import_module("ansible_collections.pinotops.pinot.tests.unit.transcript_shape").response_shape

S3 = "Server_pinot-server-3.pinot-server-headless.pinot-quickstart.svc.cluster.local_8098"
TAGS = ["DefaultTenant_OFFLINE", "DefaultTenant_REALTIME"]
PROBE_INSTANCE = {"host": "pinotops-probe", "port": 1234, "type": "SERVER", "tags": []}
ZERO_JOB = "00000000-0000-0000-0000-000000000000"


def calls(ids):
    """(label, function of the client) for every request kind the modules make; ids: controller, broker, job."""
    return [
        ("API listing", lambda c: c.api_listing()),  # cancel, query routing states, periodic task POST read it
        ("probe drop validation", lambda c: c.has_drop_validation()),
        ("probe tag validation", lambda c: c.has_tag_validation()),
        ("probe rebalance status", lambda c: c.has_rebalance_status()),
        ("probe live instances", lambda c: c.has_live_instances()),
        ("list instances", lambda c: c.list_instances()),
        ("get server", lambda c: c.get_instance(S3)),
        ("get unknown instance", lambda c: c.get_instance("Server_pinotops-unknown_8098")),
        ("live instances", lambda c: c.live_instances()),
        ("validate unchanged tags", lambda c: c.validate_tag_update({S3: TAGS})),
        ("validate untag", lambda c: c.validate_tag_update({S3: []})),
        ("validate unknown tag", lambda c: c.validate_tag_update({S3: ["pinotops-bogus"]})),
        ("validate drop of a live server", lambda c: c.validate_drop([S3])),
        ("same tags", lambda c: c.update_instance_tags(S3, TAGS)),
        ("enable an enabled server", lambda c: c.set_instance_state(S3, "enable")),
        ("drop a live server", lambda c: c.drop_instance(S3)),
        ("drop an unknown instance", lambda c: c.drop_instance("Server_pinotops-unknown_8098")),
        ("create an instance", lambda c: c.create_instance(PROBE_INSTANCE)),
        ("create it again", lambda c: c.create_instance(PROBE_INSTANCE)),
        ("drop the created instance", lambda c: c.drop_instance("Server_pinotops-probe_1234")),
        ("list tables", lambda c: c.list_tables()),
        ("list OFFLINE tables", lambda c: c.list_tables("OFFLINE")),
        ("list REALTIME tables", lambda c: c.list_tables("REALTIME")),
        ("table config", lambda c: c.get_table_config("eventsOffline")),
        ("unknown table config", lambda c: c.get_table_config("pinotops_nosuch")),
        ("ideal state", lambda c: c.ideal_state("eventsOffline", "OFFLINE")),
        ("external view REALTIME", lambda c: c.external_view("events", "REALTIME")),
        ("external view untyped", lambda c: c.external_view("eventsOffline")),
        ("tenant tables", lambda c: c.tenant_tables("DefaultTenant")),
        ("rebalance dry run", lambda c: c.rebalance("eventsOffline", "OFFLINE", {"dryRun": "true"})),
        ("rebalance dry run with pre-checks",
         lambda c: c.rebalance("eventsOffline", "OFFLINE", {"dryRun": "true", "preChecks": "true"})),
        ("rebalance a balanced table", lambda c: c.rebalance("eventsOffline", "OFFLINE", {})),
        ("rebalance status of that job", lambda c: c.rebalance_status(ids.get("job") or ZERO_JOB)),
        ("rebalance status of an unknown job", lambda c: c.rebalance_status(ZERO_JOB)),
        ("rebalance an unknown table", lambda c: c.rebalance("pinotops_nosuch", "OFFLINE", {"dryRun": "true"})),
        ("table jobs", lambda c: c.table_jobs("eventsOffline", "OFFLINE")),
        ("cancel with no job", lambda c: c.cancel_rebalance("eventsOffline", "OFFLINE")),
        ("reset an unknown segment", lambda c: c.reset_segment("eventsOffline", "OFFLINE", "pinotops_nosuch", S3)),
        ("periodic task names", lambda c: c.periodic_task_names()),
        ("run a periodic task", lambda c: c.run_periodic_task("RetentionManager")),
        ("run a periodic task on a table", lambda c: c.run_periodic_task("RetentionManager", "eventsOffline", "OFFLINE")),
        ("run a periodic task with properties", lambda c: c.run_periodic_task("RetentionManager", properties={"k": "v"})),
        ("run an unknown periodic task", lambda c: c.run_periodic_task("pinotops_nosuch")),
    ]


def placeholders(text, ids):
    """Replace the per-cluster ids in text by {controller}, {broker}, {job}."""
    for key, value in ids.items():
        if value:
            text = text.replace(value, "{%s}" % key)
    return text


def record(cluster):
    """Run every call against the cluster; return the transcript entries."""
    users = cluster.state.get("users") or {}
    client = pinot_client.PinotClient(cluster.controller_url, username="admin" if users else None,
                                      password=users.get("admin"), retries=0)
    live = cluster.live_instances()
    ids = {"controller": next(i for i in live if i.startswith("Controller_")),
           "broker": next(i for i in live if i.startswith("Broker_")), "job": None}
    entries = []
    current = {}
    send = client.session.request

    def recording(method, url, **kwargs):
        response = send(method, url, **kwargs)
        answer = shape_of(response.text)
        if urlsplit(url).path == "/swagger.json" and isinstance(answer, dict) and "paths" in answer:
            # the listing is the whole API: keep what the client reads (paths, not their shapes) and the version
            answer = dict((key, answer[key]) for key in ("swagger", "basePath") if key in answer)
            answer["paths"] = {}
        if isinstance(answer, dict) and "jobId" in answer and method == "POST":
            ids["job"] = response.json()["jobId"]  # a later call asks for this job's status
        parts = urlsplit(response.request.url)
        entries.append({
            "call": current["label"], "method": method, "path": placeholders(parts.path, ids),
            "query": placeholders(parts.query, ids),
            "body": kwargs.get("json") if "json" in kwargs else kwargs.get("data"),
            "status": response.status_code, "shape": answer,
        })
        return response

    client.session.request = recording
    for label, call in calls(ids):
        current["label"] = label
        try:
            call(client)
        except PinotError:
            pass  # the answer is recorded all the same
    return entries


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", type=Path, required=True, help="state.json of a running harness cluster")
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "unit" / "transcripts")
    args = parser.parse_args(argv)
    cluster = pinot_cluster.load(args.state)
    entries = record(cluster)
    version = cluster.state["version"]
    server_version = cluster.state.get("server_version", version)
    name = f"pinot-{version}" + (f"-servers-{server_version}" if server_version != version else "")
    args.out.mkdir(parents=True, exist_ok=True)
    document = {"version": version, "server_version": server_version, "requests": entries}
    (args.out / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(entries)} requests recorded in {args.out / (name + '.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
