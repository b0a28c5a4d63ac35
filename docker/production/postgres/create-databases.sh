#!/bin/sh
# PostgreSQL image init script (/docker-entrypoint-initdb.d/, first start of an empty volume only):
# create the extra databases named in KORE_EXTRA_DATABASES (space separated), owned by
# POSTGRES_USER. The 512 MB profile keeps production (POSTGRES_DB) and staging in one server.
set -eu

for db in ${KORE_EXTRA_DATABASES:-}; do
    echo "create-databases: creating $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v db="$db" -v owner="$POSTGRES_USER" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
done
