#!/usr/bin/env bash
# Builds the Temporal CLI (dev server + embedded Web UI) from the Go module proxy and caches
# it outside the repo. Idempotent: prints the cached binary's path when it is already there.
# Machines without internet cannot use the CLI's own downloader, hence the source build.
#
# Why v1.5.1: from v1.6.0 the CLI's go.mod replaces github.com/temporalio/cli/cliext with a
# nested folder that is not in the module zip, and the proxy serves no version of cliext, so
# `go install` of newer tags cannot work from the proxy alone. v1.5.1 embeds server v1.29.1.
set -euo pipefail

VERSION="${TEMPORAL_CLI_VERSION:-1.5.1}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
BIN="$CACHE/temporal-cli-$VERSION/temporal"

if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then echo "$TEMPORAL_CLI_PATH"; exit 0; fi
if [ -x "$BIN" ]; then echo "$BIN"; exit 0; fi

for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do [ -x "$d/go" ] && PATH="$PATH:$d"; done
if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
temporal-cli: Go is not installed, so the Temporal CLI cannot be built from source.
  Install Go >= 1.25 (https://go.dev/dl or Debian's golang package), or set
  TEMPORAL_CLI_PATH to an existing 'temporal' binary.
MSG
  exit 1
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOPATH="$CACHE/gopath"
export GOBIN="$CACHE/temporal-cli-$VERSION/bin.tmp"
echo "temporal-cli: building v$VERSION from the Go module proxy (a few minutes on 2 cores)..." >&2
rm -rf "$GOBIN"
if ! go install -trimpath -ldflags "-s -w" "github.com/temporalio/cli/cmd/temporal@v$VERSION" >&2; then
  echo "temporal-cli: 'go install github.com/temporalio/cli/cmd/temporal@v$VERSION' failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" >&2
  exit 1
fi
mv "$GOBIN/temporal" "$BIN"
rm -rf "$GOBIN"
echo "temporal-cli: built $BIN" >&2
echo "$BIN"
