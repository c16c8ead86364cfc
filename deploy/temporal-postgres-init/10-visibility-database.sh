#!/usr/bin/env bash
# Runs once, when Temporal's own Postgres initializes an empty data volume. POSTGRES_USER
# (temporal) owns the persistence database from POSTGRES_DB; this adds the visibility one.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
