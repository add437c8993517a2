"""The system stage of `make test`: tests against a real local Pinot cluster.

Starts one cluster (tests/harness/pinot_cluster.py) for the whole stage, runs
the ansible-test integration targets against it, then the pytest system tests
(tests/system) attached to the same cluster, and stops it, also on failure.
Logs stay in the work directory when anything failed, and the path is printed.

Writes JUnit files for the summary: LABEL-integration.xml (one case per integration target) and
LABEL-pytest.xml (LABEL is --label, "system" unless told); what failed that is no test (the cluster did not start) goes, one a line, to --notes.

Environment (set by run_tests.sh): PINOTOPS_VENV, PINOTOPS_WORK. The Pinot release is --pinot-version
or $PINOTOPS_PINOT_VERSION (default: the harness's), the servers' --server-version or
$PINOTOPS_PINOT_SERVER_VERSION (default: the same).

With --down it only stops what an interrupted run left running in PINOTOPS_WORK (`make down` uses it).
"""

import argparse
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import time
from xml.sax.saxutils import quoteattr

ROOT = pathlib.Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "harness" / "pinot_cluster.py"
K8S_HARNESS = ROOT / "tests" / "harness" / "k8s_cluster.py"
# pytest runs files in this order. The decommission scenario leaves 3 servers; the fault, bad-input and secrets
# suites start from that state and leave it as they found it.
SYSTEM_TESTS = ["tests/system/test_pinot_harness.py", "tests/system/test_k8s_harness.py",
                "tests/system/test_decommission_plan.py", "tests/system/test_server_decommission.py", "tests/system/test_faults.py",
                "tests/system/test_bad_input.py", "tests/system/test_secrets.py"]


