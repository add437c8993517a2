"""pytest fixtures for the local Kubernetes control plane (tests/harness/k8s_cluster.py)."""

import os

import pytest

import k8s_cluster as k8s_harness


@pytest.fixture(scope="session")
def k8s_cluster(request):
    """A running control plane with the pinot-server StatefulSet (4 ready pods).

    Attaches to the one named by $PINOTOPS_K8S_STATE (and leaves it running); otherwise starts one
    for the session and stops it at the end. When the first test using it also asks for
    ``pinot_cluster``, the node agent backs the pods with that Pinot cluster's servers; a later
    test can link it with ``k8s_cluster.link_pinot(pinot_cluster.state_path)``.
    """
    state = os.environ.get("PINOTOPS_K8S_STATE")
    if state:
        yield k8s_harness.load(state)
        return
    pinot_state = None
    if "pinot_cluster" in request.fixturenames:
        pinot_state = request.getfixturevalue("pinot_cluster").state_path
    cluster = k8s_harness.up(pinot_state=pinot_state)  # work directory: $PINOTOPS_K8S_RUN_DIR or the default
    try:
        yield cluster
    finally:
        cluster.down()
