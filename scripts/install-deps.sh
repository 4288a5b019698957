#!/usr/bin/env bash
# Installs exactly the locked dependencies with `npm ci`. No fallback: a lock that `npm ci`
# refuses is a bug to fix in the lock, and CI must fail on it rather than install something else.
set -euo pipefail
cd "$(dirname "$0")/.."
exec npm ci --no-audit --no-fund
