"""Import this checkout's module_utils as Ansible does: as ansible_collections.pinotops.pinot.plugins.module_utils.

The module_utils import one another by that absolute name, so a harness script or a system test that drives the
client directly needs the checkout on sys.path under that name. A link in the cache, one per checkout, gives it.
"""

import hashlib
import importlib
import os
import sys
from pathlib import Path

from processes import cache_root

REPO_ROOT = Path(__file__).resolve().parents[2]


def module_utils(name):
    """The module plugins/module_utils/<name>.py of this checkout, imported under the collection's name."""
    key = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:12]
    top = cache_root() / "import" / key
    link = top / "ansible_collections" / "pinotops" / "pinot"
    if not link.is_symlink() or link.resolve() != REPO_ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name("pinot.%d" % os.getpid())
        tmp.symlink_to(REPO_ROOT)
        tmp.replace(link)
    if str(top) not in sys.path:
        sys.path.insert(0, str(top))
    return importlib.import_module("ansible_collections.pinotops.pinot.plugins.module_utils." + name)
