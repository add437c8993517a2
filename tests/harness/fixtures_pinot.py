"""pytest fixtures for a real local Pinot cluster (see pinot_cluster.py).

`pinot_cluster` (session scope): attaches to the cluster named by $PINOTOPS_PINOT_STATE (a state
file; that cluster is left running), or starts one in a fresh temporary work directory and stops
it at the end of the session, also when tests fail or the run is interrupted. The release started is
$PINOTOPS_PINOT_VERSION (default pinot_cluster.DEFAULT_VERSION), the servers' $PINOTOPS_PINOT_SERVER_VERSION
when it differs; 1.x takes the modules Maven lacks from $PINOTOPS_PINOT_EXTRA_JARS (see pinot_cluster.py). The work directory
(with one log per process in logs/) is kept when a test failed and named in every failure report.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import pinot_cluster as harness

__all__ = ["pinot_cluster", "pytest_runtest_makereport"]


@pytest.fixture(scope="session")
def pinot_cluster(request):
    """A running local Pinot cluster (pinot_cluster.PinotCluster)."""
    state = os.environ.get("PINOTOPS_PINOT_STATE")
    if state:
        cluster = harness.load(state)
        if not cluster.running("controller"):
            pytest.fail(f"PINOTOPS_PINOT_STATE={state} names a cluster whose controller is not running")
        yield cluster
        return
    workdir = Path(tempfile.mkdtemp(prefix="pinotops-pinot-"))
    try:
        cluster = harness.up(workdir, servers=int(os.environ.get("PINOTOPS_PINOT_SERVERS", harness.DEFAULT_SERVERS)),
                             version=os.environ.get("PINOTOPS_PINOT_VERSION") or harness.DEFAULT_VERSION,
                             server_version=os.environ.get("PINOTOPS_PINOT_SERVER_VERSION") or None)
    except harness.ClusterError as exc:
        pytest.fail(f"could not start the Pinot cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.down()
        leftover = harness.processes_tagged(cluster.workdir)
        assert not leftover, f"processes left behind after down(): {leftover}; logs in {cluster.log_dir}"
        if request.session.testsfailed:
            print(f"\nPinot cluster stopped; logs kept in {cluster.log_dir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # pylint: disable=unused-argument
    """Name the cluster's log folder in the report of a failed test that used the cluster."""
    outcome = yield
    report = outcome.get_result()
    cluster = getattr(item, "funcargs", {}).get("pinot_cluster")
    if report.failed and cluster is not None:
        report.sections.append(("Pinot cluster logs", str(cluster.log_dir)))
