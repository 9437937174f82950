#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the test suite on a free loopback port (trust auth, user
# postgres, data in a temporary folder) and prints its URL; `scripts/own_postgres.sh stop DIR`
# stops it and removes the folder. Used by scripts/test when nothing answers on 127.0.0.1:5432.
set -euo pipefail

if [ "${1:-}" = stop ]; then
  dir="$2"
  as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  as_owner "$(cat "$dir/bin")/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "sandgate: PostgreSQL's initdb not found: apt-get install postgresql" >&2; exit 1; }
dir=$(mktemp -d /tmp/sandgate-postgres.XXXXXX)
echo "$bin" >"$dir/bin"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# PostgreSQL refuses to run as root: as root, the server runs as the package's postgres user.
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_owner() { runuser -u postgres -- "$@"; }
else
  as_owner() { "$@"; }
fi
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
echo "postgres://postgres@127.0.0.1:$port/postgres $dir"
