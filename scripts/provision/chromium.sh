#!/usr/bin/env bash
# Makes Debian's Chromium available for the browser test and prints its path (one line, stdout).
# Idempotent: nothing happens when /usr/bin/chromium exists. Otherwise installs the `chromium`
# package (as root), refreshing the package lists first only when apt cannot find the package.
# Nothing is downloaded by npm: playwright-core drives this binary through executablePath.
set -euo pipefail
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium: $BIN is missing and this is not root (as root: apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  echo "chromium: refreshing the package lists..." >&2
  apt-get update -qq >&2
fi
echo "chromium: installing Debian's chromium package..." >&2
apt-get install -y -qq --no-install-recommends chromium >&2
[ -x "$BIN" ] || { echo "chromium: installed, but $BIN is not there" >&2; exit 1; }
echo "$BIN"
