#!/bin/sh
# Compose scaling: `docker compose up --scale django=N` changes the addresses behind the name
# `django` (Docker's DNS answers with every replica). Nginx 1.22-compatible upstreams resolve
# names at (re)load only, so this watcher resolves the upstream names every
# NGINX_UPSTREAM_WATCH_SECONDS (default 10; 0 turns it off) and reloads Nginx when the set changes.
# It also reloads Nginx when the TLS certificate or key (NGINX_TLS_CERT, NGINX_TLS_KEY) changes on
# disk: a renewed certificate (certbot's deploy hook, or one copied in by hand) is served within
# one interval, without a restart.
# Started in the background by the image's entrypoint (/docker-entrypoint.d/40-...);
# KORE_WATCH_FOREGROUND=1 runs it in the foreground (tests).
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

# The certificate and key as Nginx would read them now (nothing when TLS is off or absent).
certificates() {
    [ "${NGINX_MODE:-http}" = https ] || return 0
    cat "${NGINX_TLS_CERT:-/etc/nginx/certs/tls.crt}" "${NGINX_TLS_KEY:-/etc/nginx/certs/tls.key}" \
        2>/dev/null | cksum
}

reload() {
    echo "kore-watch-upstreams: $1; reloading nginx" >&2
    nginx -s reload -c "${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/rendered}/nginx.conf" || true
}

watch() {
    last="$(resolve_all)"
    last_certs="$(certificates)"
    while sleep "$interval"; do
        now="$(resolve_all)"
        if [ -n "$now" ] && [ "$now" != "$last" ]; then
            reload "upstream addresses now: $now"
            last="$now"
        fi
        certs="$(certificates)"
        # Both files readable (a renewal writes two files: wait until the pair is whole).
        if [ -n "$certs" ] && [ "$certs" != "$last_certs" ] &&
            openssl_pair_ok; then
            reload "the TLS certificate changed"
            last_certs="$certs"
        fi
    done
}

# The new key matches the new certificate (when openssl is there to say; else trust the files).
openssl_pair_ok() {
    command -v openssl >/dev/null 2>&1 || return 0
    cert="${NGINX_TLS_CERT:-/etc/nginx/certs/tls.crt}" key="${NGINX_TLS_KEY:-/etc/nginx/certs/tls.key}"
    [ "$(openssl x509 -noout -pubkey -in "$cert" 2>/dev/null | cksum)" = \
        "$(openssl pkey -pubout -in "$key" 2>/dev/null | cksum)" ]
}

if [ "${KORE_WATCH_FOREGROUND:-0}" = 1 ]; then
    watch
else
    watch </dev/null >/dev/null 2>&1 &
fi
