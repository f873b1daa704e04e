#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL cluster on loopback for the attestation service's
# storage and replica tests, and prints its URL. Debian's `postgresql` package provides the
# binaries; the cluster lives in a temporary directory owned by the `postgres` user.
#   scripts/postgres.sh start [PORT]   -> prints postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres.sh stop
set -euo pipefail

dir=${CVM_POSTGRES_DIR:-/tmp/cvmkit-postgres}
port=${2:-25432}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_postgres=()
if (($(id -u) == 0)); then as_postgres=(runuser -u postgres --); fi

case "${1:-}" in
start)
  if [[ -f "$dir/postmaster.pid" ]] && "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    echo "postgres://postgres@127.0.0.1:$(sed -n 4p "$dir/postmaster.pid")/postgres"
    exit 0
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  if (($(id -u) == 0)); then chown postgres:postgres "$dir"; fi
  "${as_postgres[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust >"$dir.initdb.log" 2>&1
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-h 127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off" start >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start [PORT] | stop" >&2
  exit 2
  ;;
esac
