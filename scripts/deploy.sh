#!/usr/bin/env bash
# Deploy Kore on this single Docker host: scripts/deploy.sh <production|staging>  (make deploy ENV=…)
#
#   0. start what the web replicas need and is not running yet (PostgreSQL, Redis, PgBouncer: a
#      first deploy starts from nothing; running ones are left alone);
#   1. back up the database with the version still running (manage.py backup);
#   2. pull the Django and Nginx images tagged KORE_TAG (default: this checkout's short commit),
#      or build them;
#   3. run the one-shot `migrate` service with the new image (expand/contract: the old code keeps
#      working on the migrated schema for one release, see README "Deploy and roll back");
#   4. roll the web replicas: start N new containers beside the N old ones, wait until each new
#      one answers its health check, then stop the old ones one at a time (Nginx re-resolves the
#      service name and retries an idempotent request on another replica), so a replica always
#      answers; then the worker and beat (those the Compose files run: the 512 MB profile has no
#      separate beat); then Nginx, started when missing and recreated only when its image changed;
#   5. check health through Nginx, 30 tries 2 s apart;
#   6. on any failure after step 2: roll back to the previous tag, print the last 100 log lines and
#      exit 1. Every deploy is recorded (time, version, result) in KORE_DEPLOY_LOG for /ops/status/
#      and in logs/deploy_<env>_<time>.log.
#
# Staging beside production on one host (document 003's layout: KORE_COMPOSE_FILES with
# production.lowmem.yml, and COMPOSE_PROFILES=pgbouncer so Compose runs PgBouncer): staging is the `-staging` services of production's own Compose project
# (migrate-staging, django-staging, celeryworker-staging, nginx-staging), on the one PostgreSQL and
# Redis, its image tag in KORE_STAGING_TAG; `deploy.sh staging` rolls only those. With Compose files
# that define no staging services, staging is a project of its own (kore-staging) on a host of its
# own: the script refuses to start it beside a running production.
#
# Settings (environment): KORE_IMAGE (kore-django), KORE_NGINX_IMAGE (kore-nginx), KORE_TAG,
# KORE_PULL=1 to pull instead of build (KORE_PULL=local: the images are already in the engine,
# e.g. `docker load`ed), KORE_COMPOSE_FILES ("production.yml"; add production.lowmem.yml for 512 MB
# hosts), KORE_COMPOSE_PROJECT (production's project: kore),
# KORE_WEB_REPLICAS (current count, at least 1), KORE_HEALTH_URL (default: /api/v1/health/ through
# Nginx by its NGINX_SERVER_NAME and published port, scripts/nginx-health.sh),
# KORE_SKIP_BACKUP=1 (first deploy only), KORE_HEALTH_TRIES (30) and KORE_HEALTH_INTERVAL (2 s),
# KORE_UPSTREAM_SETTLE (15 s), KORE_ENV_FILE (the Compose --env-file: .envs/.env.<env>, or
# .envs/.env.production for staging inside production's project), KORE_DEPLOY_LOG_DIR (logs),
# KORE_DEPLOY_STATE_DIR (var/deploy).
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

read -r -a compose_files <<<"${KORE_COMPOSE_FILES:-production.yml}"
prod_project=${KORE_COMPOSE_PROJECT:-kore}
# Staging inside production's project when the Compose files define its services.
staging_inside=0
if [ "$env_name" = staging ] && grep -qE '^  django-staging:' "${compose_files[@]}" 2>/dev/null; then
  staging_inside=1
fi
if [ "$staging_inside" = 1 ]; then
  env_file=${KORE_ENV_FILE:-.envs/.env.production}
else
  env_file=${KORE_ENV_FILE:-.envs/.env.$env_name}
fi
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

project=$prod_project
[ "$env_name" = production ] || [ "$staging_inside" = 1 ] || project=kore-$env_name
compose_args=(--project-name "$project" --env-file "$env_file")
for file in "${compose_files[@]}"; do compose_args+=(-f "$file"); done
compose() { docker compose "${compose_args[@]}" "$@"; }

# What this environment's services are called, and which variable carries its image tag.
if [ "$staging_inside" = 1 ]; then
  web=django-staging migrate=migrate-staging nginx=nginx-staging tag_var=KORE_STAGING_TAG
  workers=(celeryworker-staging)
else
  web=django migrate=migrate nginx=nginx tag_var=KORE_TAG
  workers=(celeryworker celerybeat)
