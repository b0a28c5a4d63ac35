#!/usr/bin/env bash
# Webhook delivery figures, called by bench/run.sh (or alone): the suite's load test
# (kore/webhooks/tests/test_load.py) with 10,000 events through a real Celery worker to a
# receiver on 127.0.0.1, the worker SIGKILLed and restarted midway. Writes $OUT/webhooks.txt:
# the delivery rate, what was in flight at the kill, duplicates and losses (none).
# Env: BENCH_WEBHOOK_EVENTS (10000), DATABASE_URL and REDIS_URL (pytest makes its own test_
# database beside DATABASE_URL's; the worker's broker is db 13 of REDIS_URL's server).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${OUT:-var/bench}
mkdir -p "$OUT"
# The test settings, whatever the caller exported (bench/run.sh exports production's).
DJANGO_SETTINGS_MODULE=config.settings.test \
  KORE_WEBHOOK_LOAD_EVENTS=${BENCH_WEBHOOK_EVENTS:-10000} \
  BENCH_WEBHOOKS_OUT=$OUT/webhooks.txt \
  timeout 3600 "$PY" -m pytest kore/webhooks/tests/test_load.py -q -p no:cacheprovider
cat "$OUT/webhooks.txt"
