#!/usr/bin/env bash
# Runs once, when the postgres container initializes an empty data volume.
# The app's own database `closedloop` comes from POSTGRES_DB; Temporal gets its own role
# and two databases (persistence + visibility) so neither can touch the other's data.
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD must be set for the postgres service}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
SQL
