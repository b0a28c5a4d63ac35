#!/usr/bin/env bash
# Make sure the PostgreSQL and Redis the tests need answer, and print the URLs to use.
#
# Usage: eval "$(scripts/test-services.sh)"
# Uses DATABASE_URL / REDIS_URL when they answer (defaults: the local 5432/6379 servers). When one
# does not, starts a throwaway instance from the installed server binaries on a spare port (as the
# `postgres` user: initdb refuses root) under var/test-services/. Never falls back to SQLite or a
# fake: without binaries it names the Debian package to install and exits non-zero.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=${KORE_TEST_SERVICES_DIR:-/tmp/kore-test-services}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/1}
PY=${PYTHON:-$ROOT/.venv/bin/python}

say() { printf '%s\n' "$*" >&2; }

# The server must answer; the database named in the URL need not exist (the tests create theirs).
pg_answers() {
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, psycopg
from psycopg.conninfo import conninfo_to_dict
params = conninfo_to_dict(sys.argv[1]) | {"dbname": "postgres", "connect_timeout": 3}
psycopg.connect(**params).close()
PY
}

redis_answers() {
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=3).ping()
PY
}

start_postgres() {
  local bindir port=55432 data="$STATE/pg"
  bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    say "PostgreSQL is not reachable at $DATABASE_URL and no server binaries are installed."
    say "Install them: apt-get install -y postgresql   (or point DATABASE_URL at a server)."
    exit 1
  fi
  mkdir -p "$STATE"
  local run=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$STATE"
    run=(runuser -u postgres --)
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    "${run[@]}" "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
  fi
  "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$STATE/pg.log" -w \
    -o "-p $port -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1 || true
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  pg_answers "$DATABASE_URL" || { say "Throwaway PostgreSQL failed to start; see $STATE/pg.log"; exit 1; }
  say "Started a throwaway PostgreSQL on port $port (data in $data)."
}

start_redis() {
  local port=56379
  if ! command -v redis-server >/dev/null; then
    say "Redis is not reachable at $REDIS_URL and redis-server is not installed."
    say "Install it: apt-get install -y redis-server   (or point REDIS_URL at a server)."
    exit 1
  fi
  mkdir -p "$STATE"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$STATE" --logfile "$STATE/redis.log" >/dev/null
  REDIS_URL="redis://127.0.0.1:$port/1"
  for _ in $(seq 1 50); do redis_answers "$REDIS_URL" && break; sleep 0.1; done
  redis_answers "$REDIS_URL" || { say "Throwaway Redis failed to start; see $STATE/redis.log"; exit 1; }
  say "Started a throwaway Redis on port $port."
}

pg_answers "$DATABASE_URL" || start_postgres
redis_answers "$REDIS_URL" || start_redis

# Redis DB numbers: 1 cache, 2 broker (the tests' own; production uses its own URLs).
BROKER_URL=${CELERY_BROKER_URL:-${REDIS_URL%/*}/2}
printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\nexport CELERY_BROKER_URL=%q\n' \
  "$DATABASE_URL" "$REDIS_URL" "$BROKER_URL"
