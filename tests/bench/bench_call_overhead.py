"""Per-call overhead: a 50-task playbook of pinotops.pinot.pinot_instance_info against one of ansible.builtin.uri.

Both GET the same running controller. Each round runs an empty playbook (ansible-playbook's own start-up),
the pinot playbook and the uri playbook, in an order that alternates between rounds, so the machine's noise
falls on both. Per round: the whole-playbook ratio, and the per-task ratio with the empty playbook's time
taken off both. Medians over the rounds. A counting proxy then shows how many HTTP requests one task of each makes.
Usage: python bench_call_overhead.py --tree DIR --controller-url URL [--rounds N] [--tasks N]
"""

import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

TASKS = 50
ROUNDS = 3
RATIO_BUDGET = 1.2


def playbook(kind, tasks, controller_url):
    """YAML text of a playbook of `tasks` identical tasks of `kind` (pinot, uri or empty)."""
    lines = ["- name: Per-call overhead, %s" % kind, "  hosts: localhost", "  gather_facts: false", "  tasks:"]
    if kind == "empty":
        return "\n".join(lines) + " []\n"
    for number in range(tasks):
        lines.append("    - name: Call %d" % number)
        if kind == "pinot":
            lines += ["      pinotops.pinot.pinot_instance_info:", "        controller_url: %s" % controller_url]
        else:
            lines += ["      ansible.builtin.uri:", "        url: %s/instances" % controller_url, "        return_content: true"]
    return "\n".join(lines) + "\n"


def ansible_env(tree):
    """Environment for ansible-playbook: the collection from the tree copy, no warnings about the implicit localhost."""
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=tree, ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    return env


def run_playbook(path, env):
    """Wall seconds of one ansible-playbook run; fails loudly when the playbook fails."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), str(path)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError("%s failed:\n%s\n%s" % (path, done.stdout[-3000:], done.stderr[-3000:]))
    return seconds


def path_template(path):
    """A request path with its names taken out: /tables/bench_1/rebalance -> /tables/{name}/rebalance.

    Whatever follows a collection word (tables, instances, segments, schemas, ...) is a name, so calls
    for different tables or servers count under one template.
    """
    parts = path.split("?", 1)[0].strip("/").split("/")
    collections = ("tables", "table", "instances", "segments", "schemas", "rebalanceStatus", "tenants")
    named = [part if index == 0 or parts[index - 1] not in collections else "{name}" for index, part in enumerate(parts)]
    return "/" + "/".join(named)


class CountingProxy:
    """An HTTP proxy on loopback that forwards requests (any method, with their bodies) to the controller.

    `counts` counts them by path, `templates` by "METHOD /path/{name}/template", and `log` keeps
    (monotonic time, method, path, query) of every request in arrival order.
    """

    def __init__(self, target):
        self.counts = {}
        self.templates = {}
        self.log = []
        lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            """Forward one request, count it."""

            def forward(self):
                """Send the request on to the controller and its reply back, recording it first."""
                path, _sep, query = self.path.partition("?")
                with lock:
                    proxy.counts[path] = proxy.counts.get(path, 0) + 1
                    template = "%s %s" % (self.command, path_template(path))
                    proxy.templates[template] = proxy.templates.get(template, 0) + 1
                    proxy.log.append((time.monotonic(), self.command, path, query))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = dict((key, value) for key, value in self.headers.items()
                               if key.lower() in ("content-type", "authorization", "accept"))
                request = urllib.request.Request(target + self.path, data=body, headers=headers, method=self.command)
                try:
                    with urllib.request.urlopen(request, timeout=60) as reply:
                        status, content, kind = reply.status, reply.read(), reply.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as error:
                    status, content, kind = error.code, error.read(), error.headers.get("Content-Type", "application/json")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_DELETE = forward  # the method names http.server looks up

            def log_message(self, *args):  # pylint: disable=arguments-differ
                """Quiet."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def requests_per_task(tree, controller_url, workdir):
    """{kind: {path: count}} of the HTTP requests one task of each kind makes."""
    found = {}
    for kind in ("pinot", "uri"):
        with CountingProxy(controller_url) as proxy:
            path = Path(workdir) / ("count-%s.yml" % kind)
            path.write_text(playbook(kind, 1, proxy.url), encoding="utf-8")
            run_playbook(path, ansible_env(tree))
            found[kind] = dict(sorted(proxy.counts.items()))
    return found


def measure(tree, controller_url, rounds=ROUNDS, tasks=TASKS):
    """Paired rounds; returns the per-round times, the medians and the ratios."""
    env = ansible_env(tree)
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as workdir:
        paths = {}
        for kind in ("empty", "pinot", "uri"):
            paths[kind] = Path(workdir) / ("%s.yml" % kind)
            paths[kind].write_text(playbook(kind, tasks, controller_url), encoding="utf-8")
        run_playbook(paths["pinot"], env)  # warm the page cache and the controller once, not timed
        per_round = []
        for number in range(rounds):
            order = ("empty", "pinot", "uri") if number % 2 == 0 else ("empty", "uri", "pinot")
            times = dict((kind, run_playbook(paths[kind], env)) for kind in order)
            times["playbook_ratio"] = times["pinot"] / times["uri"]
            times["per_task_pinot_ms"] = 1000.0 * (times["pinot"] - times["empty"]) / tasks
            times["per_task_uri_ms"] = 1000.0 * (times["uri"] - times["empty"]) / tasks
            times["per_task_ratio"] = times["per_task_pinot_ms"] / times["per_task_uri_ms"]
            print("overhead round %d: empty %.2f s, pinot %.2f s, uri %.2f s, per task %.0f ms vs %.0f ms (x%.2f)" % (
                number + 1, times["empty"], times["pinot"], times["uri"], times["per_task_pinot_ms"],
                times["per_task_uri_ms"], times["per_task_ratio"]), file=sys.stderr)
            per_round.append(times)
        requests = requests_per_task(tree, controller_url, workdir)
    median = dict((key, statistics.median(item[key] for item in per_round)) for key in per_round[0])
    return {"tasks": tasks, "rounds": per_round, "median": median, "requests_per_task": requests,
            "ok": median["per_task_ratio"] <= RATIO_BUDGET}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True, help="directory containing ansible_collections/pinotops/pinot")
    parser.add_argument("--controller-url", required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--tasks", type=int, default=TASKS)
    args = parser.parse_args()
    print(json.dumps(measure(args.tree, args.controller_url, args.rounds, args.tasks), indent=1))


if __name__ == "__main__":
    main()
