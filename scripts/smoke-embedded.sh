#!/usr/bin/env bash
# The embedded path as a new user meets it: `make run` from this checkout with no PostgreSQL or
# Redis configured, then health 200, demo login, list organisations, and a clean shutdown.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${SMOKE_PORT:-8765}
DATA=$(mktemp -d)
LOG="$DATA/run.log"
BASE="http://127.0.0.1:$PORT"
# A directory that does not exist yet, as var/ on a fresh clone.
export KORE_DATA_DIR="$DATA/data" KORE_DEMO_PASSWORD="smoke-demo-password-42"
# The embedded default must not need these: make sure nothing leaks in from the caller.
unset DATABASE_URL REDIS_URL CELERY_BROKER_URL DJANGO_SETTINGS_MODULE

cleanup() {
  if [ -n "${PID:-}" ]; then kill -- "-$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

cd "$ROOT"
setsid make run PORT="$PORT" >"$LOG" 2>&1 &
PID=$!

for _ in $(seq 1 120); do
  curl -fsS "$BASE/api/v1/health/live/" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "smoke: make run exited early" >&2; exit 1; }
  sleep 0.5
done

fail() { echo "smoke: $*" >&2; cat "$LOG" >&2; exit 1; }
health=$(curl -sS -w '\n%{http_code}' "$BASE/api/v1/health/")
[ "$(tail -n1 <<<"$health")" = 200 ] || fail "health is not 200: $health"
grep -q '"status":"ok"' <<<"$health" || fail "health is not ok: $health"

token=$(curl -fsS -H 'Content-Type: application/json' \
  -d "{\"email\":\"demo@kore.local\",\"password\":\"$KORE_DEMO_PASSWORD\"}" \
  "$BASE/api/v1/auth/token/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])') \
  || fail "demo login failed"
orgs=$(curl -fsS -H "Authorization: Bearer $token" "$BASE/api/v1/orgs/") || fail "orgs failed"
grep -q '"slug":"demo"' <<<"$orgs" || fail "demo organisation missing: $orgs"
txs=$(curl -fsS -H "Authorization: Bearer $token" "$BASE/api/v1/orgs/demo/transactions/?limit=5") \
  || fail "transactions list failed"
grep -q '"amount":"' <<<"$txs" || fail "the demo organisation has no sample transactions: $txs"
docs=$(curl -fsS "$BASE/api/v1/docs/") || fail "API docs are not served"
grep -q swagger-ui <<<"$docs" || fail "API docs page has no Swagger UI"

# The web app: the sign-in page under a strict CSP, the demo login through its form (CSRF cookie
# and token), the transactions page with rows, and a hashed static file it links.
jar="$DATA/cookies"
signin=$(curl -fsS -D "$DATA/signin.headers" -c "$jar" "$BASE/sign-in/") || fail "sign-in page failed"
grep -qi "^content-security-policy: .*script-src 'self'" "$DATA/signin.headers" \
  || fail "the sign-in page has no strict Content-Security-Policy"
csrf=$(sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' <<<"$signin" | head -n1)
curl -fsS -o /dev/null -b "$jar" -c "$jar" -H "Referer: $BASE/sign-in/" \
  --data-urlencode "csrfmiddlewaretoken=$csrf" --data-urlencode "username=demo@kore.local" \
  --data-urlencode "password=$KORE_DEMO_PASSWORD" "$BASE/sign-in/" || fail "web sign-in failed"
page=$(curl -fsS -b "$jar" "$BASE/o/demo/transactions/") || fail "transactions page failed"
grep -q 'class="tx-row"' <<<"$page" || fail "the transactions page shows no rows"
css=$(grep -o '/static/web/app[^"]*\.css' <<<"$page" | head -n1)
curl -fsS -o /dev/null "$BASE$css" || fail "static file $css is not served"

echo "smoke: embedded Kore served health, docs, demo login, organisations, transactions and the web app on $BASE"
