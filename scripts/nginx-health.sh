#!/usr/bin/env bash
# GET /api/v1/health/ through the Nginx of the Compose stack on this host, by the host name that
# Nginx serves: its catch-all server drops any other name without an answer (444), so a plain
# http://127.0.0.1/ (Host: 127.0.0.1) never reaches Kore.
#
#   scripts/nginx-health.sh ENV_FILE            exit 0 when Kore answers 200 (the body on stdout)
#   scripts/nginx-health.sh ENV_FILE staging    staging beside production (production.lowmem.yml):
#                                               NGINX_STAGING_SERVER_NAME on NGINX_STAGING_PORT
#
# From ENV_FILE (the stack's Compose --env-file): the first of NGINX_SERVER_NAME, NGINX_MODE and
# the published port (NGINX_PUBLISH_HTTP, or NGINX_PUBLISH_HTTPS in https mode; "80", "8080" or
# "127.0.0.1:8080"). The connection goes to 127.0.0.1 (curl --resolve) with that name as Host and
# TLS server name. In https mode the certificate is not verified: this checks Kore, on loopback.
set -euo pipefail

env_file=${1:?usage: scripts/nginx-health.sh ENV_FILE [staging]}
which=${2:-production}

value() {  # value NAME: its last assignment in the env file, without surrounding quotes
  sed -n "s/^$1=//p" "$env_file" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/"
}

if [ "$which" = staging ]; then
  name=$(value NGINX_STAGING_SERVER_NAME)
  name=${name%% *}
  name=${name:-staging.localhost}
  scheme=http insecure=() publish=$(value NGINX_STAGING_PORT)
  publish=${publish:-8080}
elif [ "$(value NGINX_MODE)" = https ]; then
  name=$(value NGINX_SERVER_NAME)
  name=${name%% *}
  name=${name:-localhost}
  scheme=https insecure=(--insecure) publish=$(value NGINX_PUBLISH_HTTPS)
  publish=${publish:-443}
else
  name=$(value NGINX_SERVER_NAME)
  name=${name%% *}
  name=${name:-localhost}
  scheme=http insecure=() publish=$(value NGINX_PUBLISH_HTTP)
  publish=${publish:-80}
fi
port=${publish##*:}

exec curl -fsS --max-time 5 "${insecure[@]}" --resolve "$name:$port:127.0.0.1" \
  "$scheme://$name:$port/api/v1/health/"
