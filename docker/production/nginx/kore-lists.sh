#!/bin/sh
# Writes the list-valued parts of the config, which envsubst cannot repeat, into
# $NGINX_ENVSUBST_OUTPUT_DIR/kore/: upstreams.conf and upstreams-retry.conf (NGINX_UPSTREAM_SERVERS), allowlist.conf
# (NGINX_RATE_LIMIT_ALLOWLIST, `geo` entries) and realip.conf (NGINX_REAL_IP_FROM).
# Run by the image (/docker-entrypoint.d/06-kore-lists.sh) and by scripts/render-nginx.sh.
set -eu

out="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx}/kore"
mkdir -p "$out"

# "a, b c" -> one item a line
items() { printf '%s\n' "$1" | tr ',' ' ' | tr -s ' ' '\n' | sed '/^$/d'; }

{
    echo "# generated from NGINX_UPSTREAM_SERVERS"
    items "${NGINX_UPSTREAM_SERVERS:-django:8000}" | while read -r server; do
        echo "server $server max_fails=3 fail_timeout=10s;"
    done
} >"$out/upstreams.conf"
sed -e 's/ max_fails=3 fail_timeout=10s;/ max_fails=0;/' -e '1s/$/ (retry: never marked down)/' \
    "$out/upstreams.conf" >"$out/upstreams-retry.conf"

{
    echo "# generated from NGINX_RATE_LIMIT_ALLOWLIST"
    items "${NGINX_RATE_LIMIT_ALLOWLIST:-}" | while read -r cidr; do
        echo "$cidr 1;"
    done
} >"$out/allowlist.conf"

{
    echo "# generated from NGINX_REAL_IP_FROM"
    items "${NGINX_REAL_IP_FROM:-}" | while read -r cidr; do
        echo "set_real_ip_from $cidr;"
    done
} >"$out/realip.conf"
