#!/usr/bin/env bash
# What the npm scripts run: `bash scripts/run-node.sh <file.ts> [args...]` runs a TypeScript entry
# point through tsx on a supported Node (provisioned when the machine's is older), after installing
# the locked dependencies on a fresh clone or when package-lock.json changed.
#
# npm itself may be running on an old Node; a child cannot change its parent's runtime, so this
# puts the right Node first on PATH and then execs it. Everything the program spawns through
# process.execPath, and any npm/npx run from here, uses the same Node.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

bin="$(bash "$root/scripts/provision/node.sh")"
export PATH="$bin:$PATH"

# npm ci writes node_modules/.package-lock.json; older than the lock means the lock has changed.
marker="$root/node_modules/.package-lock.json"
if [ ! -f "$marker" ] || [ "$marker" -ot "$root/package-lock.json" ]; then
  echo "run-node: installing dependencies..." >&2
  bash "$root/scripts/install-deps.sh"
fi

# exec, so signals (Ctrl-C, SIGTERM) reach the program itself.
exec node --import tsx "$@"
