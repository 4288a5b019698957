#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume (it is not run again
# for an existing volume: `docker compose down -v` to start over). Creates the app's database and
# its two roles, and one role owning the two databases Temporal needs (temporal and
# temporal_visibility; auto-setup then loads their schemas). Passwords come from the container's
# environment, which docker-compose.yml fills in.
#
# The app's roles (README, "Security properties"):
#   recovery          owns the database and its schema; only the one-shot `migrate` service logs
#                     in as it (MIGRATION_DATABASE_URL). It can do anything to the tables, which is
#                     why the audit chain is keyed with AUDIT_HMAC_KEYS, a key the database never
#                     holds, and its heads are exported outside it.
#   recovery_runtime  what the API and the worker connect as (DATABASE_URL). Migration 0008 grants
#                     it read/write on the product's tables, but only INSERT and SELECT on
#                     audit_events and SELECT on audit_heads: it cannot UPDATE, DELETE or TRUNCATE
#                     the audit log, switch its triggers off, or move a chain's head (a SECURITY
#                     DEFINER trigger owned by `recovery` does). No CREATEDB, CREATEROLE or
#                     superuser; the API and the worker refuse to start on a role that could
#                     rewrite the log.
set -euo pipefail

: "${RECOVERY_DB_PASSWORD:?}"
: "${RECOVERY_RUNTIME_DB_PASSWORD:?}"
: "${TEMPORAL_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_pwd="$RECOVERY_DB_PASSWORD" -v runtime_pwd="$RECOVERY_RUNTIME_DB_PASSWORD" -v temporal_pwd="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE recovery LOGIN PASSWORD :'app_pwd';
CREATE DATABASE recovery OWNER recovery;
CREATE ROLE recovery_runtime LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'runtime_pwd';

CREATE ROLE temporal LOGIN PASSWORD :'temporal_pwd';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
