#!/usr/bin/env bash
# Makes a PostgreSQL database available for tests and prints its URL (one line, stdout).
# Idempotent and fast when already done. Progress and diagnostics go to stderr.
#
#   1. TEST_DATABASE_URL set and reachable          -> print it.
#   2. Otherwise ensure a local server on 127.0.0.1:5432 (reuse whatever answers there; else
#      start the Debian cluster, creating it, and installing the 'postgresql' package when
#      running as root), with role and database 'recovery' (password 'recovery', CREATEDB), the
#      owner that creates and migrates the test databases, and the role 'recovery_runtime'
#      (password 'recovery_runtime', no other attribute) the engines under test connect as
#      (migrations/0008 grants it what the product needs; roles are cluster-wide, made once)
#      -> print postgres://recovery:recovery@127.0.0.1:5432/recovery
set -euo pipefail

HOST=127.0.0.1
PORT=5432
NAME=recovery # role, password and database
RUNTIME=recovery_runtime # role and password of the engine's connections
URL="postgres://$NAME:$NAME@$HOST:$PORT/$NAME"
RUNTIME_URL="postgres://$RUNTIME:$RUNTIME@$HOST:$PORT/$NAME"
WAIT_SECONDS="${POSTGRES_WAIT_SECONDS:-30}"

log() { echo "postgres: $*" >&2; }
die() { echo "postgres: ERROR: $*" >&2; exit 1; }

export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"
unset PGSERVICE PGOPTIONS 2>/dev/null || true

have() { command -v "$1" >/dev/null 2>&1; }

# Can we run a query through this URL?
url_works() {
  if have psql; then
    psql -X -q -At -d "$1" -c 'select 1' >/dev/null 2>&1
  elif have pg_isready; then
    pg_isready -q -d "$1" >/dev/null 2>&1
  else
    return 1
  fi
}

