#!/usr/bin/env bash
# The production-stack half of `make bench` (issue 6, items 5 and 10), called by bench/run.sh.
#
#   bench/stack.sh prepare   # before run.sh's Gunicorn connects: the 512 MB profile's databases
#   bench/stack.sh run       # while run.sh's Gunicorn (gthread, the default) serves kore_bench
#
# `run`, in one go, everything on 127.0.0.1 with free ports, in a temporary directory that goes
# away at the end (trap), every process stopped by its own id:
#   1. Debian's Nginx rendered from the image's template (scripts/render-nginx.sh, rate-limit
#      allowlist 127.0.0.1) in front of run.sh's Gunicorn: wrk at 10 and 100 connections on
#      /api/v1/health/live/, the transactions list (first page) and the monthly category report
#      (warm cache), each through Nginx and direct, plus Nginx serving a static file.
#   2. Gunicorn worker classes, direct: sync (WEB_CONCURRENCY workers) vs gthread (the default).
#   3. The 512 MB profile (production.lowmem.yml) natively: its own Redis (50 MB, volatile-lru),
#      PgBouncer in transaction mode (installed from Debian when missing) before the shared
#      PostgreSQL's kore_lowmem / kore_lowmem_staging, Gunicorn gthread 2 workers (staging 1), a
#      threads-pool Celery worker with embedded beat each, Nginx with one worker each; summed PSS
#      per role during and after a list load through Nginx, against the 480 MB target.
#
# Env from run.sh: PY, OUT, DURATION, DATABASE_URL, SECRET_KEY (and the Django settings env),
# BENCH_GUNICORN_PORT, BENCH_TOKEN, BENCH_SLUG, BENCH_REPORT_QUERY.
# Own knobs: BENCH_LOWMEM_STAGING (1: start the staging half too), BENCH_LOWMEM_DB (kore_lowmem).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${OUT:-var/bench}
DURATION=${DURATION:-${BENCH_DURATION:-10s}}
HOST=127.0.0.1
LOWMEM_DB=${BENCH_LOWMEM_DB:-kore_lowmem}
STAGING_DB=${LOWMEM_DB}_staging
LOWMEM_STAGING=${BENCH_LOWMEM_STAGING:-1}
TARGET_MB=480
admin_url=${DATABASE_URL%/*}/postgres
bench_db=${DATABASE_URL##*/}
# The shared server: never stopped or reconfigured, only used (databases of our own).
pg_direct=${DATABASE_URL%/*}

log() { printf 'stack: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
seconds() {  # wrk durations: 10s, 2m, 1h, or plain seconds
  local d=$1
  case $d in
    *h) echo $((${d%h} * 3600)) ;;
    *m) echo $((${d%m} * 60)) ;;
    *s) echo "${d%s}" ;;
    *) echo "$d" ;;
  esac
}
seeded_count() {
  psql "${pg_direct}/$1" -tAc "SELECT count(*) FROM ledger_transaction t
    JOIN orgs_organization o ON o.id = t.organization_id WHERE o.slug LIKE 'seed-%'" 2>/dev/null || echo none
}

# --- prepare: kore_lowmem is a copy of the seeded bench database (CREATE DATABASE … TEMPLATE needs
# nobody connected to kore_bench, hence before run.sh starts Gunicorn); staging is migrated empty.
prepare() {
  local want have
  want=$(seeded_count "$bench_db")
  have=$(seeded_count "$LOWMEM_DB")
  if [[ $have != "$want" ]]; then
    log "copying $bench_db ($want seeded rows) to $LOWMEM_DB"
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS \"$LOWMEM_DB\""
    timeout 600 psql "$admin_url" -qc "CREATE DATABASE \"$LOWMEM_DB\" TEMPLATE \"$bench_db\""
  fi
  if [[ $LOWMEM_STAGING == 1 && -z $(psql "$admin_url" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$STAGING_DB'") ]]; then
    psql "$admin_url" -qc "CREATE DATABASE \"$STAGING_DB\""
  fi
  # Migrations connect directly (their advisory lock needs a session), as in the profile.
  DATABASE_URL=$pg_direct/$LOWMEM_DB timeout 600 "$PY" manage.py migrate --noinput -v0
  if [[ $LOWMEM_STAGING == 1 ]]; then
    DATABASE_URL=$pg_direct/$STAGING_DB timeout 600 "$PY" manage.py migrate --noinput -v0
  fi
}

# --- processes: each in its own session (process group = its pid), stopped by that id ----------
TMP=""
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  if [[ -n $TMP && -d $TMP ]]; then
    mkdir -p "$OUT/stack-logs"
    find "$TMP/logs" -name '*.log' ! -name '*access*' -exec cp {} "$OUT/stack-logs/" \; 2>/dev/null || true
    rm -rf "$TMP"
  fi
}

# start NAME CMD…: background in a new session; its pid in $started
started=""
start() {
  local name=$1
  shift
  setsid "$@" >"$TMP/logs/$name.log" 2>&1 </dev/null &
  started=$!
  PIDS+=("$started")
}

wait_http() {  # wait_http URL PID NAME: 200 within 45 s, or the log and out
  local url=$1 pid=$2 name=$3
  for _ in $(seq 225); do
    curl -fsm 2 -o /dev/null "$url" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 40 "$TMP/logs/$name.log" >&2; die "$name exited"; }
    sleep 0.2
  done
  tail -n 40 "$TMP/logs/$name.log" >&2
  die "$name: no 200 from $url in 45 s"
}

start_nginx() {  # start_nginx NAME PORT UPSTREAM [WORKERS CONNECTIONS]
  local name=$1 port=$2 upstream=$3 workers=${4:-auto} connections=${5:-1024} conf
  conf=$(NGINX_HTTP_PORT=$port NGINX_SERVER_NAME="127.0.0.1 localhost" \
    NGINX_UPSTREAM_SERVERS=$upstream NGINX_STATIC_DIR=$TMP/static NGINX_MEDIA_DIR=$TMP/media \
    NGINX_RATE_LIMIT_ALLOWLIST=$HOST NGINX_WORKER_PROCESSES=$workers \
    NGINX_WORKER_CONNECTIONS=$connections NGINX_ERROR_LOG=$TMP/logs/$name-error.log \
    NGINX_ACCESS_LOG=$TMP/logs/$name-access.log scripts/render-nginx.sh "$TMP/$name")
  "$NGINX" -t -q -p "$TMP/$name" -c "$conf" -e stderr
  start "$name" "$NGINX" -p "$TMP/$name" -c "$conf" -e stderr -g 'daemon off;'
  wait_http "http://$HOST:$port/health" "$started" "$name"
}

start_gunicorn() {  # start_gunicorn NAME PORT [ENV=VALUE…]; the bin dir from $BIN (.venv/bin)
  local name=$1 port=$2
  shift 2
  start "$name" env GUNICORN_BIND="$HOST:$port" GUNICORN_ACCESSLOG="$TMP/logs/$name-access.log" "$@" \
    "${BIN:-.venv/bin}/gunicorn" -c config/gunicorn.conf.py config.wsgi:application
  wait_http "http://$HOST:$port/api/v1/health/live/" "$started" "$name"
}

# --- wrk: one row in $RESULTS (tab separated) and on stdout ---------------------------------
RESULTS=""
wrk_line() {  # wrk_line CONNS URL -> "rps p50 p95 p99 errors"
  local line
  line=$(timeout $(($(seconds "$DURATION") + 60)) wrk -t2 -c"$1" -d"$DURATION" --timeout 10s \
    --latency -s bench/wrk.lua "$2" | grep '^BENCH ') || line="BENCH 0 0 0 0 -1"
  echo "${line#BENCH }"
}
ROW='%-7s %-9s %5s %10s %8s %8s %8s %7s %9s\n'
measure() {  # measure SECTION PATH ENDPOINT CONNS URL
  local section=$1 path=$2 endpoint=$3 conns=$4 url=$5 rps p50 p95 p99 errors
  read -r rps p50 p95 p99 errors <<<"$(wrk_line "$conns" "$url")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$section" "$path" "$endpoint" "$conns" "$rps" "$p50" "$p95" "$p99" "$errors" >>"$RESULTS"
}
get() {  # get SECTION PATH ENDPOINT CONNS FIELD(5=rps … 9=errors)
  awk -F'\t' -v s="$1" -v p="$2" -v e="$3" -v c="$4" -v f="$5" \
    '$1 == s && $2 == p && $3 == e && $4 == c { print $f }' "$RESULTS"
}
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }

# --- PSS ----------------------------------------------------------------------------------------
descendants() {  # the pid and every process under it
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid" 2>/dev/null); do descendants "$child"; done
}
pss_kb() {  # summed Pss (kB) of the given pids, wrappers (setsid/runuser/env) left out
  local total=0 pid comm kb
  for pid in "$@"; do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == runuser || $comm == setsid ]] && continue
    kb=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null) || continue
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
counted() {  # how many of the given pids pss_kb counts
  local n=0 pid comm
  for pid in "$@"; do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
    [[ $comm == runuser || $comm == setsid ]] && continue
    n=$((n + 1))
  done
  echo "$n"
}

# ROLES: "label<TAB>root pid" lines, filled while the profile starts
ROLES=()
pg_backends() {  # PostgreSQL backends connected to the profile's databases
  psql "$admin_url" -tAc "SELECT pid FROM pg_stat_activity
    WHERE datname IN ('$LOWMEM_DB', '$STAGING_DB') AND pid <> pg_backend_pid()"
}
snapshot() {  # snapshot FILE: "label<TAB>procs<TAB>kB" per role
  local file=$1 entry label root pids
  : >"$file"
  for entry in "${ROLES[@]}"; do
    label=${entry%%$'\t'*}
    root=${entry#*$'\t'}
    mapfile -t pids < <(descendants "$root")
    printf '%s\t%s\t%s\n' "$label" "$(counted "${pids[@]}")" "$(pss_kb "${pids[@]}")" >>"$file"
  done
  mapfile -t pids < <(pg_backends)
  printf '%s\t%s\t%s\n' "postgres backends ($LOWMEM_DB*)" "$(counted "${pids[@]}")" \
    "$(pss_kb "${pids[@]}")" >>"$file"
  printf '%s\t%s\t%s\n' "postmaster" 1 "$(pss_kb "$POSTMASTER")" >>"$file"
  mapfile -t pids < <(pgrep -P "$POSTMASTER" | grep -vxF -f <(psql "$admin_url" -tAc \
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'"))
  printf '%s\t%s\t%s\n' "(postgres auxiliaries)" "$(counted "${pids[@]}")" \
    "$(pss_kb "${pids[@]}")" >>"$file"
}

run() {
  : "${BENCH_GUNICORN_PORT:?run by bench/run.sh}" "${BENCH_TOKEN:?}" "${BENCH_SLUG:?}"
  : "${BENCH_REPORT_QUERY:?}"
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $NGINX ]] || die "nginx is missing: apt-get install -y nginx"
  TMP=$(mktemp -d /tmp/kore-bench-stack.XXXXXX)
  chmod 755 "$TMP"
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$TMP/logs" "$TMP/static" "$TMP/media" "$OUT"
  RESULTS=$OUT/stack-results.tsv
  : >"$RESULTS"
  # A 16-byte file under a hashed name (the immutable /static/ location).
  printf 'kore bench file\n' >"$TMP/static/bench.0123456789ab.txt"

  local gthread=$HOST:$BENCH_GUNICORN_PORT nginx_port
  nginx_port=$(free_port)
  start_nginx nginx "$nginx_port" "$gthread"
  local via="http://$HOST:$nginx_port" direct="http://$gthread"
  local list="/api/v1/orgs/$BENCH_SLUG/transactions/?limit=50"
  local report="/api/v1/orgs/$BENCH_SLUG/reports/categories/?$BENCH_REPORT_QUERY"
  local endpoints=(live list report)
  local paths=("/api/v1/health/live/" "$list" "$report")
  local i code conns
  for i in "${!paths[@]}"; do  # 200 both ways before anything is measured (warms the report)
    for base in "$via" "$direct"; do
      code=$(curl -sm 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_TOKEN" \
        "$base${paths[$i]}")
      [[ $code == 200 ]] || die "$base${paths[$i]} answered $code"
    done
  done
  code=$(curl -sm 5 -o /dev/null -w '%{http_code}' "$via/static/bench.0123456789ab.txt")
  [[ $code == 200 ]] || die "the static file answered $code"

  # 1. Nginx vs direct, each pair back to back.
  log "1/3 Nginx vs direct (wrk -t2 -d$DURATION, $((14 * $(seconds "$DURATION"))) s)…"
  for conns in 10 100; do
    measure proxy nginx static "$conns" "$via/static/bench.0123456789ab.txt"
    for i in "${!paths[@]}"; do
      measure proxy nginx "${endpoints[$i]}" "$conns" "$via${paths[$i]}"
      measure proxy direct "${endpoints[$i]}" "$conns" "$direct${paths[$i]}"
    done
  done

  # 2. Worker classes, direct: a sync Gunicorn beside the gthread one, interleaved.
  local sync_port
  sync_port=$(free_port)
  log "2/3 Gunicorn sync vs gthread…"
  start_gunicorn gunicorn-sync "$sync_port" GUNICORN_WORKER_CLASS=sync
  local sync_pid=$started
  local sync_workers
  sync_workers=$(pgrep -P "$sync_pid" -c || true)
  local gthread_workers
  gthread_workers=$(pgrep -P "$BENCH_GUNICORN_PID" -c || true)
  for conns in 10 100; do
    for i in 0 1; do
      measure classes gthread "${endpoints[$i]}" "$conns" "$direct${paths[$i]}"
      measure classes sync "${endpoints[$i]}" "$conns" "http://$HOST:$sync_port${paths[$i]}"
    done
  done
  kill -TERM -- "-$sync_pid" 2>/dev/null || true  # its database connections go now

  # 3. The 512 MB profile.
  log "3/3 the 512 MB profile (production.lowmem.yml) natively…"
  lowmem
  local lowmem_list="http://$HOST:$LOWMEM_NGINX_PORT$list"

  # ---------------------------------------------------------------------------------------------
  {
    printf '\n== 1. Nginx (Debian %s, same template, allowlist 127.0.0.1) vs Gunicorn direct ==\n' \
      "$("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
    printf 'wrk -t2 -d%s --latency; Gunicorn: %s; list = first page of %s (limit=50), ' \
      "$DURATION" "$(gunicorn_desc)" "$BENCH_SLUG"
    printf 'report = monthly category totals (warm cache)\n'
    # shellcheck disable=SC2059
    printf "$ROW" path endpoint conns req/s p50ms p95ms p99ms errors ngx/dir
    for conns in 10 100; do
      row proxy nginx static "$conns" ""
      for e in "${endpoints[@]}"; do
        row proxy nginx "$e" "$conns" \
          "$(pct "$(get proxy nginx "$e" "$conns" 5)" "$(get proxy direct "$e" "$conns" 5)")"
        row proxy direct "$e" "$conns" ""
      done
    done
    printf '\n== 2. Gunicorn worker classes, direct (sync: %s workers; gthread: %s workers x %s threads) ==\n' \
      "$sync_workers" "$gthread_workers" "${GUNICORN_THREADS:-4}"
    # shellcheck disable=SC2059
    printf "$ROW" class endpoint conns req/s p50ms p95ms p99ms errors sync/gth
    for conns in 10 100; do
      for e in live list; do
        row classes gthread "$e" "$conns" ""
        row classes sync "$e" "$conns" \
          "$(pct "$(get classes sync "$e" "$conns" 5)" "$(get classes gthread "$e" "$conns" 5)")"
      done
    done
    class_verdict
    printf '\n== 3. The 512 MB profile natively: summed PSS per role ==\n'
    lowmem_describe
    lowmem_measure "$lowmem_list"
    printf '\n== Targets ==\n'
    targets
  } | tee "$OUT/stack.txt"
}

gunicorn_desc() {
  local master=$BENCH_GUNICORN_PID n
  n=$(pgrep -P "$master" -c || true)
  printf '%s x %s (%s workers x %s threads)' "${GUNICORN_WORKER_CLASS:-gthread}" "$n" "$n" \
    "${GUNICORN_THREADS:-4}"
}

row() {  # row SECTION PATH ENDPOINT CONNS RATIO
  local s=$1 p=$2 e=$3 c=$4
  # shellcheck disable=SC2059
  printf "$ROW" "$p" "$e" "$c" "$(get "$s" "$p" "$e" "$c" 5)" "$(get "$s" "$p" "$e" "$c" 6)" \
    "$(get "$s" "$p" "$e" "$c" 7)" "$(get "$s" "$p" "$e" "$c" 8)" "$(get "$s" "$p" "$e" "$c" 9)" \
    "${5:-}"
}

class_verdict() {
  local c10 c100
  c10=$(awk -v a="$(get classes sync list 10 5)" -v b="$(get classes gthread list 10 5)" \
    'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
  c100=$(awk -v a="$(get classes sync list 100 5)" -v b="$(get classes gthread list 100 5)" \
    'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
  printf 'list, sync/gthread req/s: %s at 10 connections, %s at 100 -> ' "$c10" "$c100"
  if awk -v a="$c10" -v b="$c100" 'BEGIN { exit !(a > 1.10 && b > 1.10) }'; then
    printf 'sync clearly faster (>10%% at both): it should be the default\n'
  elif awk -v a="$c10" -v b="$c100" 'BEGIN { exit !(a > 1 && b > 1) }'; then
    printf 'sync faster, but by less than 10%% at one level at least: keep gthread\n'
  else
    printf 'gthread as fast or faster: keep gthread\n'
  fi
}

# --- the 512 MB profile ------------------------------------------------------------------------
PGBOUNCER=""
LOWMEM_NGINX_PORT=""
POSTMASTER=""
DB_MODE=""
SSC_NOTE="" LOWMEM_PACKAGES=""
lowmem() {
  PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  if [[ ! -x $PGBOUNCER ]]; then
    log "installing pgbouncer (Debian)…"
    timeout 300 apt-get install -y -q pgbouncer >/dev/null 2>&1 \
      || { timeout 120 apt-get update -q >/dev/null 2>&1 \
        && timeout 300 apt-get install -y -q pgbouncer >/dev/null 2>&1; } || true
  fi
  POSTMASTER=$(ps -o ppid= -p "$(psql "$admin_url" -tAc \
    "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")" | tr -d ' ')
  local redis_port
  redis_port=$(free_port)
  mkdir -p "$TMP/redis"
  start redis redis-server --bind "$HOST" --port "$redis_port" --dir "$TMP/redis" --save "" \
    --appendonly yes --maxmemory 50mb --maxmemory-policy volatile-lru
  local redis_pid=$started
  for _ in $(seq 75); do
    redis-cli -h "$HOST" -p "$redis_port" ping 2>/dev/null | grep -q PONG && break
    kill -0 "$redis_pid" 2>/dev/null || { cat "$TMP/logs/redis.log" >&2; die "redis exited"; }
    sleep 0.2
  done
  ROLES+=("redis (own, 50mb volatile-lru)"$'\t'"$redis_pid")

  local db_base pgb_pid=""
  if [[ -x $PGBOUNCER ]]; then
    local pgb_port pgb=$TMP/pgbouncer
    pgb_port=$(free_port)
    mkdir -p "$pgb"
    printf '"postgres" ""\n' >"$pgb/userlist.txt"
    # production.lowmem.yml's PgBouncer: transaction pooling, 100 clients, 4 per pool, 30 in all.
    local pg_hostport=${pg_direct#*@}
    cat >"$pgb/pgbouncer.ini" <<EOF
[databases]
* = host=${pg_hostport%:*} port=${pg_hostport##*:}
[pgbouncer]
listen_addr = $HOST
listen_port = $pgb_port
unix_socket_dir =
auth_type = trust
auth_file = $pgb/userlist.txt
pool_mode = transaction
max_client_conn = 100
default_pool_size = 4
max_db_connections = 30
ignore_startup_parameters = extra_float_digits,options
logfile = $pgb/pgbouncer.log
pidfile = $pgb/pgbouncer.pid
EOF
    if [[ $(id -u) == 0 ]]; then  # PgBouncer refuses to run as root
      chown -R postgres "$pgb"
      start pgbouncer runuser -u postgres -- "$PGBOUNCER" "$pgb/pgbouncer.ini"
    else
      start pgbouncer "$PGBOUNCER" "$pgb/pgbouncer.ini"
    fi
    pgb_pid=$started
    for _ in $(seq 75); do
      psql "postgres://postgres@$HOST:$pgb_port/$LOWMEM_DB" -tAc 'SELECT 1' >/dev/null 2>&1 && break
      kill -0 "$pgb_pid" 2>/dev/null || { cat "$TMP/logs/pgbouncer.log" "$pgb/pgbouncer.log" >&2; die "pgbouncer exited"; }
      sleep 0.2
    done
    ROLES+=("pgbouncer (transaction pool)"$'\t'"$pgb_pid")
    db_base="postgres://postgres@$HOST:$pgb_port"
    DB_MODE="PgBouncer $("$PGBOUNCER" --version 2>/dev/null | head -n1 | awk '{print $2}') (transaction mode, pool 4, max 30) on :$pgb_port before PostgreSQL ${pg_direct#*@}"
  else
    db_base=$pg_direct
    DB_MODE="PgBouncer could not be installed: Django connects to PostgreSQL ${pg_direct#*@} directly"
  fi

  # DISABLE_SERVER_SIDE_CURSORS as the profile sets it (env) and in the URL, which is what
  # config/settings reads (django-environ takes it from DATABASE_URL's query string).
  local q="" effective env_only
  [[ -n $pgb_pid ]] && q="?DISABLE_SERVER_SIDE_CURSORS=True"
  local check='import django; django.setup(); from django.conf import settings; print(settings.DATABASES["default"].get("DISABLE_SERVER_SIDE_CURSORS", False))'
  effective=$(DATABASE_URL="$db_base/$LOWMEM_DB$q" DISABLE_SERVER_SIDE_CURSORS=True "$PY" -c "$check")
  env_only=$(DATABASE_URL="$db_base/$LOWMEM_DB" DISABLE_SERVER_SIDE_CURSORS=True "$PY" -c "$check")
  SSC_NOTE="DISABLE_SERVER_SIDE_CURSORS in effect: $effective (the env var alone gives $env_only)"

  # The image's packages, not the development virtualenv's: production dependencies and the
  # production extra only (what `uv export --no-dev --extra production` gives the Dockerfile).
  # Development-only packages that Django or DRF import when present (jinja2 for django.test,
  # pygments for DRF) would otherwise count in every process's footprint.
  local BIN=$OUT/venv-production/bin
  log "3/3 a production-only virtualenv ($OUT/venv-production)…"
  UV_PROJECT_ENVIRONMENT=$OUT/venv-production timeout 600 .tools/bin/uv sync --frozen --no-dev \
    --extra production --python "$(command -v python3)" --quiet \
    || die "could not make the production-only virtualenv"
  LOWMEM_PACKAGES="Packages: production dependencies only (uv sync --no-dev --extra production), as in the image"

  local envs=("$LOWMEM_DB" prod 2 2 0 1 kore)
  [[ $LOWMEM_STAGING == 1 ]] && envs+=("$STAGING_DB" staging 1 1 2 3 kore-staging)
  local n=0
  while ((n < ${#envs[@]})); do
    local db=${envs[$n]} name=${envs[$((n + 1))]} web=${envs[$((n + 2))]}
    local conc=${envs[$((n + 3))]} cache_db=${envs[$((n + 4))]} broker_db=${envs[$((n + 5))]}
    local prefix=${envs[$((n + 6))]}
    n=$((n + 7))
    local app_env=(DATABASE_URL="$db_base/$db$q" DISABLE_SERVER_SIDE_CURSORS=True
      REDIS_URL="redis://$HOST:$redis_port/$cache_db" CELERY_BROKER_URL="redis://$HOST:$redis_port/$broker_db"
      CACHE_KEY_PREFIX="$prefix" MALLOC_ARENA_MAX=2)
    local web_port nginx_port
    web_port=$(free_port)
    start_gunicorn "gunicorn-$name" "$web_port" "${app_env[@]}" WEB_CONCURRENCY="$web" \
      GUNICORN_WORKER_CLASS=gthread GUNICORN_THREADS=4 GUNICORN_MAX_REQUESTS=500 \
      GUNICORN_PRELOAD="$([[ $web -gt 1 ]] && echo true || echo false)"
    ROLES+=("gunicorn $name (master + $web gthread x4)"$'\t'"$started")
    start "worker-$name" env "${app_env[@]}" CELERY_WORKER_MAX_TASKS_PER_CHILD=200 \
      "$BIN/celery" --app config.celery_app worker --pool threads --concurrency "$conc" --beat-thread \
      --hostname "bench-$name-$web_port@%h" \
      --without-gossip --without-mingle --loglevel INFO
    local worker_pid=$started
    ROLES+=("celery $name (threads x$conc, --beat-thread)"$'\t'"$worker_pid")
    nginx_port=$(free_port)
    start_nginx "nginx-$name" "$nginx_port" "$HOST:$web_port" 1 "$([[ $name == prod ]] && echo 512 || echo 256)"
    ROLES+=("nginx $name (1 worker)"$'\t'"$started")
    [[ $name == prod ]] && LOWMEM_NGINX_PORT=$nginx_port
    for _ in $(seq 225); do
      grep -q ' ready\.' "$TMP/logs/worker-$name.log" 2>/dev/null && break
      kill -0 "$worker_pid" 2>/dev/null || { tail -n 40 "$TMP/logs/worker-$name.log" >&2; die "worker-$name exited"; }
      sleep 0.2
    done
    grep -q ' ready\.' "$TMP/logs/worker-$name.log" || die "worker-$name not ready in 45 s"
  done
  # The profile's token and a warm report cache (its own Redis).
  LOWMEM_TOKEN=$(DATABASE_URL="$pg_direct/$LOWMEM_DB" "$PY" bench/helper.py token "$BENCH_SLUG")
  local base="http://$HOST:$LOWMEM_NGINX_PORT/api/v1/orgs/$BENCH_SLUG"
  for path in "transactions/?limit=50" "reports/categories/?$BENCH_REPORT_QUERY"; do
    code=$(curl -sm 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $LOWMEM_TOKEN" "$base/$path")
    [[ $code == 200 ]] || die "lowmem $path answered $code"
  done
}

lowmem_describe() {
  printf 'Database: %s; databases %s%s on the shared PostgreSQL (%s, shared_buffers=%s, not the profile'"'"'s 32MB).\n' \
    "$DB_MODE" "$LOWMEM_DB" "$([[ $LOWMEM_STAGING == 1 ]] && echo " and $STAGING_DB")" \
    "$(psql "$admin_url" -tAc 'SHOW server_version' | awk '{print $1}')" \
    "$(psql "$admin_url" -tAc 'SHOW shared_buffers')"
  printf '%s.\n' "$SSC_NOTE"
  printf '%s.\n' "$LOWMEM_PACKAGES"
  printf 'Counted: every process of each role (master + children); PostgreSQL: the backends in\n'
  printf 'pg_stat_activity for those databases plus the postmaster. The server'"'"'s auxiliary processes\n'
  printf '(checkpointer, bgwriter, walwriter, launchers) are shown, not counted: they serve every\n'
  printf 'database of the shared server. Load: wrk -t2 -c100 -d%s on the list through the prod Nginx.\n' "$DURATION"
}

lowmem_measure() {
  local url=$1 secs during=$TMP/pss-during after=$TMP/pss-after wrk_out=$TMP/lowmem-wrk
  secs=$(seconds "$DURATION")
  BENCH_TOKEN=$LOWMEM_TOKEN wrk_line 100 "$url" >"$wrk_out" &
  local wrk_pid=$!
  # Two samples during the load (at ~40 % and ~80 %); the larger total is reported.
  sleep "$(awk -v s="$secs" 'BEGIN { print s * 0.4 }')"
  snapshot "$during.1"
  sleep "$(awk -v s="$secs" 'BEGIN { print s * 0.4 }')"
  snapshot "$during.2"
  wait "$wrk_pid" || true
  local t1 t2
  t1=$(awk -F'\t' '$1 !~ /^\(/ { s += $3 } END { print s }' "$during.1")
  t2=$(awk -F'\t' '$1 !~ /^\(/ { s += $3 } END { print s }' "$during.2")
  if ((t1 > t2)); then cp "$during.1" "$during"; else cp "$during.2" "$during"; fi
  sleep 3
  snapshot "$after"
  local rps p50 p95 p99 errors
  read -r rps p50 p95 p99 errors <"$wrk_out"
  printf 'list through the profile'"'"'s Nginx at 100 connections: %s req/s, p50 %s ms, p95 %s ms, p99 %s ms, %s errors\n' \
    "$rps" "$p50" "$p95" "$p99" "$errors"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' lowmem nginx list 100 "$rps" "$p50" "$p95" "$p99" "$errors" >>"$RESULTS"
  printf '%-44s %9s %11s %10s\n' role procs 'during MB' 'after MB'
  paste "$during" "$after" | awk -F'\t' -v target="$TARGET_MB" '
    { printf "%-44s %9s %11.1f %10.1f\n", $1, $2 "/" $5, $3 / 1024, $6 / 1024
      if ($1 !~ /^\(/) { d += $3; a += $6 } else { xd = $3; xa = $6 } }
    END {
      printf "%-44s %9s %11.1f %10.1f\n", "TOTAL counted", "", d / 1024, a / 1024
      printf "%-44s %9s %11.1f %10.1f\n", "total with the postgres auxiliaries", "", (d + xd) / 1024, (a + xa) / 1024
      printf "target <= %d MB summed PSS: during %s, after %s\n", target,
        (d / 1024 <= target ? "MET" : "NOT MET"), (a / 1024 <= target ? "MET" : "NOT MET")
    }' | tee "$TMP/pss-summary"
  cp "$during" "$OUT/pss-during.tsv"
  cp "$after" "$OUT/pss-after.tsv"
}

targets() {
  local c ratio p95 errs
  for c in 10 100; do
    ratio=$(awk -v a="$(get proxy nginx list "$c" 5)" -v b="$(get proxy direct list "$c" 5)" \
      'BEGIN { printf "%.0f", (b > 0) ? 100 * a / b : 0 }')
    printf 'list through Nginx >= 80%% of direct at %3s connections: %s%% -> %s\n' "$c" "$ratio" \
      "$( ((ratio >= 80)) && echo MET || echo 'NOT MET')"
  done
  for e in live list report; do
    p95=$(get proxy nginx "$e" 100 7)
    printf 'p95 < 200 ms at 100 connections through Nginx, %-6s: %8s ms -> %s\n' "$e" "$p95" \
      "$(awk -v p="$p95" 'BEGIN { print (p < 200) ? "MET" : "NOT MET" }')"
  done
  p95=$(get lowmem nginx list 100 7)
  printf 'p95 < 200 ms at 100 connections, list on the 512 MB profile: %s ms -> %s\n' "$p95" \
    "$(awk -v p="$p95" 'BEGIN { print (p < 200) ? "MET" : "NOT MET" }')"
  errs=$(awk -F'\t' '{ s += ($9 < 0 ? 1e9 : $9) } END { print s }' "$RESULTS")
  printf '0 errors over every wrk run: %s -> %s\n' "$errs" "$( ((errs == 0)) && echo MET || echo 'NOT MET')"
  grep '^target' "$TMP/pss-summary" | sed 's/^target/512 MB profile: target/'
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run" >&2; exit 2 ;;
esac
