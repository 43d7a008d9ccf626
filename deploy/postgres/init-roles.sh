#!/usr/bin/env bash
# First start of the compose PostgreSQL (docker-entrypoint-initdb.d): the least-privilege
# roles of rtsa, as src/store/roles.ts makes them for the local server.
#   rtsa_writer  owns the database and its public schema, no superuser (the processor)
#   rtsa_reader  may connect and read, nothing else (the API, Grafana)
# Passwords come from the environment (docker-compose.yml); psql quotes them (:'var').
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v writer_pw="$RTSA_WRITER_PASSWORD" -v reader_pw="$RTSA_READER_PASSWORD" -v db="$POSTGRES_DB" <<'SQL'
create role rtsa_writer login nosuperuser nocreatedb nocreaterole password :'writer_pw';
create role rtsa_reader login nosuperuser nocreatedb nocreaterole password :'reader_pw';
alter database :"db" owner to rtsa_writer;
revoke all on database :"db" from public;
grant connect, temporary on database :"db" to rtsa_reader;
alter schema public owner to rtsa_writer;
revoke create on schema public from public;
grant usage on schema public to rtsa_reader;
alter default privileges for role rtsa_writer in schema public grant select on tables to rtsa_reader;
SQL
