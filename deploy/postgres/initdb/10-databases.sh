#!/bin/bash
# Runs once, when the postgres container initialises an empty data volume (it is not run again
# for an existing volume: `docker compose down -v` to start over). Creates one role and database
# for the app, and one role owning the two databases Temporal needs (temporal and
# temporal_visibility; auto-setup then loads their schemas). Passwords come from the container's
# environment, which docker-compose.yml fills in.
set -euo pipefail

: "${RECOVERY_DB_PASSWORD:?}"
: "${TEMPORAL_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_pwd="$RECOVERY_DB_PASSWORD" -v temporal_pwd="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE recovery LOGIN PASSWORD :'app_pwd';
CREATE DATABASE recovery OWNER recovery;

CREATE ROLE temporal LOGIN PASSWORD :'temporal_pwd';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
