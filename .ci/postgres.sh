#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on a Unix socket for the test suite and print its URL.
# Usage: eval "$(bash .ci/postgres.sh DIR)"  -> exports SKJEMAMOTTAK_TEST_POSTGRES_URL
set -euo pipefail
dir=${1:?folder for the cluster}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
mkdir -p "$dir"
chown postgres "$dir" 2>/dev/null || true
if [ ! -f "$dir/data/PG_VERSION" ]; then
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync >/dev/null
fi
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 ||
runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null
echo "export SKJEMAMOTTAK_TEST_POSTGRES_URL='postgresql+psycopg://postgres@/postgres?host=$dir'"