# Are the recovery role/database fully set up (login works, CREATEDB, owns the DB), and can the
# runtime role log in without being able to create databases or roles?
recovery_ready() {
  have psql || return 1
  local out
  out=$(psql -X -q -At -d "$URL" -c \
    "select r.rolcreatedb and r.rolcanlogin and d.datdba = r.oid
       from pg_roles r, pg_database d
      where r.rolname = current_user and d.datname = current_database()" 2>/dev/null) || return 1
  [ "$out" = t ] || return 1
  out=$(psql -X -q -At -d "$RUNTIME_URL" -c \
    "select not (rolsuper or rolcreatedb or rolcreaterole) from pg_roles where rolname = current_user" 2>/dev/null) || return 1
  [ "$out" = t ]
}

server_answers() { have pg_isready && pg_isready -q -h "$HOST" -p "$PORT" >/dev/null 2>&1; }

# --- 1. An explicitly configured database wins. -------------------------------------------
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  if url_works "$TEST_DATABASE_URL"; then
    echo "$TEST_DATABASE_URL"
    exit 0
  fi
  log "TEST_DATABASE_URL is set but does not answer; falling back to a local server on $HOST:$PORT."
fi

# --- Fast path: everything is already in place. -------------------------------------------
if recovery_ready; then
  echo "$URL"
  exit 0
fi

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

# Serialise concurrent runs of the slow path (two test workers provisioning at once).
# fd 9 must be closed (9>&-) for every command that can leave a daemon behind (apt-get,
# pg_createcluster, pg_ctlcluster): a postmaster inheriting it would hold the lock forever.
if have flock; then
  lock="${TMPDIR:-/tmp}/recovery-postgres-provision.lock"
  if touch "$lock" 2>/dev/null; then
    chmod 0666 "$lock" 2>/dev/null || true
    exec 9>>"$lock"
    if ! flock -n 9; then
      log "another provisioning run holds $lock; waiting for it (up to 300 s)..."
      flock -w 300 9 || log "lock wait timed out; continuing anyway."
    fi
  fi
  if recovery_ready; then echo "$URL"; exit 0; fi
fi

# --- 2. Make sure a server answers on 127.0.0.1:5432. --------------------------------------
server_installed() {
  have pg_lsclusters && have pg_ctlcluster && have pg_createcluster && have psql &&
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

if server_answers; then
  log "a server already answers on $HOST:$PORT; using it."
else
  if ! server_installed; then
    if [ "$IS_ROOT" -ne 1 ]; then
      cat >&2 <<MSG
postgres: ERROR: no PostgreSQL server answers on $HOST:$PORT and the PostgreSQL server
  package is not installed (this script installs it only when run as root).
  Fix one of:
    - install it:  sudo apt-get install -y postgresql   (then re-run this script), or
    - point the tests at an existing database:
        export TEST_DATABASE_URL=postgres://user:password@host:port/dbname
MSG
      exit 1
    fi
    have apt-get || die "PostgreSQL is not installed and apt-get is unavailable; install PostgreSQL or set TEST_DATABASE_URL."
    log "installing PostgreSQL from Debian (apt-get update && apt-get install -y postgresql)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 9>&- || die "apt-get update failed."
    apt-get install -y -q postgresql >&2 9>&- || die "apt-get install postgresql failed."
    server_installed || die "postgresql was installed but pg_lsclusters/pg_ctlcluster/postgres are still missing."
  fi

  if [ "$IS_ROOT" -ne 1 ] && [ "$(id -un)" != postgres ]; then
    cat >&2 <<MSG
postgres: ERROR: PostgreSQL is installed but no server answers on $HOST:$PORT, and starting
  the cluster needs root (or the 'postgres' user).
  Fix one of:
    - start it:  sudo pg_ctlcluster <version> main start   (see pg_lsclusters), then re-run, or
    - run this script as root, or
    - export TEST_DATABASE_URL=postgres://user:password@host:port/dbname
MSG
    exit 1
  fi

  # Socket directory lives on tmpfs on some machines (containers, after reboot).
  if [ "$IS_ROOT" -eq 1 ] && [ ! -d /var/run/postgresql ]; then
    install -d -m 2775 -o postgres -g postgres /var/run/postgresql
  fi

  # Which cluster listens on our port? (columns: ver cluster port status owner datadir log)
  cluster_line=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p { print; exit }')
  if [ -z "$cluster_line" ]; then
    ver=$(ls -1 /usr/lib/postgresql | grep -E '^[0-9]+$' | sort -n | tail -1)
    [ -n "$ver" ] || die "cannot determine the installed PostgreSQL version under /usr/lib/postgresql."
    cname=main
    if pg_lsclusters -h 2>/dev/null | awk -v v="$ver" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
      cname=$NAME # 'main' exists on another port; leave it alone.
    fi
    log "creating cluster $ver/$cname on port $PORT..."
    pg_createcluster "$ver" "$cname" --port "$PORT" >&2 9>&- || die "pg_createcluster $ver $cname failed."
    cluster_line=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PORT" '$3 == p { print; exit }')
    [ -n "$cluster_line" ] || die "created cluster $ver/$cname but pg_lsclusters shows none on port $PORT."
  fi
  read -r ver cname _port status _owner _datadir logfile <<<"$cluster_line"

  if [[ "$status" != online* ]]; then
    log "starting cluster $ver/$cname..."
    if ! pg_ctlcluster "$ver" "$cname" start >&2 9>&-; then
      log "pg_ctlcluster $ver $cname start failed; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 2>/dev/null || true
      exit 1
    fi
  fi

  deadline=$((SECONDS + WAIT_SECONDS))
  until server_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "timed out after ${WAIT_SECONDS}s waiting for cluster $ver/$cname to accept connections on $HOST:$PORT."
      log "check listen_addresses in /etc/postgresql/$ver/$cname/postgresql.conf; last lines of $logfile:"
      tail -n 20 "$logfile" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.5
  done
  log "cluster $ver/$cname accepts connections on $HOST:$PORT."
fi

# --- 3. Role and database, as the postgres superuser. --------------------------------------
as_postgres_psql() {
  if [ "$(id -un)" = postgres ]; then
    (cd / && psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@")
  elif [ "$IS_ROOT" -eq 1 ] && getent passwd postgres >/dev/null; then
    if have runuser; then
      (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@")
    else
      (cd / && su postgres -c "psql -X -q -v ON_ERROR_STOP=1 -p $PORT -d postgres $(printf '%q ' "$@")")
    fi
  else
    return 127
  fi
}

log "ensuring roles '$NAME' and '$RUNTIME' and database '$NAME'..."
sql=$(cat <<SQL
SELECT 'CREATE ROLE $NAME' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$NAME') \gexec
ALTER ROLE $NAME WITH LOGIN CREATEDB PASSWORD '$NAME';
SELECT 'CREATE ROLE $RUNTIME' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$RUNTIME') \gexec
ALTER ROLE $RUNTIME WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$RUNTIME';
SELECT 'CREATE DATABASE $NAME OWNER $NAME' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$NAME') \gexec
ALTER DATABASE $NAME OWNER TO $NAME;
SQL
)
set +e
as_postgres_psql <<<"$sql" >&2
rc=$?
set -e
if [ "$rc" -eq 127 ]; then
  die "cannot act as the 'postgres' superuser (not root). Create role/database '$NAME' (password '$NAME', LOGIN CREATEDB) and role '$RUNTIME' (password '$RUNTIME', LOGIN) yourself, re-run as root, or set TEST_DATABASE_URL."
elif [ "$rc" -ne 0 ]; then
  die "creating role/database '$NAME' as the postgres user failed (is the server on $HOST:$PORT a local Debian cluster with its socket in /var/run/postgresql?)."
fi

if ! recovery_ready; then
  die "roles '$NAME' and '$RUNTIME' were created but $URL or $RUNTIME_URL still does not work (check pg_hba.conf allows password auth from $HOST)."
fi

echo "$URL"
