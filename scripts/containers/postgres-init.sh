#!/bin/sh
# PostgreSQL's first start in the compose stack (mounted into /docker-entrypoint-initdb.d): a role
# and a database of its own for Orthanc's index, and, when the site keeps the PACS database in
# PostgreSQL too (PACS_DB_PASSWORD given to this service), one for the API and the sync-server.
# Passwords go in as psql variables, quoted by psql, never spliced into the SQL text.
set -eu
create_owner() {
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v name="$1" -v password="$2" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
}
create_owner orthanc "${PACS_ORTHANC_INDEX_PASSWORD:?PACS_ORTHANC_INDEX_PASSWORD is required}"
if [ -n "${PACS_DB_PASSWORD:-}" ]; then
  create_owner "${PACS_DB_USER:-pacs}" "$PACS_DB_PASSWORD"
fi
