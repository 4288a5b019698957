#!/usr/bin/env bash
# A Temporal server on Postgres, for production-shaped runs (benchmarks): builds the server and
# its SQL schema tool from the Go module proxy with `go install` (cached outside the repo), then
# makes sure the server's two databases exist on the local Postgres with their schemas up to
# date. Prints the folder holding `temporal-server` and `temporal-sql-tool` (one line, stdout).
# Idempotent; progress goes to stderr.
#
#   TEMPORAL_SERVER_VERSION        default 1.29.2 (the server the dev server and docker-compose run;
#                                  the first 1.29 patch outside the range of CVE-2025-14986)
#   TEMPORAL_SQL_DATABASE          default temporal
#   TEMPORAL_SQL_VISIBILITY_DATABASE  default temporal_visibility
#   TEMPORAL_SQL_SKIP_SCHEMA=1     only build
#
# The databases are created on the server scripts/provision/postgres.sh provides, owned by its
# role (or by the user in TEST_DATABASE_URL). No cgo: the schemas are embedded in the tool.
set -euo pipefail

VERSION="${TEMPORAL_SERVER_VERSION:-1.29.2}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
DIR="$CACHE/temporal-server-$VERSION"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "temporal-server: $*" >&2; }

if [ ! -x "$DIR/temporal-server" ] || [ ! -x "$DIR/temporal-sql-tool" ]; then
  for d in /usr/local/go/bin /usr/lib/go/bin "$HOME/go/bin"; do [ -x "$d/go" ] && PATH="$PATH:$d"; done
  if ! command -v go >/dev/null 2>&1; then
    log "Go is not installed, so the Temporal server cannot be built. Install Go >= 1.24 (https://go.dev/dl or Debian's golang package)."
    exit 1
  fi
  export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
  export GOPATH="$CACHE/gopath"
  export GOBIN="$DIR/bin.tmp"
  log "building go.temporal.io/server v$VERSION (cmd/server, cmd/tools/sql) with go install; many minutes on 2 cores..."
  rm -rf "$GOBIN"
  if ! go install -trimpath -ldflags "-s -w" \
    "go.temporal.io/server/cmd/server@v$VERSION" \
    "go.temporal.io/server/cmd/tools/sql@v$VERSION" >&2; then
    log "'go install go.temporal.io/server/...@v$VERSION' failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
    exit 1
  fi
  mkdir -p "$DIR"
  mv "$GOBIN/server" "$DIR/temporal-server"
  mv "$GOBIN/sql" "$DIR/temporal-sql-tool"
  rm -rf "$GOBIN"
  log "built $DIR/temporal-server and $DIR/temporal-sql-tool"
fi

if [ "${TEMPORAL_SQL_SKIP_SCHEMA:-0}" = 1 ]; then echo "$DIR"; exit 0; fi

# --- Databases and schemas on the local Postgres. -----------------------------------------
URL="$(bash "$HERE/postgres.sh")"
# postgres://user:password@host:port/db
rest="${URL#postgres://}"; rest="${rest#postgresql://}"
creds="${rest%%@*}"; hostpart="${rest#*@}"; hostport="${hostpart%%/*}"
PGUSER_="${creds%%:*}"; PGPASS_="${creds#*:}"
PGHOST_="${hostport%%:*}"; PGPORT_="${hostport##*:}"
[ "$PGPORT_" = "$hostport" ] && PGPORT_=5432

DB="${TEMPORAL_SQL_DATABASE:-temporal}"
VDB="${TEMPORAL_SQL_VISIBILITY_DATABASE:-temporal_visibility}"
sqltool() {
  "$DIR/temporal-sql-tool" --plugin postgres12 --ep "$PGHOST_" -p "$PGPORT_" -u "$PGUSER_" --pw "$PGPASS_" "$@"
}
for pair in "$DB:temporal" "$VDB:visibility"; do
  db="${pair%%:*}"; schema="${pair#*:}"
  if ! psql -X -q -At -d "$URL" -c "select 1 from pg_database where datname = '$db'" | grep -q 1; then
    log "creating database $db"
    sqltool --db "$db" create-database >&2
  fi
  if ! psql -X -q -At -d "${URL%/*}/$db" -c "select 1 from information_schema.tables where table_name = 'schema_version'" 2>/dev/null | grep -q 1; then
    sqltool --db "$db" setup-schema -v 0.0 >&2
  fi
  sqltool --db "$db" update-schema --schema-name "postgresql/v12/$schema" >&2
done
log "schemas of $DB and $VDB are up to date"
echo "$DIR"
