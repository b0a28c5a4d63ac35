#!/usr/bin/env bash
# Deploy Kore on this single Docker host: scripts/deploy.sh <production|staging>  (make deploy ENV=…)
#
#   1. back up the database with the version still running (manage.py backup);
#   2. pull the image tagged KORE_TAG (default: this checkout's short commit), or build it;
#   3. run the one-shot `migrate` service with the new image (expand/contract: the old code keeps
#      working on the migrated schema for one release, see README "Deploy and roll back");
#   4. roll the web replicas: start N new containers beside the N old ones, wait until each new
#      one answers its health check, then stop the old ones one at a time (Nginx re-resolves the
#      service name and retries an idempotent request on another replica), so a replica always
#      answers; then the worker and beat;
#   5. check health through Nginx, 30 tries 2 s apart;
#   6. on any failure after step 2: roll back to the previous tag, print the last 100 log lines and
#      exit 1. Every deploy is recorded (time, version, result) in KORE_DEPLOY_LOG for /ops/status/
#      and in logs/deploy_<env>_<time>.log.
#
# Settings (environment): KORE_IMAGE (kore-django), KORE_TAG, KORE_PULL=1 to pull instead of
# build, KORE_COMPOSE_FILES ("production.yml"; add production.lowmem.yml for 512 MB hosts),
# KORE_WEB_REPLICAS (current count, at least 1), KORE_HEALTH_URL (default: /api/v1/health/ through
# Nginx by its NGINX_SERVER_NAME and published port, scripts/nginx-health.sh),
# KORE_SKIP_BACKUP=1 (first deploy only), KORE_HEALTH_TRIES (30) and KORE_HEALTH_INTERVAL (2 s),
# KORE_UPSTREAM_SETTLE (15 s), KORE_ENV_FILE (.envs/.env.<env>), KORE_DEPLOY_LOG_DIR (logs), KORE_DEPLOY_STATE_DIR (var/deploy).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/deploy.sh <production|staging>" >&2; }
env_name=${1:-}
case "$env_name" in
  production | staging) ;;
  *) usage; exit 2 ;;
esac

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
  echo "deploy: no Docker engine answers 'docker info' on this machine; nothing was changed." >&2
  echo "deploy: run this on the Docker host of '$env_name' (or start Docker) and try again." >&2
  exit 3
fi

env_file=${KORE_ENV_FILE:-.envs/.env.$env_name}
if [ ! -f "$env_file" ]; then
  echo "deploy: $env_file is missing (copy .envs/.env.production.example and fill it in)" >&2
  exit 2
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
log_dir=${KORE_DEPLOY_LOG_DIR:-logs}
state_dir=${KORE_DEPLOY_STATE_DIR:-var/deploy}
mkdir -p "$log_dir" "$state_dir"
log=$log_dir/deploy_${env_name}_${stamp}.log
# Everything below also goes to the deploy's own log file.
exec > >(tee -a "$log") 2>&1

read -r -a compose_files <<<"${KORE_COMPOSE_FILES:-production.yml}"
# Production is the Compose project `kore` (production.yml's name), staging `kore-staging`.
project=kore
[ "$env_name" = production ] || project=kore-$env_name
compose_args=(--project-name "$project" --env-file "$env_file")
for file in "${compose_files[@]}"; do compose_args+=(-f "$file"); done
compose() { docker compose "${compose_args[@]}" "$@"; }

state=$state_dir/$env_name.tag
previous=$(cat "$state" 2>/dev/null || echo latest)
new=${KORE_TAG:-$(git rev-parse --short=12 HEAD)}
# Empty: scripts/nginx-health.sh (the env file's NGINX_SERVER_NAME and published port).
health_url=${KORE_HEALTH_URL:-}
tries=${KORE_HEALTH_TRIES:-30}
interval=${KORE_HEALTH_INTERVAL:-2}
settle=${KORE_UPSTREAM_SETTLE:-15}
export KORE_IMAGE=${KORE_IMAGE:-kore-django}
echo "deploy: $env_name $previous -> $new ($(date -u +%FT%TZ))"

record() {  # record <result>: in the data volume for the status page, and on the host
  local result=$1
  printf '{"time":"%s","env":"%s","version":"%s","previous":"%s","result":"%s"}\n' \
    "$(date -u +%FT%TZ)" "$env_name" "$new" "$previous" "$result" >>"$state_dir/deploys.jsonl"
  KORE_TAG=$(cat "$state" 2>/dev/null || echo "$previous") compose run --rm --no-deps -T django \
    python manage.py ops_deploy_record "$env_name" "$new" "$result" --previous "$previous" ||
    echo "deploy: could not record the deploy in the data volume" >&2
}

