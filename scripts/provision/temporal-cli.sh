#!/usr/bin/env bash
# Builds the Temporal CLI (dev server + embedded Web UI) from the Go module proxy and caches
# it outside the repo. Idempotent: prints the cached binary's path when it is already there.
# Machines without internet cannot use the CLI's own downloader, hence the source build.
#
# Why CLI v1.5.1: from v1.6.0 the CLI's go.mod replaces github.com/temporalio/cli/cliext with a
# nested folder that is not in the module zip, and the proxy serves no version of cliext, so
# newer tags cannot be built from the proxy alone. v1.5.1 embeds server v1.29.1, which is in the
# range of CVE-2025-14986 (update-with-start namespace validation, 1.24.0-1.29.1), so the CLI is
# built inside a throwaway Go module (made here, in the cache folder) that requires v1.5.1 and a
# fixed go.temporal.io/server: Go's minimal version selection then compiles the fixed server in.
# The cache folder names both versions, so a machine holding an older build builds this one.
set -euo pipefail

CLI_VERSION="${TEMPORAL_CLI_VERSION:-1.5.1}"
SERVER_VERSION="${TEMPORAL_DEV_SERVER_VERSION:-1.29.2}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
DIR="$CACHE/temporal-cli-$CLI_VERSION-server-$SERVER_VERSION"
BIN="$DIR/temporal"

# The server a CLI binary embeds, from `temporal --version`: "... (Server 1.29.2, UI ...)".
embedded_server() { "$1" --version 2>/dev/null | sed -n 's/.*(Server \([0-9][0-9.]*\).*/\1/p'; }
# A binary given in TEMPORAL_CLI_PATH is used only if its server is at least the fixed one.
if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
  have="$(embedded_server "$TEMPORAL_CLI_PATH")"
  if [ -z "$have" ] || [ "$(printf '%s\n' "$have" "$SERVER_VERSION" | sort -V | head -n1)" != "$SERVER_VERSION" ]; then
    echo "temporal-cli: TEMPORAL_CLI_PATH=$TEMPORAL_CLI_PATH embeds server '${have:-unknown}', older than $SERVER_VERSION (CVE-2025-14986 affects 1.24.0-1.29.1); unset it to build the fixed CLI" >&2
    exit 1
  fi
  echo "$TEMPORAL_CLI_PATH"
  exit 0
fi
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
echo "temporal-cli: building CLI v$CLI_VERSION with server v$SERVER_VERSION from the Go module proxy (minutes on 2 cores)..." >&2
mkdir -p "$DIR"
# A folder of its own per run, so two runs at once do not share one; the binary lands by mv.
MOD="$(mktemp -d "$DIR/build.XXXXXX")"
trap 'rm -rf "$MOD"' EXIT
cat >"$MOD/go.mod" <<MODFILE
// Throwaway build module of scripts/provision/temporal-cli.sh: the CLI with a fixed server.
module recovery-engine/temporal-cli-build

go 1.25.0

require (
	github.com/temporalio/cli v$CLI_VERSION
	go.temporal.io/server v$SERVER_VERSION
)
MODFILE
# -mod=mod lets go build fill in go.sum; no `go mod tidy`, which would also fetch test-only modules.
LDFLAGS="-s -w -X github.com/temporalio/cli/temporalcli.Version=$CLI_VERSION"
if ! (cd "$MOD" && nice -n 10 go build -trimpath -ldflags "$LDFLAGS" -o "$MOD/temporal" github.com/temporalio/cli/cmd/temporal >&2); then
  echo "temporal-cli: building github.com/temporalio/cli/cmd/temporal v$CLI_VERSION with go.temporal.io/server v$SERVER_VERSION failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))" >&2
  exit 1
fi
# The binary must embed the server asked for (minimal version selection could pick a newer one
# only if the CLI required it; never an older one), else refuse to cache it.
if [ "$(embedded_server "$MOD/temporal")" != "$SERVER_VERSION" ]; then
  echo "temporal-cli: the built binary reports '$("$MOD/temporal" --version)', not server $SERVER_VERSION" >&2
  exit 1
fi
mv "$MOD/temporal" "$BIN"
echo "temporal-cli: built $BIN ($("$BIN" --version))" >&2
echo "$BIN"
