#!/usr/bin/env bash
# `make bench`: seed PostgreSQL, serve Kore with Gunicorn on 127.0.0.1, load it with wrk; then
# a bare Django (bench/bare: Security and Common middleware, no auth, same Gunicorn settings and
# database) measured in the same run as the reference every Kore figure is a ratio to (bare_rows:
# Kore's first-page SQL and body; bare_mandatory: the same after only what every Kore list request
# must do: verify the JWT, Kore's prepared authentication query, its Redis throttle round trip,
# its JSON request line); then
# bench/stack.sh: Nginx vs direct, sync vs gthread, the 512 MB profile's PSS (var/bench/stack.txt).
# Env: BENCH_TRANSACTIONS (1000000), BENCH_ORGS (10), DATABASE_URL, BENCH_DURATION (10s),
# BENCH_STACK (1; 0 skips bench/stack.sh), BENCH_LOWMEM_STAGING (1), BENCH_IMPORTS (1; 0 skips
# bench/imports.sh: import via a real worker vs raw COPY, CSV export, var/bench/imports.txt),
# BENCH_UNCACHED_ROUNDS (7: runs of each report computed uncached, converted vs not, best kept),
# BENCH_SUGGESTIONS (1; 0 skips bench/suggestions.py: category suggestion methods compared on
# generated data, var/bench/suggestions.txt), BENCH_WEBHOOKS (1; 0 skips bench/webhooks.sh: webhook
# delivery rate through a worker killed midway, var/bench/webhooks.txt).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
TRANSACTIONS=${BENCH_TRANSACTIONS:-1000000}
ORGS=${BENCH_ORGS:-10}
DURATION=${BENCH_DURATION:-10s}
UNCACHED_ROUNDS=${BENCH_UNCACHED_ROUNDS:-7}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kore_bench}
export REDIS_URL=${BENCH_REDIS_URL:-redis://127.0.0.1:6379/5}
export DJANGO_SETTINGS_MODULE=config.settings.production
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(64))')
export SECRET_KEY ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=False DEBUG=False
export SECURE_HSTS_SECONDS=0 KORE_LOG_FORMAT=json DJANGO_LOG_LEVEL=INFO
# One person drives every request: lift their rate limit (a 1 s window keeps the history short).
export KORE_THROTTLE_USER=1000000/s
# max_requests=1000 recycles every worker each few seconds at this load (a re-import costs ~1 s of
# CPU and drops connections): measure the steady state unless asked otherwise.
export GUNICORN_MAX_REQUESTS=${BENCH_MAX_REQUESTS:-0}
OUT=var/bench
mkdir -p "$OUT"
export PY OUT DURATION

