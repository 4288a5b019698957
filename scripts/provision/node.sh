#!/usr/bin/env bash
# Makes a supported Node.js available and prints its bin directory (one line, stdout).
# Idempotent and fast when already done. Progress and diagnostics go to stderr.
#
#   1. The `node` on PATH is at least NODE_MIN_VERSION (default 22.13.0)  -> print its folder.
#   2. Otherwise install the official Node binary, which the npm registry carries as the package
#      node-linux-<arch>@NODE_VERSION (default 24.22.3; bin/node, no npm), into the cache outside
#      the repo (`npm pack` checks the registry's integrity hash)            -> print its bin.
# CI sets NODE_MIN_VERSION=24 so it always runs on the active LTS line.
set -euo pipefail

VERSION="${NODE_VERSION:-24.22.3}"
MIN="${NODE_MIN_VERSION:-22.13.0}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
DIR="$CACHE/node-$VERSION"

log() { echo "node: $*" >&2; }
die() { echo "node: ERROR: $*" >&2; exit 1; }

# "22.13.0" -> 22013000, so versions compare as numbers (a missing part counts as 0).
as_number() {
  local major minor patch
  IFS=. read -r major minor patch <<<"${1#v}"
  echo $(( ${major:-0} * 1000000 + ${minor:-0} * 1000 + ${patch:-0} ))
}

if command -v node >/dev/null 2>&1; then
  have="$(node --version 2>/dev/null || true)"
  if [ -n "$have" ] && [ "$(as_number "$have")" -ge "$(as_number "$MIN")" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

if [ -x "$DIR/bin/node" ]; then echo "$DIR/bin"; exit 0; fi

[ "$(uname -s)" = Linux ] || die "no Node >= $MIN on PATH; install Node $MIN or newer (this script fetches Linux builds only)"
case "$(uname -m)" in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) die "no Node >= $MIN on PATH and no packaged Node for $(uname -m); install Node $MIN or newer" ;;
esac
command -v npm >/dev/null 2>&1 || die "npm is needed to fetch node-linux-$arch@$VERSION; install Node $MIN or newer"

pkg="node-linux-$arch@$VERSION"
log "installing $pkg from the npm registry into $DIR (about 50 MB, once)..."
mkdir -p "$CACHE"
tmp="$(mktemp -d "$CACHE/.node-$VERSION.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null) || die "'npm pack $pkg' failed (is the npm registry reachable?)"
tar -xzf "$tmp"/*.tgz -C "$tmp"
got="$("$tmp/package/bin/node" --version)" || die "the node binary from $pkg does not run on this machine"
[ "$got" = "v$VERSION" ] || die "$pkg contains node $got, expected v$VERSION"
# Another process may have finished first; -T refuses to move into an existing folder.
mv -T "$tmp/package" "$DIR" 2>/dev/null || [ -x "$DIR/bin/node" ] || die "could not move node into $DIR"
log "installed $got"
echo "$DIR/bin"
