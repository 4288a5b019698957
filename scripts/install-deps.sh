#!/usr/bin/env bash
# Installs the locked dependencies. `npm ci` first; some npm 11 builds leave other platforms'
# optional packages (e.g. @swc/core-darwin-arm64) out of the lock and then refuse their own
# lock in `npm ci`, so fall back to `npm install`, which keeps every version the lock pins.
set -uo pipefail
cd "$(dirname "$0")/.."
if npm ci --no-audit --no-fund; then exit 0; fi
echo "install-deps: npm ci refused the lock file; installing with npm install (same pinned versions)" >&2
exec npm install --no-audit --no-fund
