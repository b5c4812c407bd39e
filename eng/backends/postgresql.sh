#!/usr/bin/env bash
# PostgreSQL for the CompGrid.Storage.PostgreSql and billing store tests: a private cluster under
# $COMPGRID_STATE/postgresql (below /var/tmp by default, see eng/lib.sh), listening on 127.0.0.1 only (first free
# port from 55432), socket in the state dir, run as the `postgres` user. Writes COMPGRID_POSTGRES_CONNECTION to
# env/postgresql.env.
#   eng/backends/postgresql.sh start|stop
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

dir="$COMPGRID_STATE/postgresql"
data="$dir/data"
sock="$dir/run"
# From / : the caller's folder may be one postgres cannot enter (psql and pg_ctl would warn on every call).
runas() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }; done
  return 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if ! pg_bin >/dev/null; then
    # Debian's package would create and start a system-wide "main" cluster on port 5432: ask it not to.
    cg_apt_install postgresql-common
    if [ -f /etc/postgresql-common/createcluster.conf ]; then
      sed -i 's/^#\?\s*create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
      grep -q '^create_main_cluster' /etc/postgresql-common/createcluster.conf || echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
    fi
    cg_apt_install postgresql
  fi
  local bin; bin="$(pg_bin)" || { cg_log "postgresql: no pg_ctl found after install"; return 1; }
  mkdir -p "$dir" "$sock"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir" "$sock"
  runas test -w "$dir" || { cg_log "postgresql: the postgres user cannot write $dir (its parent directories must be traversable)"; return 1; }
  if [ ! -f "$data/PG_VERSION" ]; then
    runas "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$COMPGRID_STATE/log/postgresql-initdb.log" 2>&1 \
      || { cg_log "postgresql: initdb failed, see $COMPGRID_STATE/log/postgresql-initdb.log"; return 1; }
  fi
  local port
  if [ -f "$dir/port" ] && runas "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port="$(cat "$dir/port")"
  else
    port=55432
    while ! port_free "$port"; do port=$((port + 1)); done
    echo "$port" >"$dir/port"
    runas "$bin/pg_ctl" -D "$data" -l "$dir/postgresql.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $sock -c max_connections=300 -c fsync=off -c full_page_writes=off" start >/dev/null \
      || { cg_log "postgresql: start failed, see $dir/postgresql.log"; return 1; }
  fi
  head -n 1 "$data/postmaster.pid" >"$COMPGRID_STATE/run/postgresql.pid"
  cg_wait_for "postgresql on port $port" 30 runas "$bin/pg_isready" -h 127.0.0.1 -p "$port" -U postgres
  runas "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='compgrid'" | grep -q 1 \
    || runas "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc "CREATE DATABASE compgrid"
  cg_env postgresql "COMPGRID_POSTGRES_CONNECTION=Host=127.0.0.1;Port=$port;Username=postgres;Database=compgrid;Pooling=true;Maximum Pool Size=100"
  cg_log "postgresql listening on 127.0.0.1:$port"
}

stop() {
  local bin
  if bin="$(pg_bin)" && [ -f "$data/postmaster.pid" ]; then
    runas "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  # If pg_ctl could not stop it, stop the postmaster by its recorded pid.
  cg_stop postgresql 10
  rm -f "$COMPGRID_STATE/env/postgresql.env"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