nginx_health() {  # KORE_HEALTH_URL as given, or Kore through Nginx by the name it serves
  if [ -n "$health_url" ]; then
    curl -fsS --max-time 5 "$health_url"
  else
    scripts/nginx-health.sh "$env_file"
  fi
}

healthy_through_nginx() {
  local attempt
  for attempt in $(seq 1 "$tries"); do
    if nginx_health >/dev/null; then
      echo "deploy: healthy through Nginx after $attempt tries"
      return 0
    fi
    sleep "$interval"
  done
  echo "deploy: ${health_url:-/api/v1/health/ through Nginx} not healthy after $tries tries" >&2
  return 1
}

container_healthy() {  # container_healthy <id>: its own /api/v1/health/ answers 200 (30 x 2 s)
  local id=$1 attempt
  for attempt in $(seq 1 "$tries"); do
    if docker exec "$id" python -c "import sys, urllib.request as u; \
sys.exit(u.urlopen('http://127.0.0.1:8000/api/v1/health/', timeout=5).status != 200)" \
      >/dev/null 2>&1; then
      return 0
    fi
    sleep "$interval"
  done
  echo "deploy: container $id never became healthy (tried $attempt times)" >&2
  return 1
}

roll_web() {  # roll_web <tag>: replace every web replica with one of <tag>, one at a time
  local tag=$1 old new_ids id
  mapfile -t old < <(compose ps -q django)
  # New replicas beside the old ones (--no-recreate leaves the running ones alone).
  KORE_TAG=$tag compose up -d --no-deps --no-recreate --scale django=$((${#old[@]} + replicas)) django
  mapfile -t new_ids < <(compose ps -q django | grep -vxF -f <(printf '%s\n' "${old[@]:-none}"))
  for id in "${new_ids[@]}"; do container_healthy "$id" || return 1; done
  # Nginx learns replica addresses when it reloads: its watcher re-resolves `django` every
  # NGINX_UPSTREAM_WATCH_SECONDS (10). Until it has, the old replicas are all it knows.
  echo "deploy: waiting ${settle}s for Nginx to add the new replicas"
  sleep "$settle"
  # Then the old ones go, one by one; Nginx keeps sending to the others.
  for id in "${old[@]}"; do
    echo "deploy: stopping old replica $id"
    docker stop --time 40 "$id" >/dev/null && docker rm "$id" >/dev/null
  done
  KORE_TAG=$tag compose up -d --no-deps --no-recreate --scale django="$replicas" django
}

rollback() {
  echo "deploy: FAILED; rolling back to $previous" >&2
  if KORE_TAG=$previous roll_web "$previous" &&
    KORE_TAG=$previous compose up -d --no-deps celeryworker celerybeat; then
    echo "deploy: rolled back to $previous" >&2
  else
    echo "deploy: the rollback did not come up healthy either; act now" >&2
  fi
  echo "--- last 100 log lines ---" >&2
  compose logs --no-color --tail=100 django celeryworker nginx >&2 || true
  record rolled_back
  exit 1
}

# As many web replicas after the deploy as before it (or KORE_WEB_REPLICAS), at least one.
replicas=${KORE_WEB_REPLICAS:-$(compose ps -q django | wc -l)}
[ "$replicas" -ge 1 ] || replicas=1

# 1. Backup with the running version (none running: the first deploy, nothing to lose).
if [ -n "$(compose ps -q django)" ] && [ "${KORE_SKIP_BACKUP:-0}" != 1 ]; then
  echo "deploy: backing up before the deploy"
  compose exec -T django python manage.py backup || {
    echo "deploy: the pre-deploy backup failed; nothing was changed" >&2
    record failed
    exit 1
  }
fi

# 2. The new image.
if [ "${KORE_PULL:-0}" = 1 ]; then
  KORE_TAG=$new compose pull django
else
  KORE_TAG=$new compose build django
fi

# 3. Migrations (one-shot service, advisory-locked; the old code still runs meanwhile).
KORE_TAG=$new compose run --rm migrate || rollback

# 4. Web replicas one at a time, then the worker and beat.
roll_web "$new" || rollback
KORE_TAG=$new compose up -d --no-deps celeryworker celerybeat || rollback

# 5. Through Nginx, as users reach Kore.
healthy_through_nginx || rollback

echo "$new" >"$state"
record ok
echo "deploy: $env_name now runs $new"
