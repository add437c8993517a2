"""pytest configuration for the system tests (real Pinot cluster, real Kubernetes API)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "harness"))

# The fixtures live beside the harnesses they drive.
from fixtures_pinot import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
from fixtures_k8s import *  # noqa: E402,F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
