#!/usr/bin/env bash
# What Kore relies on in the official postgres image's entrypoint, on Debian's PostgreSQL:
# - an empty $PGDATA is initialised with POSTGRES_USER as the superuser (default postgres),
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB created
#   (default: the user's name), POSTGRES_INITDB_ARGS passed to initdb;
# - TCP connections from anywhere authenticate with scram-sha-256 (POSTGRES_HOST_AUTH_METHOD);
#   local socket connections are trusted; the server listens on every address;
# - /docker-entrypoint-initdb.d/*.sh (run if executable, else sourced) and *.sql run once, on
#   that first start, against a server reachable only through the socket;
# - options alone mean `postgres OPTIONS`; the server runs as the postgres user.
set -Eeuo pipefail

log() { printf 'postgres-entrypoint: %s\n' "$*" >&2; }

if [ "${1:0:1}" = - ]; then set -- postgres "$@"; fi

if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown -R postgres:postgres "$PGDATA" /run/postgresql
    chmod 0700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

init_database() {
    export POSTGRES_USER=${POSTGRES_USER:-postgres}
    export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    local method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$method" != trust ]; then
        log "Database is uninitialized and superuser password is not specified: set POSTGRES_PASSWORD"
        exit 1
    fi
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of options, as upstream
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust \
        --auth-host="$method" ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA" >&2
    rm -f "$pwfile"
    printf '\nhost all all all %s\n' "$method" >>"$PGDATA/pg_hba.conf"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start >&2
    export PGUSER=$POSTGRES_USER PGHOST=/run/postgresql
    if [ "$POSTGRES_DB" != postgres ]; then
        # From stdin: psql interpolates :"db" there, not in -c.
        echo 'CREATE DATABASE :"db"' | psql -v ON_ERROR_STOP=1 --dbname postgres -v db="$POSTGRES_DB" >&2
    fi
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"
                else log "sourcing $f"; # shellcheck disable=SC1090
                    . "$f"; fi ;;
            *.sql) log "running $f"; psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" >&2 ;;
            */\*) ;;
            *) log "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >&2
    unset PGUSER PGHOST
    log "init process complete; ready for start up"
}

if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    init_database
fi
exec "$@"
