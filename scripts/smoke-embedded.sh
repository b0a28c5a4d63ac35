#!/usr/bin/env bash
# The embedded path as a new user meets it: `make run` from this checkout on a fresh data
# directory with no PostgreSQL or Redis configured. Checked: Gunicorn serves (Server header and
# the process table) beside a Celery worker; health, demo login, organisations, transactions, API
# docs and the web app; JSON errors under /api/ (404, 405); hashed static files in the sign-in
# page; a 50,000-row CSV import answers 202 at once and the worker finishes it; beat runs a
# periodic job; a second instance on another port runs beside the first; Ctrl-C (SIGINT to the
# make process group) leaves no process behind.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${SMOKE_PORT:-8765}
PORT_B=${SMOKE_PORT_B:-8766}
IMPORT_ROWS=${SMOKE_IMPORT_ROWS:-50000}
IMPORT_DEADLINE=${SMOKE_IMPORT_DEADLINE:-300}  # seconds for the worker to finish the import
# Under this checkout's var/ like everything embedded, not at a fixed /tmp path.
mkdir -p "$ROOT/var"
DATA=$(mktemp -d "$ROOT/var/smoke.XXXXXX")
LOG="$DATA/run.log"
LOG_B="$DATA/run-b.log"
BASE="http://127.0.0.1:$PORT"
# A directory that does not exist yet, as var/ on a fresh clone.
export KORE_DATA_DIR="$DATA/data" KORE_DEMO_PASSWORD="smoke-demo-password-42"
# The embedded default must not need these: make sure nothing leaks in from the caller.
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL DJANGO_SETTINGS_MODULE STATIC_ROOT DEBUG

# Stop one `make run` the way a terminal's Ctrl-C does: SIGINT to its whole process group.
# True when nothing of the group is left within the deadline.
interrupt() {
  local pgid=$1
  kill -INT -- "-$pgid" 2>/dev/null || return 0
  for _ in $(seq 1 150); do
    pgrep -g "$pgid" >/dev/null || return 0
    sleep 0.2
  done
  return 1
}

cleanup() {
  for pgid in ${PID:-} ${PID_B:-}; do
    kill -KILL -- "-$pgid" 2>/dev/null || true
  done
  rm -rf "$DATA"
}
trap cleanup EXIT

# On failure: the run log's errors and import lines first, then its tail without the beat job's
# once-a-second lines (which otherwise fill it).
fail() {
  echo "smoke: $*" >&2
  echo "smoke: errors and import lines of the run log:" >&2
  grep -nE 'ERROR|CRITICAL|Traceback|on_commit|run_import|kore\.imports|[Uu]ndeliver' "$LOG" \
    | tail -n 40 >&2 || true
  echo "smoke: messages waiting in the file broker, by queue:" >&2
  find "$KORE_DATA_DIR/broker" -maxdepth 2 -name '*.msg' 2>/dev/null \
    | sed -E 's/.*[0-9a-f]{32}\.(.*)\.msg$/\1/' | sort | uniq -c >&2 || true
  echo "smoke: the run log's last lines, the beat job's left out:" >&2
  grep -vE 'purge_idempotency|smoke: purge|kore\.tasks .*task finished' "$LOG" | tail -n 60 >&2 || true
  exit 1
}

