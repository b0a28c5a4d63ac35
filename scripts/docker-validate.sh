#!/usr/bin/env bash
# Where a Docker engine answers, render both Compose files with `docker compose config` and build
# both images. Without an engine this says so and succeeds: the files are still checked
# statically by tests/deploy (hadolint, the Compose specification schema, nginx -t, …).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "docker-validate: no Docker engine answers 'docker info'; static checks only"
  exit 0
fi
env_file=.envs/.env.production.example
docker compose --env-file "$env_file" -f production.yml config --quiet
docker compose --env-file "$env_file" -f production.yml -f production.lowmem.yml \
  --profile pgbouncer config --quiet
docker build -f docker/production/django/Dockerfile -t kore-django:validate .
docker build -t kore-nginx:validate docker/production/nginx
echo "docker-validate: Compose files render and both images build"
