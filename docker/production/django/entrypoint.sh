#!/usr/bin/env bash
# Kore's container entrypoint (under tini). One image, one role per container:
#
#   web            wait for the database, publish static files for Nginx, exec Gunicorn
#   worker         wait for the database, exec a Celery worker (celery@$HOSTNAME)
#   beat           wait for the database, exec Celery beat (single-beat lock in PostgreSQL)
#   migrate        wait for the database, migrate under a PostgreSQL advisory lock, exit
#   manage ARGS    any manage.py command
#   health-worker  healthcheck: the worker on this host answers a ping
#   health-worker-file [AGE]  healthcheck without Python: the worker's consumer touched
#                  KORE_WORKER_HEARTBEAT_FILE in the last AGE seconds (default 60)
#   health-web     healthcheck without Python: Gunicorn answers /api/v1/health/live/ with 200
#   health-beat    healthcheck: a beat process is running in this container
#   anything else  run as a command (e.g. `bash`)
#
# Extra arguments after the role are passed on (e.g. `worker --concurrency 2`).
set -euo pipefail

APP_DIR=${APP_DIR:-/app}
cd "$APP_DIR"

log() { printf 'entrypoint: %s\n' "$*" >&2; }

wait_for_db() {
  python manage.py wait_for_db --timeout "${KORE_WAIT_FOR_DB_TIMEOUT:-60}"
}

# The image holds the collected static files (build time). Nginx reads them from a shared
# volume: copy them there. Old hashed files stay, so pages rendered by the previous release
# keep their assets during a rolling deploy; the manifest is replaced last.
publish_static() {
  local target=${KORE_STATIC_EXPORT_DIR:-}
  [ -n "$target" ] || return 0
  local source=${STATIC_ROOT:-$APP_DIR/staticfiles}
  if [ ! -d "$target" ] || [ ! -w "$target" ]; then
    log "KORE_STATIC_EXPORT_DIR=$target is not a writable directory; static files not published"
    return 0
  fi
  (cd "$source" && find . -type f ! -name staticfiles.json -print0 |
    xargs -0 --no-run-if-empty cp --parents --preserve=timestamps -t "$target")
  if [ -f "$source/staticfiles.json" ]; then
    cp --preserve=timestamps "$source/staticfiles.json" "$target/.staticfiles.json.tmp"
    mv -f "$target/.staticfiles.json.tmp" "$target/staticfiles.json"
  fi
  log "static files published to $target"
}

role=${1:-web}
if [ "$#" -gt 0 ]; then shift; fi

case "$role" in
  web)
    wait_for_db
    publish_static
    exec gunicorn --config config/gunicorn.conf.py "$@" config.wsgi:application
    ;;
  worker)
    wait_for_db
    exec celery --app config.celery_app worker \
      --hostname "celery@${HOSTNAME:-$(hostname)}" \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" "$@"
    ;;
  beat)
    wait_for_db
    # The schedule lives in PostgreSQL (django-celery-beat); keep beat's own files off the
    # (possibly read-only) image filesystem.
    exec celery --app config.celery_app beat \
      --loglevel "${CELERY_LOG_LEVEL:-INFO}" \
      --schedule "${TMPDIR:-/tmp}/celerybeat-schedule" --pidfile= "$@"
    ;;
  migrate)
    wait_for_db
    exec python manage.py migrate_locked --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  health-worker)
    exec celery --app config.celery_app inspect ping \
      --destination "celery@${HOSTNAME:-$(hostname)}" --timeout "${1:-10}"
    ;;
  health-worker-file)
    # No second Python process: in a small container `celery inspect ping` costs more memory
    # than the worker itself.
    file=${KORE_WORKER_HEARTBEAT_FILE:?health-worker-file needs KORE_WORKER_HEARTBEAT_FILE}
    [ -f "$file" ] || { log "no heartbeat file $file yet"; exit 1; }
    age=$(( $(date +%s) - $(stat -c %Y "$file") ))
    if [ "$age" -gt "${1:-60}" ]; then
      log "worker heartbeat is ${age}s old"
      exit 1
    fi
    exit 0
    ;;
  health-web)
    # Liveness over bash's /dev/tcp: an HTTP/1.0 GET, the status line read back.
    bind=${GUNICORN_BIND:-0.0.0.0:8000}
    port=${bind##*:}
    exec 3<>"/dev/tcp/127.0.0.1/${port:-8000}" || exit 1
    printf 'GET /api/v1/health/live/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
    IFS= read -r -t "${1:-8}" status <&3 || { log "no answer from Gunicorn"; exit 1; }
    [[ $status == "HTTP/1."?" 200 "* ]] || { log "liveness answered: $status"; exit 1; }
    exit 0
    ;;
  health-beat)
    # Match in bash (no grep whose own argv would contain the pattern).
    for cmdline in /proc/[0-9]*/cmdline; do
      args=$(tr '\0' ' ' <"$cmdline" 2>/dev/null) || continue
      if [[ $args == *"config.celery_app beat"* ]]; then
        exit 0
      fi
    done
    log "no celery beat process is running"
    exit 1
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
