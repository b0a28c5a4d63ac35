#!/bin/sh
# What Kore relies on in edoburu/pgbouncer's entrypoint: unless /etc/pgbouncer/pgbouncer.ini
# exists, it is written from DB_HOST, DB_PORT, DB_USER, DB_NAME (default "*": every database),
# LISTEN_ADDR, LISTEN_PORT, AUTH_TYPE, POOL_MODE, MAX_CLIENT_CONN, DEFAULT_POOL_SIZE,
# MIN_POOL_SIZE, RESERVE_POOL_SIZE, MAX_DB_CONNECTIONS, MAX_USER_CONNECTIONS, SERVER_RESET_QUERY,
# IGNORE_STARTUP_PARAMETERS, ADMIN_USERS, STATS_USERS; DB_USER/DB_PASSWORD go into the auth file
# (an md5 hash, or the password itself for AUTH_TYPE plain or scram-sha-256, which needs it).
set -eu

dir=/etc/pgbouncer
auth_file=${AUTH_FILE:-$dir/userlist.txt}
[ -e "$auth_file" ] || touch "$auth_file"

if [ -n "${DB_USER:-}" ] && [ -n "${DB_PASSWORD:-}" ] && ! grep -q "^\"$DB_USER\"" "$auth_file"; then
    case "${AUTH_TYPE:-}" in
        plain | scram-sha-256) pass=$DB_PASSWORD ;;
        *) pass="md5$(printf '%s%s' "$DB_PASSWORD" "$DB_USER" | md5sum | cut -f 1 -d ' ')" ;;
    esac
    printf '"%s" "%s"\n' "$DB_USER" "$pass" >>"$auth_file"
    echo "Wrote authentication credentials to $auth_file"
fi

opt() {  # name value: one "name = value" line when the value is set
    if [ -n "$2" ]; then printf '%s = %s\n' "$1" "$2"; fi
}

if [ ! -f "$dir/pgbouncer.ini" ]; then
    {
        echo "[databases]"
        echo "${DB_NAME:-*} = host=${DB_HOST:-127.0.0.1} port=${DB_PORT:-5432}${DB_USER:+ auth_user=$DB_USER}"
        echo
        echo "[pgbouncer]"
        echo "listen_addr = ${LISTEN_ADDR:-0.0.0.0}"
        echo "listen_port = ${LISTEN_PORT:-6432}"
        echo "unix_socket_dir = /run/postgresql"
        echo "auth_file = $auth_file"
        echo "auth_type = ${AUTH_TYPE:-md5}"
        echo "pool_mode = ${POOL_MODE:-session}"
        echo "max_client_conn = ${MAX_CLIENT_CONN:-100}"
        echo "default_pool_size = ${DEFAULT_POOL_SIZE:-20}"
        opt min_pool_size "${MIN_POOL_SIZE:-}"
        opt reserve_pool_size "${RESERVE_POOL_SIZE:-}"
        opt max_db_connections "${MAX_DB_CONNECTIONS:-}"
        opt max_user_connections "${MAX_USER_CONNECTIONS:-}"
        opt server_reset_query "${SERVER_RESET_QUERY:-}"
        echo "ignore_startup_parameters = ${IGNORE_STARTUP_PARAMETERS:-extra_float_digits}"
        opt admin_users "${ADMIN_USERS:-}"
        opt stats_users "${STATS_USERS:-}"
    } >"$dir/pgbouncer.ini"
    echo "Wrote $dir/pgbouncer.ini"
fi

exec "$@"
