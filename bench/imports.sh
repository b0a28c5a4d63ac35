#!/usr/bin/env bash
# Import and export figures, called at the end of bench/run.sh:
# a generated CSV imported by a real Celery worker (service code path, own broker) vs a raw COPY
# of the same rows into an unindexed TEMP table, the worker's peak PSS, then the same rows
# exported as CSV through the running Gunicorn; then the same rows imported again into a second
# account with 20 rules and suggestions' auto-apply on (the organisation's model trained on the
# first import's rows, categorised as a person would), as a ratio to the same floor and to the
# floor of what it wrote (its rows with their history rows, tag links and applied suggestions).
# Each import's worker CPU seconds (the worker and its pool child, from /proc) beside its wall
# time: on a shared machine the CPU figure is the one to compare between runs. Writes
# $OUT/imports.txt.
# Env from bench/run.sh: PY, OUT, DATABASE_URL, REDIS_URL, production settings, BENCH_TOKEN,
# BENCH_GUNICORN_PORT, BENCH_GUNICORN_PID, BENCH_SLUG.
# Own env: BENCH_IMPORT_ROWS (1000000), BENCH_IMPORT_BROKER (redis://127.0.0.1:6379/14),
# BENCH_IMPORT_TIMEOUT (900 s, for the import and for the export each).
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${BENCH_IMPORT_ROWS:-1000000}
TIMEOUT=${BENCH_IMPORT_TIMEOUT:-900}
BROKER=${BENCH_IMPORT_BROKER:-redis://127.0.0.1:6379/14}
PY=${PY:-.venv/bin/python}
OUT=${OUT:-var/bench}
slug=${BENCH_SLUG:-seed-01}
base="http://127.0.0.1:${BENCH_GUNICORN_PORT:?run me from bench/run.sh}"
gunicorn_pid=${BENCH_GUNICORN_PID:?run me from bench/run.sh}
: "${BENCH_TOKEN:?run me from bench/run.sh}"
case $BROKER in redis://127.0.0.1:*) ;; *) echo "BENCH_IMPORT_BROKER must be on 127.0.0.1" >&2; exit 1 ;; esac

log() { printf '%s\n' "$*" >&2; }

tmp=$(mktemp -d /tmp/kore-bench-imports.XXXXXX)
worker_pid=""
sampler_pid=""
stop_pid() {  # TERM, wait up to 15 s, then KILL: one process we started, by its id
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local children=""
  stop_pid "$sampler_pid"
  [[ -z $worker_pid ]] || children=$(pgrep -P "$worker_pid" || true)
  stop_pid "$worker_pid"
  for pid in $children; do stop_pid "$pid"; done  # a pool child its parent left behind
  timeout 300 "$PY" bench/imports.py cleanup "$slug" || log "cleanup of the bench account failed"
  redis-cli -u "$BROKER" flushdb >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pss_kb() {  # summed PSS (kB) of the given pids
  local total=0 pss
  for pid in "$@"; do
    pss=$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
    total=$((total + ${pss:-0}))
  done
  echo "$total"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
worker_ticks() {  # CPU ticks of the worker and its pool children: the import's own cost
  local total=0 pid
  for pid in "$worker_pid" $(pgrep -P "$worker_pid"); do total=$((total + $(cpu_ticks "$pid"))); done
  echo "$total"
}
passes() {  # "read_s write_s" of a job, from the worker's line saying where its time went
  local line
  line=$(grep -o "import $1: read [0-9]* rows in [0-9.]* s, wrote [0-9]* in [0-9.]* s" \
    "$OUT/imports-worker.log" | tail -n 1)
  [[ -n $line ]] || { echo "missing missing"; return; }
  awk '{ print $(NF-6), $(NF-1) }' <<<"$line"
}
secs() { awk -v t="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# --- The file and a fresh account of $slug ----------------------------------------------------
csv=$tmp/statement.csv
log "Generating a $ROWS-row CSV…"
timeout 600 "$PY" bench/imports.py csv "$csv" "$ROWS"
csv_mb=$(( $(stat -c %s "$csv") / 1024 / 1024 ))
account=$(timeout 300 "$PY" bench/imports.py setup "$slug")

# --- A real worker on its own broker, its peak PSS sampled every 0.5 s -------------------------
redis-cli -u "$BROKER" flushdb >/dev/null
export CELERY_BROKER_URL=$BROKER CELERY_TASK_ALWAYS_EAGER=false MEDIA_ROOT=$tmp/media
export KORE_IMPORT_TIME_LIMIT=$((TIMEOUT + 60))
# The bench trains the organisation's model itself (before the rules import); the retraining an
# import queues once it is done would hold this one worker while the next import waits.
export KORE_SUGGESTIONS_RETRAIN_AFTER_ROWS=$((ROWS + 1))
mkdir -p "$MEDIA_ROOT"
.venv/bin/celery -A config.celery_app worker -Q imports,celery --concurrency 1 --pool prefork \
  --without-gossip --without-mingle --without-heartbeat -n "bench-imports-$$@%h" -l INFO \
  >"$OUT/imports-worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 150); do
  grep -q 'ready\.' "$OUT/imports-worker.log" && break
  kill -0 "$worker_pid" 2>/dev/null || { tail -n 40 "$OUT/imports-worker.log" >&2; exit 1; }
  sleep 0.2
done
grep -q 'ready\.' "$OUT/imports-worker.log" || { log "the worker did not start"; exit 1; }
worker_idle=$(pss_kb "$worker_pid" $(pgrep -P "$worker_pid"))

echo 0 >"$tmp/worker_peak"
(
  peak=0
  while kill -0 "$worker_pid" 2>/dev/null; do
    # shellcheck disable=SC2046 # one pid a word
    now=$(pss_kb "$worker_pid" $(pgrep -P "$worker_pid"))
    if ((now > peak)); then peak=$now; echo "$peak" >"$tmp/worker_peak"; fi
    sleep 0.5
  done
) &
sampler_pid=$!

# --- Raw COPY of the same rows, then the import through the worker ------------------------------
log "Raw COPY of $ROWS rows into a TEMP table…"
read -r copy_s copied < <(timeout 600 "$PY" bench/imports.py rawcopy "$csv")
[[ $copied == "$ROWS" ]] || { log "raw COPY loaded $copied of $ROWS rows"; exit 1; }
log "Importing $ROWS rows through the worker…"
ticks_before=$(worker_ticks)
read -r status import_s created job_id detail \
  < <(timeout $((TIMEOUT + 120)) "$PY" bench/imports.py run "$slug" "$account" "$csv" "$TIMEOUT")
import_cpu=$(secs $(($(worker_ticks) - ticks_before)))
sleep 0.6  # one more sample after the end
stop_pid "$sampler_pid"
sampler_pid=""
worker_peak=$(cat "$tmp/worker_peak")
if [[ $status != "done" || $created != "$ROWS" ]]; then
  log "import $job_id: $status, created $created of $ROWS ($detail); worker log tail:"
  tail -n 40 "$OUT/imports-worker.log" >&2
  exit 1
fi

read -r import_read import_write < <(passes "$job_id")
[[ $import_read != missing ]] || { log "import $job_id logged no timing line"; exit 1; }
log "The database's floor: the same rows inserted into the ledger (indexes, FK checks), rolled back…"
read -r floor_s floored < <(timeout 900 "$PY" bench/imports.py floor "$job_id")
[[ $floored == "$ROWS" ]] || { log "the floor insert wrote $floored of $ROWS rows"; exit 1; }

# --- CSV export of the same rows through Gunicorn: which worker served it, its PSS -------------
mapfile -t web < <(pgrep -P "$gunicorn_pid")
declare -A before_pss before_cpu peak_pss
for pid in "${web[@]}"; do
  before_pss[$pid]=$(pss_kb "$pid"); before_cpu[$pid]=$(cpu_ticks "$pid"); peak_pss[$pid]=0
done
log "Exporting the $ROWS rows as CSV through Gunicorn…"
curl -fsS -m "$TIMEOUT" -H "Authorization: Bearer $BENCH_TOKEN" -o "$tmp/export.csv" \
  -w '%{time_starttransfer} %{time_total} %{size_download}\n' \
  "$base/api/v1/orgs/$slug/transactions/export/?format=csv&account=$account" >"$tmp/curl.out" &
curl_pid=$!
while kill -0 "$curl_pid" 2>/dev/null; do
  for pid in "${web[@]}"; do
    now=$(pss_kb "$pid")
    ((now > peak_pss[$pid])) && peak_pss[$pid]=$now
  done
  sleep 0.5
done
wait "$curl_pid" || { log "the export failed"; exit 1; }
read -r ttfb export_s export_bytes <"$tmp/curl.out"
exported=$(($(wc -l <"$tmp/export.csv") - 1))
served="" most=-1
for pid in "${web[@]}"; do
  used=$(($(cpu_ticks "$pid") - before_cpu[$pid]))
  ((used > most)) && { most=$used; served=$pid; }
done
web_before=${before_pss[$served]} web_peak=${peak_pss[$served]} web_after=$(pss_kb "$served")
rm -f "$tmp/export.csv"

# --- The same rows again with 20 rules and auto-apply on, into a second account ----------------
log "A history to learn from: the imported rows categorised, the organisation's model trained…"
train_s=$(timeout 600 "$PY" bench/imports.py history "$slug" "$job_id")
read -r nrules threshold < <(timeout 300 "$PY" bench/imports.py rules "$slug")
rules_account=$(timeout 300 "$PY" bench/imports.py setup "$slug" rules)
log "Importing $ROWS rows through the worker with $nrules rules and auto-apply on…"
ticks_before=$(worker_ticks)
read -r rstatus rules_s rcreated rules_job rdetail \
  < <(timeout $((TIMEOUT + 120)) "$PY" bench/imports.py run "$slug" "$rules_account" "$csv" "$TIMEOUT")
if [[ $rstatus != "done" || $rcreated != "$ROWS" ]]; then
  log "import $rules_job: $rstatus, created $rcreated of $ROWS ($rdetail); worker log tail:"
  tail -n 40 "$OUT/imports-worker.log" >&2
  exit 1
fi
rules_cpu=$(secs $(($(worker_ticks) - ticks_before)))
read -r rules_read rules_write < <(passes "$rules_job")
[[ $rules_read != missing ]] || { log "import $rules_job logged no timing line"; exit 1; }
read -r categorised tagged noted applied < <(timeout 300 "$PY" bench/imports.py outcome "$rules_job")
log "The floor of what the rules import wrote: its rows, history, tags, applied suggestions…"
read -r wrote_s _ wrote_history wrote_tags wrote_applied \
  < <(timeout 900 "$PY" bench/imports.py floor "$rules_job" all)

# --- The table ------------------------------------------------------------------------------------
copy_rps=$(awk -v n="$ROWS" -v s="$copy_s" 'BEGIN { printf "%.0f", n / s }')
import_rps=$(awk -v n="$ROWS" -v s="$import_s" 'BEGIN { printf "%.0f", n / s }')
export_rps=$(awk -v n="$exported" -v s="$export_s" 'BEGIN { printf "%.0f", n / s }')
import_ratio=$(awk -v a="$import_rps" -v b="$copy_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
floor_rps=$(awk -v n="$ROWS" -v s="$floor_s" 'BEGIN { printf "%.0f", n / s }')
floor_ratio=$(awk -v a="$floor_rps" -v b="$copy_rps" 'BEGIN { printf "%.1f", 100 * a / b }')
import_floor=$(awk -v a="$import_rps" -v b="$floor_rps" 'BEGIN { printf "%.0f", 100 * a / b }')
rules_rps=$(awk -v n="$ROWS" -v s="$rules_s" 'BEGIN { printf "%.0f", n / s }')
rules_floor=$(awk -v a="$rules_rps" -v b="$floor_rps" 'BEGIN { printf "%.0f", 100 * a / b }')
rules_plain=$(awk -v a="$rules_s" -v b="$import_s" 'BEGIN { printf "%.2f", a / b }')
wrote_floor=$(awk -v a="$wrote_s" -v b="$floor_s" 'BEGIN { printf "%.2f", a / b }')
rules_wrote=$(awk -v a="$wrote_s" -v b="$rules_s" 'BEGIN { printf "%.0f", 100 * a / b }')
# Pass 1 reads every row before pass 2 writes one (all or nothing, chunks committed with a
# cursor): with pass 2 at the floor of what it wrote, the rules import would still take this long.
least_s=$(awk -v a="$rules_read" -v b="$wrote_s" 'BEGIN { printf "%.2f", a + b }')
least_floor=$(awk -v a="$least_s" -v b="$floor_s" 'BEGIN { printf "%.0f", 100 * b / a }')
export_ratio=$(awk -v a="$export_rps" -v b="$import_rps" 'BEGIN { printf "%.0f", 100 * a / b }')
verdict() { awk -v v="$1" -v op="$2" -v t="$3" \
  'BEGIN { ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "MISSED" }'; }
# Flat: the serving worker ends within 10 % (at least 10 MB) of where it started.
web_delta=$((web_after - web_before))
flat=$(awk -v d="$web_delta" -v b="$web_before" \
  'BEGIN { lim = b / 10; if (lim < 10240) lim = 10240; print (d <= lim) ? "met" : "MISSED" }')
row() { printf '%-34s %14s  %-14s %s\n' "$@"; }
{
  printf 'Kore import/export bench %s: %s rows, %s MB CSV, account %s of %s, import job %s\n' \
    "$(date -u +%FT%TZ)" "$ROWS" "$csv_mb" "$account" "$slug" "$job_id"
  row figure value target verdict
  row "raw COPY (TEMP, no indexes) s" "$copy_s" "" ""
  row "raw COPY rows/s" "$copy_rps" "" ""
  row "import wall s (create → done)" "$import_s" "<= 120" "$(verdict "$import_s" '<=' 120)"
  row "import rows/s" "$import_rps" "" ""
  row "import worker CPU s" "$import_cpu" "" ""
  row "  pass 1 (read, check, stage) s" "$import_read" "" ""
  row "  pass 2 (write) s" "$import_write" "" ""
  row "import / raw COPY" "$import_ratio%" ">= 10%" "$(verdict "$import_ratio" '>=' 10)"
  row "floor: INSERT into the ledger s" "$floor_s" "" ""
  row "floor rows/s (import's ceiling)" "$floor_rps" "" ""
  row "floor / raw COPY" "$floor_ratio%" "" ""
  row "import / floor" "$import_floor%" ">= 50%" "$(verdict "$import_floor" '>=' 50)"
  row "worker PSS idle MB" "$(mb "$worker_idle")" "" ""
  row "worker peak PSS MB (0.5 s samples)" "$(mb "$worker_peak")" "<= 300" \
    "$(verdict "$(mb "$worker_peak")" '<=' 300)"
  row "export rows" "$exported" "= $ROWS" "$([[ $exported == "$ROWS" ]] && echo met || echo MISSED)"
  row "export MB" "$((export_bytes / 1024 / 1024))" "" ""
  row "export time to first byte s" "$ttfb" "" ""
  row "export total s" "$export_s" "" ""
  row "export rows/s" "$export_rps" "" ""
  row "export / import rows/s" "$export_ratio%" ">= 50%" "$(verdict "$export_ratio" '>=' 50)"
  row "web worker PSS before/peak/after MB" \
    "$(mb "$web_before")/$(mb "$web_peak")/$(mb "$web_after")" "flat" "$flat"
  row "import + $nrules rules + auto-apply s" "$rules_s" "" ""
  row "  rows/s" "$rules_rps" "" ""
  row "  / floor" "$rules_floor%" ">= 50%" "$(verdict "$rules_floor" '>=' 50)"
  row "  time / plain import's" "${rules_plain}x" "" ""
  row "  worker CPU s (plain's)" "$rules_cpu ($import_cpu)" "" ""
  row "  pass 1 (read, check, rules, stage) s" "$rules_read" "" ""
  row "  pass 2 (write) s" "$rules_write" "" ""
  row "  rows categorised/tagged/noted" "$categorised/$tagged/$noted" "" ""
  row "  rows auto-applied (>= $threshold)" "$applied" "" ""
  row "  model training s (not timed)" "$train_s" "" ""
  row "  floor of what it wrote s (x floor)" "$wrote_s (${wrote_floor}x)" "" ""
  row "    history/tag links/applied rows" "$wrote_history/$wrote_tags/$wrote_applied" "" ""
  row "  / floor of what it wrote" "$rules_wrote%" "" ""
  row "  pass 1 + floor of what it wrote s" "$least_s" "" ""
  row "    floor / that (the most reachable)" "$least_floor%" "" ""
  printf '(web worker pid %s of %s served the export; raw COPY reads the same CSV; the floor is\n' \
    "$served" "${#web[@]}"
  printf ' the imported rows copied again into ledger_transaction by one INSERT … SELECT with its\n'
  printf ' indexes and foreign keys checked, rolled back: what any import of them costs at least;\n'
  printf ' the rules import writes the same rows into a second account after the export; the floor\n'
  printf ' of what it wrote adds its history rows, tag links and applied suggestions, one INSERT …\n'
  printf ' SELECT each after the rows, rolled back; pass 1 reads, checks and stages every row before\n'
  printf ' pass 2 writes any, so pass 1 + the floor of what it wrote is the least the import can take)\n'

} | tee "$OUT/imports.txt"
