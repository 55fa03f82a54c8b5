#!/bin/sh
# LEDGER-7: the two roles of cosei-ib on a fresh PostgreSQL (run once by the postgres
# image's entrypoint). The owner owns the database and runs migrations; the app's role is
# what the web and the worker connect as, and gets its privileges from the owner after
# every migrate (accounts/db_roles.py). Neither is a superuser.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v owner_password="$COSEI_OWNER_PASSWORD" -v app_password="$COSEI_APP_PASSWORD" <<'SQL'
CREATE ROLE cosei_owner LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS CREATEDB
    PASSWORD :'owner_password';
CREATE ROLE cosei_app LOGIN NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS NOCREATEDB
    PASSWORD :'app_password';
-- dbprobe31 F7: one SELECT must not fill the disk with temp files (superuser-only setting)
ALTER ROLE cosei_app SET temp_file_limit = '2GB';
CREATE DATABASE cosei_ib OWNER cosei_owner;
REVOKE ALL ON DATABASE cosei_ib FROM PUBLIC;
SQL