# Wait until $1 answers its liveness probe; $2 is the process group to watch.
wait_live() {
  for _ in $(seq 1 240); do
    curl -fsS "$1/api/v1/health/live/" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

# `make run` in its own process group, as a terminal runs it. A background job of a script starts
# with SIGINT ignored, which Ctrl-C in a terminal never meets: restore the default first.
# ($! is then make's pid, which setsid made the leader of its own process group.)
as_terminal=(setsid python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

cd "$ROOT"
started=$(date +%s)
"${as_terminal[@]}" make run PORT="$PORT" >"$LOG" 2>&1 &
PID=$!
wait_live "$BASE" "$PID" || fail "make run did not answer on $BASE"
echo "smoke: make run answered after $(( $(date +%s) - started )) s on a fresh data directory"

# The production servers: Gunicorn answers, a Celery worker runs beside it.
curl -fsS -D "$DATA/live.headers" -o /dev/null "$BASE/api/v1/health/live/"
grep -qi '^server: gunicorn' "$DATA/live.headers" || fail "not served by Gunicorn: $(cat "$DATA/live.headers")"
pgrep -g "$PID" -f 'gunicorn' >/dev/null || fail "no Gunicorn process under make run"
pgrep -g "$PID" -f 'celery .*worker' >/dev/null || fail "no Celery worker under make run"

health=$(curl -sS -w '\n%{http_code}' "$BASE/api/v1/health/")
[ "$(tail -n1 <<<"$health")" = 200 ] || fail "health is not 200: $health"
grep -q '"status":"ok"' <<<"$health" || fail "health is not ok: $health"

# DEBUG is off: errors under /api/ are Kore's JSON with a code, not Django's debug pages.
nope=$(curl -sS -D "$DATA/nope.headers" -w '\n%{http_code}' "$BASE/api/v1/nope/")
[ "$(tail -n1 <<<"$nope")" = 404 ] || fail "GET /api/v1/nope/ is not 404: $nope"
grep -qi '^content-type: application/json' "$DATA/nope.headers" || fail "the 404 is not JSON"
grep -q '"code":"not_found"' <<<"${nope// /}" || fail "the 404 has no code: $nope"
wrong=$(curl -sS -X DELETE -w '\n%{http_code}' "$BASE/api/v1/health/")
[ "$(tail -n1 <<<"$wrong")" = 405 ] || fail "DELETE /api/v1/health/ is not 405: $wrong"
grep -q '"code":"method_not_allowed"' <<<"${wrong// /}" || fail "the 405 has no code: $wrong"

token=$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"email\":\"demo@kore.local\",\"password\":\"$KORE_DEMO_PASSWORD\"}" \
  "$BASE/api/v1/auth/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])') \
  || fail "demo login failed"
auth=(-H "Authorization: Bearer $token")
orgs=$(curl -fsS "${auth[@]}" "$BASE/api/v1/orgs/") || fail "orgs failed"
grep -q '"slug":"demo"' <<<"$orgs" || fail "demo organisation missing: $orgs"
txs=$(curl -fsS "${auth[@]}" "$BASE/api/v1/orgs/demo/transactions/?limit=5") \
  || fail "transactions list failed"
grep -q '"amount":"' <<<"$txs" || fail "the demo organisation has no sample transactions: $txs"
docs=$(curl -fsS "$BASE/api/v1/docs/") || fail "API docs are not served"
grep -q swagger-ui <<<"$docs" || fail "API docs page has no Swagger UI"

# The web app: the sign-in page under a strict CSP linking hashed static files, the demo login
# through its form (CSRF cookie and token), the transactions page with rows.
jar="$DATA/cookies"
signin=$(curl -fsS -D "$DATA/signin.headers" -c "$jar" "$BASE/sign-in/") || fail "sign-in page failed"
grep -qi "^content-security-policy: .*script-src 'self'" "$DATA/signin.headers" \
  || fail "the sign-in page has no strict Content-Security-Policy"
css=$(grep -oE '/static/web/app\.[0-9a-f]{12}\.css' <<<"$signin" | head -n1)
[ -n "$css" ] || fail "the sign-in page links no hashed stylesheet: $(grep -o '/static/[^"]*' <<<"$signin")"
curl -fsS -o /dev/null "$BASE$css" || fail "static file $css is not served"
csrf=$(sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' <<<"$signin" | head -n1)
curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Referer: $BASE/sign-in/" \
  --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode "username=demo@kore.local" \
  --data-urlencode "password=$KORE_DEMO_PASSWORD" "$BASE/sign-in/" || fail "web sign-in failed"
page=$(curl -fsS -b "$jar" "$BASE/o/demo/transactions/") || fail "transactions page failed"
grep -q 'class="tx-row"' <<<"$page" || fail "the transactions page shows no rows"

# Beat: a job every second that purges an expired idempotency key; the key goes once beat has
# sent the job and the worker has run it.
.venv/bin/python manage.py shell -c "
from datetime import timedelta
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kore.core.models import IdempotencyKey
IdempotencyKey.objects.create(scope='smoke', key='expired', request_hash='0', response_status=200,
    expires_at=timezone.now() - timedelta(days=1))
every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.create(name='smoke: purge', task='kore.ops.purge_idempotency_keys', interval=every)
" >/dev/null || fail "could not schedule the beat job"

# A 50,000-row CSV through the API: 202 at once, then the worker's progress until done.
account=$(curl -fsS "${auth[@]}" "$BASE/api/v1/orgs/demo/accounts/" \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("results", d); print(d[0]["id"])') \
  || fail "no account in the demo organisation"
python3 -c "
import sys
rows = int(sys.argv[1])
with open(sys.argv[2], 'w') as f:
    f.write('Date,Description,Amount\n')
    for n in range(rows):
        f.write(f'2024-{n % 12 + 1:02d}-{n % 28 + 1:02d},Smoke row {n},-{n % 997 + 1}.{n % 100:02d}\n')
" "$IMPORT_ROWS" "$DATA/import.csv"
upload=$(curl -sS "${auth[@]}" -w '\n%{http_code} %{time_total}' -F "file=@$DATA/import.csv" \
  -F "account=$account" "$BASE/api/v1/orgs/demo/imports/")
read -r code seconds <<<"$(tail -n1 <<<"$upload")"
[ "$code" = 202 ] || fail "the import upload is not 202: $upload"
python3 -c "import sys; sys.exit(float(sys.argv[1]) >= 5)" "$seconds" \
  || fail "the import upload took ${seconds} s: it must not wait for the import"
job=$(head -n1 <<<"$upload" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "smoke: $IMPORT_ROWS-row import accepted (202) in ${seconds} s"
deadline=$(( $(date +%s) + IMPORT_DEADLINE ))
seen=""
while :; do
  detail=$(curl -fsS "${auth[@]}" "$BASE/api/v1/orgs/demo/imports/$job/") || fail "import detail failed"
  state=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["progress"]["rows_read"])' <<<"$detail")
  [ "$state" = "${seen##*; }" ] || seen="$seen; $state"
  case "$state" in
    done*) break ;;
    failed* | cancelled*) fail "the import ended $state: $detail" ;;
  esac
  [ "$(date +%s)" -lt "$deadline" ] || fail "the import did not finish in ${IMPORT_DEADLINE} s: $detail"
  sleep 1
done
created=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["counts"]["created"])' <<<"$detail")
[ "$created" = "$IMPORT_ROWS" ] || fail "the import created $created rows, not $IMPORT_ROWS: $detail"
states=$(tr ';' '\n' <<<"${seen#; }" | wc -l)
echo "smoke: the worker finished the import; $states progress states seen: $(cut -c1-120 <<<"${seen#; }") …"

for _ in $(seq 1 60); do
  left=$(.venv/bin/python manage.py shell -c \
    "from kore.core.models import IdempotencyKey; print(IdempotencyKey.objects.filter(scope='smoke').count())" \
    2>/dev/null | tail -n1)
  [ "$left" = 0 ] && break
  sleep 1
done
[ "$left" = 0 ] || fail "beat's periodic job did not run (the expired key is still there)"
echo "smoke: beat sent a periodic job and the worker ran it"

# A second instance (its own data directory and port) beside the first.
KORE_DATA_DIR="$DATA/data-b" "${as_terminal[@]}" make run PORT="$PORT_B" >"$LOG_B" 2>&1 &
PID_B=$!
wait_live "http://127.0.0.1:$PORT_B" "$PID_B" || { LOG=$LOG_B; fail "a second make run on $PORT_B did not answer"; }
curl -fsS -o /dev/null "$BASE/api/v1/health/live/" || fail "the first instance stopped answering"
echo "smoke: two instances side by side on $PORT and $PORT_B"

interrupt "$PID_B" || { LOG=$LOG_B; fail "processes of the second make run outlived Ctrl-C: $(pgrep -g "$PID_B" -a)"; }
interrupt "$PID" || fail "processes of make run outlived Ctrl-C: $(pgrep -g "$PID" -a)"
if curl -fsS -o /dev/null "$BASE/api/v1/health/live/" 2>/dev/null; then fail "$BASE still answers after Ctrl-C"; fi
echo "smoke: Ctrl-C stopped every process of both instances"

echo "smoke: embedded Kore (Gunicorn + worker + beat) passed on $BASE"
