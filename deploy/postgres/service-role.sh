#!/bin/sh
# Run by the postgres image once, when it initialises an empty data directory (compose.yaml mounts it into
# /docker-entrypoint-initdb.d): the login role the hosts connect as. Its rights on the tables are given by the
# hosts themselves after every migration (AUXDUTY_DB_SERVICE_ROLE), never here.
set -eu
: "${AUXDUTY_SERVICE_DB_PASSWORD:?is not set}"
psql --no-psqlrc -v ON_ERROR_STOP=1 -v password="$AUXDUTY_SERVICE_DB_PASSWORD" \
    --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
CREATE ROLE auxduty_service LOGIN PASSWORD :'password';
SQL
