#!/usr/bin/env bash
# Prepare everything the tests need that pip alone cannot: a virtualenv per
# ansible-core line (keyed by the hash of its pinned requirements), the
# kubernetes.core collection (Galaxy is not reachable: it comes from the
# `ansible` package on PyPI), and ansible-test's pip bootstrap stand-in
# (ansible-test cannot download get-pip here; see tests/tooling/get_pip.py).
#
# Usage: tests/tooling/bootstrap.sh [2.19|2.18]
# Prints shell assignments (VENV=..., COLLECTIONS=...) for `eval`.
set -euo pipefail

line=${1:-2.19}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${PINOTOPS_CACHE:-$HOME/.cache/pinotops}
req="$root/tests/requirements/dev-$line.txt"
[ -f "$req" ] || { echo "bootstrap: no requirements file $req" >&2; exit 2; }

python=${PINOTOPS_PYTHON:-python3}
key=$(cat "$req" | sha256sum | cut -c1-12)
venv="$cache/venv-$line-$key"
if [ ! -x "$venv/bin/ansible-test" ]; then
  echo "bootstrap: creating $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet -r "$req" >&2
fi

# kubernetes.core, pinned through the `ansible` community package version.
ansible_pkg=12.3.0
collections="$cache/collections-ansible-$ansible_pkg"
if [ ! -f "$collections/ansible_collections/kubernetes/core/MANIFEST.json" ]; then
  echo "bootstrap: extracting kubernetes.core from ansible==$ansible_pkg" >&2
  tmp=$(mktemp -d)
  "$venv/bin/pip" download --quiet --no-deps -d "$tmp" "ansible==$ansible_pkg" >&2
  mkdir -p "$collections.partial/ansible_collections/kubernetes"
  "$venv/bin/python" - "$tmp" "$collections.partial" <<'PY'
import pathlib, sys, zipfile
src, dest = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = next(src.glob("ansible-*.whl"))
prefix = "ansible_collections/kubernetes/core/"
with zipfile.ZipFile(wheel) as zf:
    for name in zf.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            zf.extract(name, dest)
PY
  rm -rf "$tmp" "$collections"
  mv "$collections.partial" "$collections"
fi

# ansible-test's get-pip stand-in, for every ansible-core version it may ask for.
mkdir -p "$HOME/.ansible/test/cache"
for v in 24_2 23_1 24_0 25_0 25_1; do
  cp "$here/get_pip.py" "$HOME/.ansible/test/cache/get_pip_$v.py"
done

echo "VENV=$venv"
echo "COLLECTIONS=$collections"
