#!/usr/bin/env bash
# Copy the collection (files git tracks, plus untracked ones it does not ignore)
# into DEST/ansible_collections/pinotops/pinot, where ansible-test and the
# unit tests expect it. Prints the path of the copy.
# Usage: tests/tooling/collection_tree.sh DEST
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$1/ansible_collections/pinotops/pinot"
rm -rf "$dest"
mkdir -p "$dest"
cd "$root"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | tar --null -T - -cf - | tar -xf - -C "$dest"
# ansible-test wants the copy to be a git work tree of its own to list files
( cd "$dest" && git init -q && git add -A >/dev/null 2>&1 || true )
echo "$dest"
