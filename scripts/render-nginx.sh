#!/usr/bin/env bash
# Render Kore's Nginx templates (docker/production/nginx/templates) for a native host or a test,
# exactly as the nginx image does at start: the same defaults file, the same list generator and
# envsubst limited to NGINX_* variables.
#
#   scripts/render-nginx.sh OUT_DIR            # prints OUT_DIR/nginx.conf
#   nginx -p OUT_DIR -c OUT_DIR/nginx.conf -e stderr -g 'daemon off;'
#
# Everything comes from the environment (see docker/production/nginx/kore-defaults.envsh). The
# native defaults differ from the image's only where a host must: unprivileged ports 8080/8443,
# pid, temp dirs and access log under OUT_DIR, the invoking user, Gunicorn on 127.0.0.1:8000,
# this checkout's var/static and media, and the host's resolver.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/docker/production/nginx
out=${1:?usage: scripts/render-nginx.sh OUT_DIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)

if ! command -v envsubst >/dev/null; then
  echo "render-nginx: envsubst is missing: apt-get install -y gettext-base" >&2
  exit 1
fi

# The host's first nameserver (the image reads /etc/resolv.conf the same way).
host_resolver() {
  awk '/^nameserver/ { print ($2 ~ ":") ? "[" $2 "]" : $2; exit }' /etc/resolv.conf 2>/dev/null
}

: "${NGINX_HTTP_PORT:=8080}"
: "${NGINX_HTTPS_PORT:=8443}"
: "${NGINX_PID_FILE:=$out/nginx.pid}"
: "${NGINX_TEMP_DIR:=$out/tmp}"
: "${NGINX_ACCESS_LOG:=$out/access.log}"
: "${NGINX_USER:=$(id -un)}"
: "${NGINX_UPSTREAM_SERVERS:=127.0.0.1:8000}"
: "${NGINX_STATIC_DIR:=${STATIC_ROOT:-$ROOT/var/static}}"
: "${NGINX_MEDIA_DIR:=${MEDIA_ROOT:-${KORE_DATA_DIR:-$ROOT/var}/media}}"
: "${NGINX_TLS_CERT:=$out/certs/tls.crt}"
: "${NGINX_TLS_KEY:=$out/certs/tls.key}"
if [ -z "${NGINX_LOCAL_RESOLVERS:-}" ]; then
  NGINX_LOCAL_RESOLVERS=$(host_resolver)
  NGINX_LOCAL_RESOLVERS=${NGINX_LOCAL_RESOLVERS:-127.0.0.1}
fi
export NGINX_HTTP_PORT NGINX_HTTPS_PORT NGINX_PID_FILE NGINX_TEMP_DIR NGINX_ACCESS_LOG \
  NGINX_USER NGINX_UPSTREAM_SERVERS NGINX_STATIC_DIR NGINX_MEDIA_DIR NGINX_TLS_CERT NGINX_TLS_KEY \
  NGINX_LOCAL_RESOLVERS

# shellcheck source=docker/production/nginx/kore-defaults.envsh
. "$SRC/kore-defaults.envsh"

export NGINX_ENVSUBST_OUTPUT_DIR=$out
"$SRC/kore-lists.sh"

# envsubst replaces only the NGINX_* variables; Nginx's own ($host, $request_id, ...) stay.
defined=$(compgen -e | grep '^NGINX_' | sed 's/.*/${&}/' | tr '\n' ' ')
templates=$SRC/templates
while IFS= read -r -d '' template; do
  rel=${template#"$templates/"}
  target=$out/${rel%.template}
  mkdir -p "$(dirname "$target")"
  envsubst "$defined" <"$template" >"$target"
done < <(find "$templates" -type f -name '*.template' -print0)

# The image turns its mime.types into a template; natively take the host's.
mime=${NGINX_MIME_TYPES:-/etc/nginx/mime.types}
if [ -f "$mime" ]; then
  cp "$mime" "$out/mime.types"
elif [ ! -f "$out/mime.types" ]; then
  echo "render-nginx: $mime not found (install nginx, or set NGINX_MIME_TYPES)" >&2
  exit 1
fi
mkdir -p "$NGINX_TEMP_DIR"
echo "$out/nginx.conf"