def run(cmd, env=None, capture=False):
    """Run a command, streaming its output; return its exit code (with capture: and its output)."""
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    if not capture:
        return subprocess.call([str(c) for c in cmd], env=env, cwd=ROOT)
    lines = []
    with subprocess.Popen([str(c) for c in cmd], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process:
        for line in process.stdout:
            print(line, end="", flush=True)
            lines.append(line)
    return process.returncode, "".join(lines)


def failed_targets(output, targets):
    """The targets ansible-test names after "The N integration test(s) listed below (out of M) failed...:"."""
    lines = output.splitlines()
    for at, line in enumerate(lines):
        if "integration test(s) listed below" in line:
            return [name.strip() for name in lines[at + 1:] if name.strip() in targets]
    return []


def first_failure(output, target):
    """'TASK [name] fatal: ...' of the first failure that was not ignored in a target's part of the output, or None."""
    lines = output.splitlines()
    start = [at for at, line in enumerate(lines) if line.startswith("Running %s integration test role" % target)]
    if not start:
        return None
    task = ""
    for at in range(start[-1] + 1, len(lines)):
        line = lines[at]
        if line.startswith("Running ") and line.endswith(" integration test role"):
            break
        if line.startswith("TASK ["):
            task = line.rstrip("* ")
        elif line.startswith(("fatal: ", "failed: ")) and not lines[at + 1:at + 2] == ["...ignoring"]:
            return "%s %s" % (task, line[:400])
    return None


def write_targets_junit(path, targets, failed, seconds):
    """One JUnit case per integration target (file = the target's path, which junit_summary.py prints)."""
    cases = []
    for target in targets:
        failure = '<failure message="failed: see the output of ansible-test integration"/>' if target in failed else ""
        cases.append('  <testcase classname="integration" name=%s file=%s>%s</testcase>' % (
            quoteattr(target), quoteattr("tests/integration/targets/" + target), failure))
    path.write_text('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n<testsuite name="integration" tests="%d" '
                    'failures="%d" errors="0" skipped="0" time="%d">\n%s\n</testsuite>\n</testsuites>\n' % (
                        len(targets), len([t for t in targets if t in failed]), seconds, "\n".join(cases)),
                    encoding="utf-8")


def stop_left_over(run_dir, python, env=None):
    """Stop the clusters a killed run left in run_dir: the control plane first (its node agent restarts Pinot
    servers), then the shared Pinot cluster and the ones pytest started in its base temp (test_bad_input's)."""
    if (run_dir / "k8s" / "state.json").exists():
        run([python, K8S_HARNESS, "--workdir", run_dir / "k8s", "down"], env=env)
    for state in sorted(run_dir.glob("pytest/*/state.json")) + [run_dir / "state.json"]:
        if state.exists() and not state.parent.is_symlink():  # pytest's <name>current links to a numbered dir
            run([python, HARNESS, "--workdir", state.parent, "down"], env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--junit-dir")
    parser.add_argument("--notes", help="file to append what failed that is no test to, one a line")
    parser.add_argument("--down", action="store_true", help="only stop what an interrupted run left running")
    parser.add_argument("--pinot-version", default=os.environ.get("PINOTOPS_PINOT_VERSION"))
    parser.add_argument("--server-version", default=os.environ.get("PINOTOPS_PINOT_SERVER_VERSION"))
    parser.add_argument("--label", default="system",
                        help="names the run dir (LABEL-cluster) and the JUnit files (LABEL-*.xml); one per release")
    parser.add_argument("--targets", default="all",
                        help="comma-separated integration targets to run, 'all' (default) or 'none'")
    parser.add_argument("--pytest", default=",".join(SYSTEM_TESTS),
                        help="comma-separated system test files to run, in order (default: all)")
    args = parser.parse_args()
    versions = []
    if args.pinot_version:
        versions += ["--version", args.pinot_version]
    if args.server_version:
        versions += ["--server-version", args.server_version]
    if not args.down and not args.junit_dir:
        parser.error("--junit-dir is required")
    targets = sorted(p.name for p in (ROOT / "tests" / "integration" / "targets").iterdir() if p.is_dir())
    if args.targets != "all":  # checked before any cluster starts
        unknown = set(args.targets.split(",")) - set(targets) - {"none"}
        if unknown:
            parser.error("no integration target named %s" % ", ".join(sorted(unknown)))
        targets = [target for target in targets if target in args.targets.split(",")]

    def note(text):
        print(text, flush=True)
        if args.notes:
            with open(args.notes, "a", encoding="utf-8") as notes:
                notes.write(text + "\n")

    venv = pathlib.Path(os.environ["PINOTOPS_VENV"])
    work = pathlib.Path(os.environ["PINOTOPS_WORK"])
    python = venv / "bin" / "python"
    if args.down:
        for left in sorted(work.glob("*-cluster")):
            stop_left_over(left, python)
        return 0
    run_dir = work / (args.label + "-cluster")
    stop_left_over(run_dir, python)
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    config = run_dir / "integration_config.yml"
    harness = [python, HARNESS, "--workdir", run_dir]
    k8s_harness = [python, K8S_HARNESS, "--workdir", run_dir / "k8s"]

    env = dict(os.environ)
    env["PINOTOPS_INTEGRATION_CONFIG"] = str(config)
    env["PINOTOPS_PINOT_STATE"] = str(run_dir / "state.json")
    env["PINOTOPS_K8S_STATE"] = str(run_dir / "k8s" / "state.json")
    # the tests read the release from here (tests/system/test_pinot_harness.py)
    env.update({key: value for key, value in (("PINOTOPS_PINOT_VERSION", args.pinot_version),
                                              ("PINOTOPS_PINOT_SERVER_VERSION", args.server_version)) if value})
    failures = 0
    try:
        # Build the Kubernetes binaries (when not cached) before the JVMs start competing for the CPU.
        if run(k8s_harness + ["build"], env=env) != 0:
            note("the Kubernetes binaries could not be built")
            return 1
        if run(harness + ["up", "--integration-config", config] + versions, env=env) != 0:
            note("the Pinot cluster did not start (logs in %s)" % run_dir)
            return 1
        if run(k8s_harness + ["up", "--pinot-state", run_dir / "state.json"], env=env) != 0:
            note("the Kubernetes control plane did not start (logs in %s)" % (run_dir / "k8s"))
            return 1
        # The integration targets drive the harness (stop/start a server) through this command prefix.
        variables = json.loads(config.read_text(encoding="utf-8"))
        variables["pinot_harness_cli"] = " ".join(shlex.quote(str(c)) for c in harness)
        config.write_text(json.dumps(variables, indent=2) + "\n", encoding="utf-8")
        if targets:
            # every target runs, also after one failed; the failed ones are named at the end (and in the summary)
            started = time.monotonic()
            code, output = run([ROOT / "tests" / "tooling" / "run_integration.sh", "--continue-on-error"] + targets,
                               env=env, capture=True)
            failed = failed_targets(output, targets)
            (run_dir / "integration.log").write_text(output, encoding="utf-8")
            for target in failed:
                first = first_failure(output, target) or "no failed task found"
                note("%s: %s (whole output: %s)" % (target, first, run_dir / "integration.log"))
            write_targets_junit(pathlib.Path(args.junit_dir, args.label + "-integration.xml"), targets, failed,
                                time.monotonic() - started)
            if code != 0 and not failed:
                note("ansible-test integration (exit code %d, no target named)" % code)
            failures += code != 0
        # -v: each test's id is printed as it starts, so a person sees which one is running; --durations: the slowest
        # --basetemp in the run dir: a cluster a test starts there (test_bad_input's) is found by `make down`
        code = run([python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--rootdir", ROOT, "--durations", "15",
                    "--basetemp", run_dir / "pytest",
                    "--junitxml=%s" % pathlib.Path(args.junit_dir, args.label + "-pytest.xml")] + args.pytest.split(","), env=env)
        if code not in (0, 1):  # 1: tests failed (named from the JUnit file); anything else: pytest itself
            note("pytest exited with %d (interrupted, or a usage or collection error)" % code)
        failures += code != 0
    finally:
        stop_left_over(run_dir, python, env=env)
    if failures:
        print("system tests failed; cluster logs kept in %s" % run_dir, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