log() { printf '%s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
  log "Installing wrk…"
  timeout 300 apt-get install -y -q wrk >/dev/null \
    || { timeout 120 apt-get update -q >/dev/null && timeout 300 apt-get install -y -q wrk >/dev/null; }
fi

# --- Database: create, migrate, seed (only when the seeded count differs) -----------------------
db_name=${DATABASE_URL##*/}
admin_url=${DATABASE_URL%/*}/postgres
if [[ -z $(psql "$admin_url" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db_name'") ]]; then
  psql "$admin_url" -qc "CREATE DATABASE \"$db_name\""
fi
"$PY" manage.py migrate --noinput -v0
seeded=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM ledger_transaction t
  JOIN orgs_organization o ON o.id = t.organization_id WHERE o.slug LIKE 'seed-%'")
norgs=$(psql "$DATABASE_URL" -tAc "SELECT count(*) FROM orgs_organization WHERE slug LIKE 'seed-%'")
if [[ $seeded != "$TRANSACTIONS" || $norgs != "$ORGS" ]]; then
  timeout 1800 "$PY" manage.py seed_demo --reset --seed 1 --transactions "$TRANSACTIONS" \
    --orgs "$ORGS" | grep -v '^  seed-' | tee "$OUT/seed.txt" >&2
fi
# The 512 MB profile's databases (a copy of this one) while nothing is connected to it.
[[ ${BENCH_STACK:-1} == 0 ]] || bench/stack.sh prepare

# --- Gunicorn on a free loopback port, always stopped at the end --------------------------------
# Each server logs every request once, as in production: Kore its kore.request JSON line (route,
# user, organisation; Gunicorn's access log is off), the bare reference Gunicorn's access line.
# Kore's metrics use the multiprocess collector, as its containers do.
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
rm -rf "$OUT/prometheus"
GUNICORN_BIND=127.0.0.1:$port PROMETHEUS_MULTIPROC_DIR=$OUT/prometheus \
  .venv/bin/gunicorn -c config/gunicorn.conf.py config.wsgi:application >"$OUT/gunicorn.log" 2>&1 &
gunicorn_pid=$!
# The bare reference on its own port, same Gunicorn settings (workers, threads).
bare_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bare="http://127.0.0.1:$bare_port"
GUNICORN_BIND=127.0.0.1:$bare_port GUNICORN_ACCESSLOG=$OUT/bare-access.log \
  DJANGO_SETTINGS_MODULE=bench.bare.settings BENCH_BARE_ROWS_SQL=$OUT/bare-rows.sql \
  BENCH_BARE_AUTH_SQL=$OUT/bare-auth.json BENCH_BARE_ORG_SLUG=seed-01 \
  .venv/bin/gunicorn -c config/gunicorn.conf.py bench.bare.wsgi:application >"$OUT/bare.log" 2>&1 &
bare_pid=$!
stop() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() { stop "$gunicorn_pid"; stop "$bare_pid"; }
trap cleanup EXIT INT TERM
for check in "$base/api/v1/health/live/ $gunicorn_pid gunicorn" "$bare/live/ $bare_pid bare"; do
  read -r url pid name <<<"$check"
  for _ in $(seq 100); do
    curl -fsm 2 "$url" >/dev/null 2>&1 && break
    kill -0 "$pid" || { cat "$OUT/$name.log" >&2; exit 1; }
    sleep 0.2
  done
done

slug=seed-01
BENCH_TOKEN=$("$PY" bench/helper.py token "$slug")
export BENCH_TOKEN
per_org=$((TRANSACTIONS / ORGS))
depth=$((per_org - 1000 < 90000 ? per_org - 1000 : 90000))
log "Walking $depth rows with limit=500 for the deep cursor…"
deep_cursor=$(timeout 300 "$PY" bench/helper.py walk "$base" "$slug" "$BENCH_TOKEN" "$depth")
deep_q=$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$deep_cursor")
food=$("$PY" bench/helper.py category "$slug" Food)
date_to=$(date -u +%F)
date_from=$(date -u -d '-365 days' +%F)
api="$base/api/v1/orgs/$slug"
report="$api/reports/categories/?date_from=$date_from&date_to=$date_to"
curl -fsm 60 -H "Authorization: Bearer $BENCH_TOKEN" "$report" >/dev/null  # warm the cache
# The same report added up in one reporting currency (USD; the organisation books in EUR, GBP,
# USD and JPY): a rate every working day, so every row converts (EUR direct, GBP and JPY through
# EUR).
"$PY" bench/helper.py rates "$slug" 400 >/dev/null
report_fx="$report&currency=USD"
curl -fsm 120 -H "Authorization: Bearer $BENCH_TOKEN" "$report_fx" >/dev/null

org_id=$("$PY" bench/helper.py org "$slug")
# bare_rows: Kore's own first-page SQL and body served by the bare Django (no auth, no DRF).
"$PY" bench/helper.py page-sql "$slug" "$OUT/bare-rows.sql"
# bare_mandatory: those rows after Kore's JWT check, authentication query (the statement written
# here), throttle and request line, for BENCH_TOKEN on $slug (BENCH_BARE_ORG_SLUG above).
"$PY" bench/helper.py auth-sql "$slug" "$OUT/bare-auth.json"
# Bare first, then Kore; each Kore figure is divided by the bare figure named here.
# report_fx is divided by the unconverted report instead; bare_rows and bare_mandatory by the bare
# list (what Kore's rows cost a request, then those plus the work Kore cannot drop).
names=(bare_trivial bare_list bare_rows bare_mandatory trivial first_page deep_page filtered report
  report_fx)
refs=(- - bare_list bare_list bare_trivial bare_list bare_list bare_list bare_list report)
urls=(
  "$bare/live/"
  "$bare/orgs/$org_id/transactions/?limit=50"
  "$bare/rows/"
  "$bare/mandatory/"
  "$base/api/v1/health/live/"
  "$api/transactions/?limit=50"
  "$api/transactions/?limit=50&cursor=$deep_q"
  "$api/transactions/?limit=50&date_from=$date_from&date_to=$date_to&category=$food"
  "$report"
  "$report_fx"
)
for url in "${urls[@]}"; do  # every endpoint must answer 200 before it is measured
  code=$(curl -sm 30 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $BENCH_TOKEN" "$url")
  [[ $code == 200 ]] || { log "$url answered $code"; exit 1; }
done
# Warm-up, not measured: every worker thread opens its database and Redis connections and runs
# each endpoint once, so the first endpoint measured does not pay for what the others reuse.
log "Warming up every endpoint (2 s each at 100 connections)…"
for url in "${urls[@]}"; do
  wrk -t2 -c100 -d2s --timeout 10s -s bench/wrk.lua "$url" >/dev/null
done

# Targets of the same run: Kore's trivial view and its lists as a share of the bare ones.
declare -A target=([trivial]=70 [first_page]=60 [deep_page]=60 [filtered]=60 [report]=60
  [report_fx]=60)
# Each figure is measured next to its reference, in the order reference, figure, figure,
# reference (half the duration each): a ratio of two loads taken tens of seconds apart moved
# with whatever else the machine did in between (15 points between two runs of the same code);
# this order cancels a drift that is steady over the pair.
duration_s=${DURATION%s}
[[ $duration_s =~ ^[0-9]+$ && $duration_s -ge 2 ]] \
  || { log "BENCH_DURATION must be whole seconds, at least 2s (got $DURATION)"; exit 1; }
half=$((duration_s / 2))s
measure() {  # URL CONNS -> "req/s p50 p95 p99 errors"
  wrk -t2 -c"$2" -d"$half" --timeout 10s --latency -s bench/wrk.lua "$1" | grep '^BENCH ' \
    | cut -d' ' -f2-
}
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a + b) / 2 }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
{
  printf 'Kore bench %s: %s transactions / %s orgs, deep page after %s rows, wrk -t2, %s a figure\n' \
    "$(date -u +%FT%TZ)" "$TRANSACTIONS" "$ORGS" "$depth" "$DURATION"
  printf 'bare_* = bench/bare (Security + Common middleware, no auth, .values() + orjson) on the same\n'
  printf 'Gunicorn settings and database. Each figure is measured beside its reference (reference,\n'
  printf 'figure, figure, reference; %s each): vs_ref = figure / that reference (ref_req/s);\n' "$half"
  printf "vs_trivial = / Kore's trivial view as measured beside bare_trivial.\n"
  printf '%-14s %5s %9s %8s %8s %8s %7s  %-14s %9s %7s %10s\n' \
    endpoint conns req/s p50ms p95ms p99ms errors reference ref_req/s vs_ref vs_trivial
  declare -A rps_of=() ratio_of=() url_of=()
  for i in "${!names[@]}"; do url_of[${names[$i]}]=${urls[$i]}; done
  errors_total=0
  checks=()
  split=()
  for conns in 10 100; do
    for i in "${!names[@]}"; do
      ref=${refs[$i]}
      [[ $ref != - ]] || continue
      name=${names[$i]}
      ref_url=${url_of[$ref]}
      read -r r1 _ _ _ re1 <<<"$(measure "$ref_url" "$conns")"
      read -r a1 p50a p95a p99a e1 <<<"$(measure "${urls[$i]}" "$conns")"
      read -r a2 p50b p95b p99b e2 <<<"$(measure "${urls[$i]}" "$conns")"
      read -r r2 _ _ _ re2 <<<"$(measure "$ref_url" "$conns")"
      rps=$(mean "$a1" "$a2")
      ref_rps=$(mean "$r1" "$r2")
      errors=$((e1 + e2))
      errors_total=$((errors_total + e1 + e2 + re1 + re2))
      rps_of[$name]=$rps
      ratio_of[$name]=$(awk -v a="$rps" -v b="$ref_rps" 'BEGIN { print a / b }')
      vs_ref=$(pct "$rps" "$ref_rps")
      vs_trivial=-
      [[ $name == bare_* || $name == trivial ]] || vs_trivial=$(pct "$rps" "${rps_of[trivial]}")
      want=${target[$name]:-}
      if [[ -n $want ]]; then
        met=$(awk -v a="$rps" -v b="$ref_rps" -v w="$want" \
          'BEGIN { print (100 * a >= w * b) ? "met" : "MISSED" }')
        checks+=("$(printf '%-6s %-12s at %3s connections >= %s%% of %s: %s (%s vs %s req/s)' \
          "$met" "$name" "$conns" "$want" "$ref" "$vs_ref" "$rps" "$ref_rps")")
      fi
      if [[ $name == first_page ]]; then
        # Each a share of the bare list measured beside it; their quotient splits the gap.
        split+=("$(printf 'at %3s connections: bare_rows / bare_list %s, first_page / bare_rows %s' \
          "$conns" "$(pct "${ratio_of[bare_rows]}" 1)" \
          "$(pct "${ratio_of[first_page]}" "${ratio_of[bare_rows]}")")")
        split+=("$(printf 'at %3s connections: bare_mandatory / bare_list %s, first_page / bare_mandatory %s' \
          "$conns" "$(pct "${ratio_of[bare_mandatory]}" 1)" \
          "$(pct "${ratio_of[first_page]}" "${ratio_of[bare_mandatory]}")")")
      fi
      printf '%-14s %5s %9s %8s %8s %8s %7s  %-14s %9s %7s %10s\n' "$name" "$conns" "$rps" \
        "$(mean "$p50a" "$p50b")" "$(mean "$p95a" "$p95b")" "$(mean "$p99a" "$p99b")" "$errors" \
        "$ref" "$ref_rps" "$vs_ref" "$vs_trivial"
    done
  done
  printf "\nThe first page's gap, split: what Kore's rows cost (its SQL and body served bare) and what\n"
  printf 'the rest of Kore costs (authentication, scoping, throttle, DRF, log, metrics); then what the\n'
  printf 'work every list request must keep costs by itself (bare_mandatory: JWT check, the prepared\n'
  printf 'authentication query, one Redis throttle round trip, the JSON request line) and the rest:\n'
  printf '%s\n' "${split[@]}"
  printf '\nreport and report_fx above: wrk through HTTP, served from the report cache (per\n'
  printf 'organisation and ledger version) after the first request: what repeated views get.\n'
  printf 'Uncached: each report computed as its view does on a cache miss (first view after a\n'
  printf 'write), in-process, unconverted and in USD alternating, best of %s (bench/helper.py uncached):\n' \
    "$UNCACHED_ROUNDS"
  uncached=$("$PY" bench/helper.py uncached "$slug" "$date_from" "$date_to" USD "$UNCACHED_ROUNDS")
  grep -v '^TARGET ' <<<"$uncached" || true
  while read -r line; do
    checks+=("${line#TARGET }")
  done < <(grep '^TARGET ' <<<"$uncached" || true)
  worker=$(pgrep -P "$gunicorn_pid" | head -n1 || true)
  pss=$(awk '/^Pss:/ { print $2 }' "/proc/$worker/smaps_rollup" 2>/dev/null || echo 0)
  printf 'PSS of one gunicorn worker (pid %s): %s MB (max_requests=%s)\n' \
    "$worker" "$((pss / 1024))" "$GUNICORN_MAX_REQUESTS"
  printf '\nTargets (same run):\n'
  printf '%s\n' "${checks[@]}"
  mb=$((pss / 1024))
  printf '%-6s one worker <= 150 MB PSS: %s MB\n' "$([[ $mb -le 150 ]] && echo met || echo MISSED)" "$mb"
  printf '%-6s 0 errors: %s\n' "$([[ $errors_total == 0 ]] && echo met || echo MISSED)" "$errors_total"
  printf '\nEXPLAIN (ANALYZE, BUFFERS):\n'
  "$PY" bench/helper.py explain "$slug" "$deep_cursor" "$food" "$date_from" "$date_to"
} | tee "$OUT/latest.txt"

# --- The production stack: Nginx in front of this Gunicorn, worker classes, the 512 MB profile ---
if [[ ${BENCH_STACK:-1} != 0 ]]; then
  BENCH_GUNICORN_PORT=$port BENCH_GUNICORN_PID=$gunicorn_pid BENCH_SLUG=$slug \
    BENCH_REPORT_QUERY="date_from=$date_from&date_to=$date_to" bench/stack.sh run
fi

# --- Imports through a real worker vs a raw COPY, and the CSV export of the same rows ------------
if [[ ${BENCH_IMPORTS:-1} != 0 ]]; then
  BENCH_GUNICORN_PORT=$port BENCH_GUNICORN_PID=$gunicorn_pid BENCH_SLUG=$slug bench/imports.sh
fi

# --- Webhooks: 10,000 events through a real worker killed midway (var/bench/webhooks.txt) ------
if [[ ${BENCH_WEBHOOKS:-1} != 0 ]]; then
  bench/webhooks.sh
fi

# --- Category suggestions: each method's accuracy and cost on generated hard data (no server) ---
if [[ ${BENCH_SUGGESTIONS:-1} != 0 ]]; then
  "$PY" bench/suggestions.py | tee "$OUT/suggestions.txt"
fi