fi
with_tag() {  # with_tag <tag> <command…>: the command (or function) with this environment's tag
  local tag=$1
  shift
  (
    export "$tag_var=$tag"
    "$@"
  )
}
# Only the services these Compose files run (profiles decide): naming an inactive service, such as
# the 512 MB profile's celerybeat (beat runs inside its worker), would start it.
active=$(compose config --services)
is_active() { grep -qxF "$1" <<<"$active"; }
running_workers=()
for service in "${workers[@]}"; do
  if is_active "$service"; then running_workers+=("$service"); fi
done
infra=()
for service in postgres pgbouncer redis redis-cache; do
  if is_active "$service"; then infra+=("$service"); fi
done

if [ "$env_name" = staging ] && [ "$staging_inside" = 0 ] &&
  [ -n "$(docker ps -q --filter "label=com.docker.compose.project=$prod_project")" ]; then
  echo "deploy: production ($prod_project) runs on this host; staging beside it goes inside its" >&2
  echo "deploy: project (KORE_COMPOSE_FILES=\"production.yml production.lowmem.yml\"), not as a" >&2
  echo "deploy: second PostgreSQL and a second Nginx on the same ports. Nothing was changed." >&2
  exit 2
fi

state=$state_dir/$env_name.tag
running_tag() {  # the image tag of the running web replicas, if any
  local id
  id=$(compose ps -q "$web" | head -n 1)
  [ -n "$id" ] || return 0
  docker inspect --format '{{.Config.Image}}' "$id" | sed 's/.*://'
}
previous=$(cat "$state" 2>/dev/null || running_tag)
new=${KORE_TAG:-$(git rev-parse --short=12 HEAD)}
# Empty: scripts/nginx-health.sh (the env file's NGINX_SERVER_NAME and published port).
health_url=${KORE_HEALTH_URL:-}
tries=${KORE_HEALTH_TRIES:-30}
interval=${KORE_HEALTH_INTERVAL:-2}
settle=${KORE_UPSTREAM_SETTLE:-15}
export KORE_IMAGE=${KORE_IMAGE:-kore-django}
export KORE_NGINX_IMAGE=${KORE_NGINX_IMAGE:-kore-nginx}
echo "deploy: $env_name ${previous:-nothing} -> $new ($(date -u +%FT%TZ))"

record() {  # record <result>: in the data volume for the status page, and on the host
  local result=$1 tag
  printf '{"time":"%s","env":"%s","version":"%s","previous":"%s","result":"%s"}\n' \
    "$(date -u +%FT%TZ)" "$env_name" "$new" "$previous" "$result" >>"$state_dir/deploys.jsonl"
  tag=$(cat "$state" 2>/dev/null || echo "${previous:-$new}")
  with_tag "$tag" compose run --rm --no-deps -T "$web" \
    python manage.py ops_deploy_record "$env_name" "$new" "$result" --previous "$previous" ||
    echo "deploy: could not record the deploy in the data volume" >&2
}

