#!/bin/sh
# Compose scaling: `docker compose up --scale django=N` changes the addresses behind the name
# `django` (Docker's DNS answers with every replica). Nginx 1.22-compatible upstreams resolve
# names at (re)load only, so this watcher resolves the upstream names every
# NGINX_UPSTREAM_WATCH_SECONDS (default 10; 0 turns it off) and reloads Nginx when the set changes.
# Started in the background by the image's entrypoint (/docker-entrypoint.d/40-...).
set -eu

interval="${NGINX_UPSTREAM_WATCH_SECONDS:-10}"
[ "$interval" -gt 0 ] 2>/dev/null || exit 0

resolve_all() {
    printf '%s\n' "${NGINX_UPSTREAM_SERVERS:-django:8000}" | tr ',' ' ' | tr -s ' ' '\n' | sed '/^$/d' |
        while read -r server; do
            host="${server%:*}"
            getent ahostsv4 "$host" 2>/dev/null | awk '{print $1}'
        done | sort -u | tr '\n' ' '
}

watch() {
    last="$(resolve_all)"
    while sleep "$interval"; do
        now="$(resolve_all)"
        if [ -n "$now" ] && [ "$now" != "$last" ]; then
            echo "kore-watch-upstreams: upstream addresses now: $now; reloading nginx" >&2
            nginx -s reload -c "${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/rendered}/nginx.conf" || true
            last="$now"
        fi
    done
}

watch </dev/null >/dev/null 2>&1 &
