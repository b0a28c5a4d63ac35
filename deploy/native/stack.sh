#!/usr/bin/env bash
# Kore's native stack on this machine: Nginx (Debian) + Gunicorn + Celery worker + beat under
# supervisord, against the PostgreSQL and Redis named by DATABASE_URL / REDIS_URL.
#
#   deploy/native/stack.sh up       # create the database if missing, migrate, collectstatic,
#                                   # render Nginx, start everything, wait for /api/v1/health/
#   deploy/native/stack.sh status   # process table and health through Nginx
#   deploy/native/stack.sh down     # stop everything (state stays in var/stack/)
#
# Defaults: database kore_stack on 127.0.0.1:5432, Redis DB 3 (cache) and 4 (broker: kept apart
# because a cache clear is a FLUSHDB), Nginx on 127.0.0.1:8080, Gunicorn on 127.0.0.1:8001.
# Production settings; SECRET_KEY is generated once into var/stack/secret_key.
set -euo pipefail

KORE_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export KORE_ROOT
cd "$KORE_ROOT"
export KORE_STACK_DIR=${KORE_STACK_DIR:-$KORE_ROOT/var/stack}
PY=$KORE_ROOT/.venv/bin/python
CONF=$KORE_ROOT/deploy/native/supervisord.conf
SUPERVISORCTL=("$KORE_ROOT/.venv/bin/supervisorctl" -c "$CONF")

say() { printf 'stack: %s\n' "$*" >&2; }

environment() {
  mkdir -p "$KORE_STACK_DIR/logs" "$KORE_STACK_DIR/data/media"
  if [ ! -s "$KORE_STACK_DIR/secret_key" ]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(64))' >"$KORE_STACK_DIR/secret_key")
  fi
  export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.production}
  export SECRET_KEY_FILE=${SECRET_KEY_FILE:-$KORE_STACK_DIR/secret_key}
  export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kore_stack}
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/3}
  export CELERY_BROKER_URL=${CELERY_BROKER_URL:-${REDIS_URL%/*}/4}
  export CACHE_KEY_PREFIX=${CACHE_KEY_PREFIX:-kore-stack}
  export ALLOWED_HOSTS=${ALLOWED_HOSTS:-localhost,127.0.0.1}
  export SECURE_SSL_REDIRECT=${SECURE_SSL_REDIRECT:-False}
  export KORE_NUM_PROXIES=${KORE_NUM_PROXIES:-1}
  export KORE_ACCEL_REDIRECT=${KORE_ACCEL_REDIRECT:-True}
  export KORE_DATA_DIR=${KORE_DATA_DIR:-$KORE_STACK_DIR/data}
  export MEDIA_ROOT=${MEDIA_ROOT:-$KORE_DATA_DIR/media}
  export STATIC_ROOT=${STATIC_ROOT:-$KORE_STACK_DIR/static}
  export GUNICORN_BIND=${GUNICORN_BIND:-127.0.0.1:8001}
  export FORWARDED_ALLOW_IPS=${FORWARDED_ALLOW_IPS:-127.0.0.1}
  export NGINX_HTTP_PORT=${NGINX_HTTP_PORT:-8080}
  export NGINX_SERVER_NAME=${NGINX_SERVER_NAME:-localhost 127.0.0.1}
  export NGINX_UPSTREAM_SERVERS=${NGINX_UPSTREAM_SERVERS:-$GUNICORN_BIND}
  export NGINX_STATIC_DIR=${NGINX_STATIC_DIR:-$STATIC_ROOT}
  export NGINX_MEDIA_DIR=${NGINX_MEDIA_DIR:-$MEDIA_ROOT}
  NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
  export NGINX_BIN
}

running() { [ -S "$KORE_STACK_DIR/supervisor.sock" ] && "${SUPERVISORCTL[@]}" pid >/dev/null 2>&1; }

health_url() { printf 'http://127.0.0.1:%s/api/v1/health/' "$NGINX_HTTP_PORT"; }

create_database() {
  "$PY" - "$DATABASE_URL" <<'PY'
import sys
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

params = conninfo_to_dict(sys.argv[1])
name = params.get("dbname") or "kore_stack"
with psycopg.connect(**(params | {"dbname": "postgres"}), autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"stack: created database {name}", file=sys.stderr)
PY
}

up() {
  environment
  if running; then
    say "already running (make stack-status)"
    return 0
  fi
  [ -x "$NGINX_BIN" ] || { say "nginx is missing: apt-get install -y nginx"; exit 1; }
  [ -x "$KORE_ROOT/.venv/bin/supervisord" ] || { say "supervisor is missing: make install"; exit 1; }
  create_database
  "$PY" manage.py wait_for_db --timeout 30
  "$PY" manage.py migrate_locked --noinput
  "$PY" manage.py collectstatic --noinput -v 0
  scripts/render-nginx.sh "$KORE_STACK_DIR/nginx" >/dev/null
  "$NGINX_BIN" -t -q -p "$KORE_STACK_DIR/nginx" -c "$KORE_STACK_DIR/nginx/nginx.conf" -e stderr
  "$KORE_ROOT/.venv/bin/supervisord" -c "$CONF"
  local url
  url=$(health_url)
  for _ in $(seq 1 60); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then
      say "up: $url (logs in $KORE_STACK_DIR/logs)"
      return 0
    fi
    sleep 0.5
  done
  say "no healthy answer from $url in 30 s; see $KORE_STACK_DIR/logs"
  "${SUPERVISORCTL[@]}" status || true
  exit 1
}

status() {
  environment
  if ! running; then
    say "not running"
    return 3
  fi
  "${SUPERVISORCTL[@]}" status
  curl -sS -w '\nHTTP %{http_code}\n' "$(health_url)"
}

down() {
  environment
  if ! running; then
    say "not running"
    return 0
  fi
  local pid
  pid=$(cat "$KORE_STACK_DIR/supervisord.pid")
  "${SUPERVISORCTL[@]}" shutdown >/dev/null
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || { say "stopped"; return 0; }
    sleep 0.5
  done
  say "supervisord $pid still running after 60 s"
  exit 1
}

case "${1:-}" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) echo "usage: $0 up|status|down" >&2; exit 2 ;;
esac
