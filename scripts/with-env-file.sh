#!/usr/bin/env bash
# Run a command with the variables of a Compose-style env file exported (when the file exists).
#   scripts/with-env-file.sh .envs/.env.staging python manage.py backup
# Variables already set in the environment win over the file, so `make db-backup-staging`
# callers can still override e.g. DATABASE_URL on the command line.
set -euo pipefail

env_file=$1
shift
if [[ -f "$env_file" ]]; then
  # Remember what the caller set, source the file with auto-export, then restore the caller's.
  saved=$(export -p)
  set -a
  # shellcheck source=/dev/null
  . "$env_file"
  set +a
  eval "$saved"
fi
exec "$@"
