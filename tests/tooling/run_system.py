"""The system stage of `make test`: tests against a real local Pinot cluster.

Starts one cluster (tests/harness/pinot_cluster.py) for the whole stage, runs
the ansible-test integration targets against it, then the pytest system tests
(tests/system) attached to the same cluster, and stops it, also on failure.
Logs stay in the work directory when anything failed, and the path is printed.

Environment (set by run_tests.sh): PINOTOPS_VENV, PINOTOPS_WORK. The Pinot release is --pinot-version
or $PINOTOPS_PINOT_VERSION (default: the harness's), the servers' --server-version or
$PINOTOPS_PINOT_SERVER_VERSION (default: the same).
"""

import argparse
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "harness" / "pinot_cluster.py"
K8S_HARNESS = ROOT / "tests" / "harness" / "k8s_cluster.py"
# pytest runs files in this order. The decommission scenario leaves 3 servers; the fault, bad-input and secrets
# suites start from that state and leave it as they found it.
SYSTEM_TESTS = ["tests/system/test_pinot_harness.py", "tests/system/test_k8s_harness.py",
                "tests/system/test_server_decommission.py", "tests/system/test_faults.py",
                "tests/system/test_bad_input.py", "tests/system/test_secrets.py"]


def run(cmd, env=None):
    """Run a command, streaming its output; return its exit code."""
    print("+ " + " ".join(shlex.quote(str(c)) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], env=env, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--junit-dir", required=True)
    parser.add_argument("--pinot-version", default=os.environ.get("PINOTOPS_PINOT_VERSION"))
    parser.add_argument("--server-version", default=os.environ.get("PINOTOPS_PINOT_SERVER_VERSION"))
    args = parser.parse_args()
    versions = []
    if args.pinot_version:
        versions += ["--version", args.pinot_version]
    if args.server_version:
        versions += ["--server-version", args.server_version]

    venv = pathlib.Path(os.environ["PINOTOPS_VENV"])
    work = pathlib.Path(os.environ["PINOTOPS_WORK"])
    python = venv / "bin" / "python"
    run_dir = work / "system-cluster"
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
            print("the Kubernetes binaries could not be built", flush=True)
            return 1
        if run(harness + ["up", "--integration-config", config] + versions, env=env) != 0:
            print("the Pinot cluster did not start; logs in %s" % run_dir, flush=True)
            return 1
        if run(k8s_harness + ["up", "--pinot-state", run_dir / "state.json"], env=env) != 0:
            print("the Kubernetes control plane did not start; logs in %s" % (run_dir / "k8s"), flush=True)
            return 1
        # The integration targets drive the harness (stop/start a server) through this command prefix.
        variables = json.loads(config.read_text(encoding="utf-8"))
        variables["pinot_harness_cli"] = " ".join(shlex.quote(str(c)) for c in harness)
        config.write_text(json.dumps(variables, indent=2) + "\n", encoding="utf-8")
        targets = sorted(p.name for p in (ROOT / "tests" / "integration" / "targets").iterdir() if p.is_dir())
        if targets:
            failures += run([ROOT / "tests" / "tooling" / "run_integration.sh"] + targets, env=env) != 0
        failures += run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                         "--junitxml=%s" % pathlib.Path(args.junit_dir, "system.xml")] + SYSTEM_TESTS, env=env) != 0
    finally:
        run(k8s_harness + ["down"], env=env)
        run(harness + ["down"], env=env)
    if failures:
        print("system tests failed; cluster logs kept in %s" % run_dir, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
