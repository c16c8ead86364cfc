#!/usr/bin/env bash
# One-shot Temporal setup for docker-compose.yml; runs in the temporalio/admin-tools image.
#   temporal-setup.sh schema     create/upgrade the persistence and visibility schemas
#                                (before the server starts)
#   temporal-setup.sh namespace  create the namespace and register our search attributes
#                                (once the server is healthy)
# Both steps are idempotent: compose runs them on every `docker compose up`.
set -euo pipefail

: "${DB:=postgres12}"
: "${DB_PORT:=5432}"
: "${DBNAME:=temporal}"
: "${VISIBILITY_DBNAME:=temporal_visibility}"
: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${NAMESPACE:=default}"
: "${NAMESPACE_RETENTION:=720h}"

# Custom search attributes, Name:Type. Keep in sync with workflows/search_attributes.py.
# Postgres visibility has a fixed number of slots per type (10 Keyword, 3 Bool/Int/Datetime).
SEARCH_ATTRIBUTES=(
    TicketNumber:Keyword
    TicketStatus:Keyword
    Priority:Keyword
    Department:Keyword
    Assignee:Keyword
    SlaBreached:Bool
    EscalationLevel:Int
    CustomerCode:Keyword
    Owner:Keyword
    PlanStatus:Keyword
    NextDue:Datetime
)

log() { echo "temporal-setup: $*"; }
die() {
    echo "temporal-setup: ERROR: $*" >&2
    exit 1
}

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" > /dev/null || die "${tool} not found; run this in temporalio/admin-tools"
    done
}

retry() {
    # retry <attempts> <what> <command...>: every 2 s until the command succeeds.
    local attempts=$1 what=$2 i
    shift 2
    for ((i = 1; i <= attempts; i++)); do
        "$@" > /dev/null 2>&1 && return 0
        log "waiting for ${what} (${i}/${attempts})"
        sleep 2
    done
    die "${what} not ready after $((attempts * 2)) s"
}

psql_scalar() {
    # psql_scalar <database> <sql>: one value, unaligned.
    psql -h "$POSTGRES_SEEDS" -p "$DB_PORT" -U "$POSTGRES_USER" -d "$1" -tAXc "$2"
}

migrate_database() {
    local database=$1 versioned_dir=$2
    local sql_tool=(temporal-sql-tool --plugin "$DB" --ep "$POSTGRES_SEEDS" -p "$DB_PORT"
        -u "$POSTGRES_USER" --db "$database")

    local exists versioned
    # Plain assignments, so a failed login stops the script with psql's own message.
    exists=$(psql_scalar postgres "SELECT count(*) FROM pg_database WHERE datname = '${database}'")
    if [[ "$exists" != 1 ]]; then
        die "database ${database} does not exist; deploy/postgres-init creates it only on an" \
            "empty volume, so create it (owner ${POSTGRES_USER}) by hand on an older one"
    fi
    versioned=$(psql_scalar "$database" "SELECT to_regclass('public.schema_version') IS NOT NULL")
    # setup-schema records version 0.0, so it runs only on a database that has no version yet.
    if [[ "$versioned" != t ]]; then
        log "${database}: base schema"
        "${sql_tool[@]}" setup-schema -v 0.0
    fi
    log "${database}: applying versioned schema from ${versioned_dir}"
    "${sql_tool[@]}" update-schema -d "$versioned_dir"
}

setup_schema() {
    need temporal-sql-tool psql pg_isready
    : "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
    : "${POSTGRES_USER:?POSTGRES_USER is required}"
    : "${POSTGRES_PWD:?POSTGRES_PWD is required}"
    # temporal-sql-tool reads SQL_PASSWORD and psql PGPASSWORD; neither goes on a command line.
    export SQL_PASSWORD="$POSTGRES_PWD" PGPASSWORD="$POSTGRES_PWD"

    retry 60 "postgres at ${POSTGRES_SEEDS}:${DB_PORT}" \
        pg_isready -h "$POSTGRES_SEEDS" -p "$DB_PORT" -U "$POSTGRES_USER" -d postgres
    local schema_root=/etc/temporal/schema/postgresql/v12
    migrate_database "$DBNAME" "${schema_root}/temporal/versioned"
    migrate_database "$VISIBILITY_DBNAME" "${schema_root}/visibility/versioned"
    log "schema ready"
}

normalized_type() {
    # "INDEXED_VALUE_TYPE_KEYWORD_LIST" and "KeywordList" both become KEYWORDLIST.
    tr -d '_' <<< "$1" | tr '[:lower:]' '[:upper:]' | sed 's/^INDEXEDVALUETYPE//'
}

existing_type() {
    # existing_type <listing json> <name>: the registered type, empty when absent.
    jq -r --arg n "$2" '
        if type == "array" then (.[] | select(.name == $n) | .type)
        else ((.customAttributes // {})[$n] // empty) end' <<< "$1"
}

setup_namespace() {
    need temporal jq getent
    local host=${TEMPORAL_ADDRESS%:*} port=${TEMPORAL_ADDRESS##*:} ip
    # The CLI may prefer an IPv6 answer while the server listens on IPv4 only.
    ip=$(getent ahostsv4 "$host" | awk 'NR == 1 { print $1 }') || true
    export TEMPORAL_ADDRESS="${ip:-$host}:${port}"

    retry 60 "temporal at ${TEMPORAL_ADDRESS}" temporal operator cluster health
    if temporal operator namespace describe --namespace "$NAMESPACE" > /dev/null 2>&1; then
        log "namespace ${NAMESPACE} exists"
    else
        log "creating namespace ${NAMESPACE} (retention ${NAMESPACE_RETENTION})"
        temporal operator namespace create --namespace "$NAMESPACE" \
            --retention "$NAMESPACE_RETENTION" --description "closedloop tickets and follow-up plans"
    fi
    # A new namespace reaches the frontend's cache a few seconds after creation.
    retry 30 "namespace ${NAMESPACE} to be served" \
        temporal operator search-attribute list --namespace "$NAMESPACE"

    local listing name type have
    listing=$(temporal operator search-attribute list --namespace "$NAMESPACE" --output json)
    for pair in "${SEARCH_ATTRIBUTES[@]}"; do
        name=${pair%%:*}
        type=${pair#*:}
        have=$(existing_type "$listing" "$name")
        if [[ -z "$have" ]]; then
            log "registering search attribute ${name} (${type})"
            temporal operator search-attribute create --namespace "$NAMESPACE" \
                --name "$name" --type "$type"
        elif [[ "$(normalized_type "$have")" != "$(normalized_type "$type")" ]]; then
            die "search attribute ${name} is registered as ${have}, expected ${type}"
        fi
    done
    log "namespace ${NAMESPACE} ready with ${#SEARCH_ATTRIBUTES[@]} custom search attributes"
}

case "${1:-}" in
    schema) setup_schema ;;
    namespace) setup_namespace ;;
    *) die "usage: $0 schema|namespace" ;;
esac
