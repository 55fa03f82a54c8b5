#!/bin/sh
# The streaming replica of docker-compose.yml (docs/operations.md, "Read scale-out").
# First start: a base backup of the primary with -R (standby.signal and primary_conninfo
# written for us); every start: a hot standby that follows the primary.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready --host "$PRIMARY_HOST" --username cosei_replicator --dbname postgres; do
    sleep 1
  done
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  PGPASSWORD="$COSEI_REPLICATION_PASSWORD" pg_basebackup --host "$PRIMARY_HOST" \
    --username cosei_replicator --pgdata "$PGDATA" --write-recovery-conf \
    --wal-method stream --checkpoint fast --progress
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on