nginx_health() {  # KORE_HEALTH_URL as given, or Kore through Nginx by the name it serves
  if [ -n "$health_url" ]; then
    curl -fsS --max-time 5 "$health_url"
  elif [ "$staging_inside" = 1 ]; then
    scripts/nginx-health.sh "$env_file" staging
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
  mapfile -t old < <(compose ps -q "$web")
  # New replicas beside the old ones (--no-recreate leaves the running ones alone).
  with_tag "$tag" compose up -d --no-deps --no-recreate \
    --scale "$web=$((${#old[@]} + replicas))" "$web"
  mapfile -t new_ids < <(compose ps -q "$web" | grep -vxF -f <(printf '%s\n' "${old[@]:-none}"))
  for id in "${new_ids[@]}"; do container_healthy "$id" || return 1; done
  if [ "${#old[@]}" -gt 0 ]; then
    # Nginx learns replica addresses when it reloads: its watcher re-resolves the service name
    # every NGINX_UPSTREAM_WATCH_SECONDS (10). Until it has, the old replicas are all it knows.
    echo "deploy: waiting ${settle}s for Nginx to add the new replicas"
    sleep "$settle"
  fi
  # Then the old ones go, one by one; Nginx keeps sending to the others.
  for id in "${old[@]}"; do
    echo "deploy: stopping old replica $id"
    docker stop --time 40 "$id" >/dev/null && docker rm "$id" >/dev/null
  done
  with_tag "$tag" compose up -d --no-deps --no-recreate --scale "$web=$replicas" "$web"
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

nginx_changed=0
nginx_up() {  # nginx_up <tag>: start Nginx when it is not running; recreate it if its image changed
  local tag=$1 id
  id=$(compose ps -q "$nginx" | head -n 1)
  if [ -z "$id" ]; then
    echo "deploy: starting Nginx"
    with_tag "$tag" compose up -d --no-deps "$nginx"
  elif [ "$(docker inspect --format '{{.Image}}' "$id")" != "$(image_id "$KORE_NGINX_IMAGE:$tag")" ]; then
    echo "deploy: Nginx's image changed; recreating Nginx (connections open now are cut)"
    nginx_changed=1
    with_tag "$tag" compose up -d --no-deps --force-recreate "$nginx"
  fi
}

restore_web() {  # restore_web <tag>: web replicas of <tag> only, as many as before
  local tag=$1 id kept=0
  # Replicas of the new version go first; the previous version's are still serving when the new
  # ones failed their health check (they are stopped only after every new one is healthy).
  for id in $(compose ps -q "$web"); do
    if [ "$(docker inspect --format '{{.Config.Image}}' "$id")" = "$KORE_IMAGE:$tag" ]; then
      kept=$((kept + 1))
    else
      echo "deploy: removing replica $id of the failed version"
      docker stop --time 10 "$id" >/dev/null && docker rm "$id" >/dev/null
    fi
  done
  [ "$kept" -ge "$replicas" ] || with_tag "$tag" roll_web "$tag"
}

rollback() {
  echo "deploy: FAILED; rolling back to ${previous:-nothing}" >&2
  if [ -z "$previous" ]; then
    echo "deploy: a first deploy has nothing to roll back to; the containers are left for inspection" >&2
  elif restore_web "$previous" &&
    { [ "${#running_workers[@]}" -eq 0 ] ||
      with_tag "$previous" compose up -d --no-deps "${running_workers[@]}"; } &&
    { [ "$nginx_changed" = 0 ] || with_tag "$previous" compose up -d --no-deps "$nginx"; }; then
    echo "deploy: rolled back to $previous" >&2
  else
    echo "deploy: the rollback did not come up healthy either; act now" >&2
  fi
  echo "--- last 100 log lines ---" >&2
  compose logs --no-color --tail=100 "$web" "${running_workers[@]}" "$nginx" >&2 || true
  record rolled_back
  exit 1
}

# As many web replicas after the deploy as before it (or KORE_WEB_REPLICAS), at least one.
replicas=${KORE_WEB_REPLICAS:-$(compose ps -q "$web" | wc -l)}
[ "$replicas" -ge 1 ] || replicas=1

# 0. What the web replicas need, started when missing (--wait: until healthy); running ones stay.
if [ "${#infra[@]}" -gt 0 ]; then
  compose up -d --no-recreate --wait "${infra[@]}" || {
    echo "deploy: ${infra[*]} did not come up healthy; nothing else was changed" >&2
    record failed
    exit 1
  }
fi

# 1. Backup with the running version (none running: the first deploy, nothing to lose).
if [ -n "$(compose ps -q "$web")" ] && [ "${KORE_SKIP_BACKUP:-0}" != 1 ]; then
  echo "deploy: backing up before the deploy"
  compose exec -T "$web" python manage.py backup || {
    echo "deploy: the pre-deploy backup failed; nothing was changed" >&2
    record failed
    exit 1
  }
fi

# 2. The new images (Django, and Nginx: both carry the tag).
case "${KORE_PULL:-0}" in
  1) KORE_TAG=$new compose pull django nginx ;;
  local)
    for image in "$KORE_IMAGE:$new" "$KORE_NGINX_IMAGE:$new"; do
      [ -n "$(image_id "$image")" ] || {
        echo "deploy: $image is not in this engine (KORE_PULL=local); nothing was changed" >&2
        exit 1
      }
    done ;;
  *) KORE_TAG=$new compose build django nginx ;;
esac

# 3. Migrations (one-shot service, advisory-locked; the old code still runs meanwhile).
with_tag "$new" compose run --rm "$migrate" || rollback

# 4. Web replicas one at a time, then the worker and beat, then Nginx.
roll_web "$new" || rollback
if [ "${#running_workers[@]}" -gt 0 ]; then
  with_tag "$new" compose up -d --no-deps "${running_workers[@]}" || rollback
fi
nginx_up "$new" || rollback

# 5. Through Nginx, as users reach Kore.
healthy_through_nginx || rollback

echo "$new" >"$state"
record ok
echo "deploy: $env_name now runs $new"
