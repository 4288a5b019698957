#!/usr/bin/env bash
# Installs schemathesis (PyPI) into a virtualenv cached outside the repo and prints the path of
# its `st` command. Idempotent.
set -euo pipefail
VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
VENV="$CACHE/schemathesis-$VERSION"
if [ -x "$VENV/bin/st" ]; then echo "$VENV/bin/st"; exit 0; fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "schemathesis: python3 is missing (Debian: apt-get install -y python3 python3-venv)" >&2
  exit 1
fi
echo "schemathesis: installing $VERSION from PyPI into $VENV..." >&2
rm -rf "$VENV.tmp"
if ! python3 -m venv "$VENV.tmp" >&2; then
  echo "schemathesis: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2
  exit 1
fi
"$VENV.tmp/bin/pip" install -q --disable-pip-version-check "schemathesis==$VERSION" >&2
mv "$VENV.tmp" "$VENV"
# The venv's scripts point at the .tmp path they were installed under: rewrite their shebangs.
sed -i "1s|$VENV.tmp|$VENV|" "$VENV"/bin/* 2>/dev/null || true
echo "$VENV/bin/st"
