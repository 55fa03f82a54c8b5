#!/bin/sh
# Read scale-out (docs/operations.md): a third role, only for the streaming replica. It
# may replicate and do nothing else (no database, no table); the owner and the app's role
# still may not replicate (LEDGER-7). Run once by the postgres image's entrypoint on a
# fresh primary, after 10-cosei-roles.sh.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v replication_password="$COSEI_REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE cosei_replicator LOGIN REPLICATION NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS
    PASSWORD :'replication_password';
SQL
# replication connections match only the "replication" keyword, never "all"
echo "host replication cosei_replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
