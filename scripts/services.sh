#!/usr/bin/env bash
# Installs (apt-get, when missing) and starts the servers the test suite needs, on loopback only:
# PostgreSQL on 127.0.0.1:${SMDPP_PG_PORT:-55432} and Redis on 127.0.0.1:${SMDPP_REDIS_PORT:-56379}.
# Idempotent: a server already answering is left alone. Prints the environment the tests read;
# use it as:  eval "$(scripts/services.sh)"
set -euo pipefail

PG_PORT=${SMDPP_PG_PORT:-55432}
REDIS_PORT=${SMDPP_REDIS_PORT:-56379}
STATE=${SMDPP_SERVICES_DIR:-/tmp/smdpp-services}
mkdir -p "$STATE"
log() { echo "services: $*" >&2; }

apt_updated=0
need_pkg() { # need_pkg <command-or-path> <debian package...>
  if [ -e "$1" ] || command -v "$1" >/dev/null 2>&1; then return; fi
  if [ "$(id -u)" != 0 ]; then log "missing $1 and not root: install ${*:2}"; exit 1; fi
  if [ $apt_updated = 0 ]; then apt-get update -qq >&2; apt_updated=1; fi
  log "installing ${*:2}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${@:2}" >&2
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && { echo "$d"; return; }; done
}

need_pkg redis-server redis-server
need_pkg openssl openssl
[ -n "$(pg_bin)" ] || need_pkg /usr/lib/postgresql/15/bin/initdb postgresql
PGBIN=$(pg_bin)

# PostgreSQL refuses to run as root: run it as the postgres system user (created by the package).
run_pg() { if [ "$(id -u)" = 0 ]; then su -s /bin/sh postgres -c "$*"; else sh -c "$*"; fi; }
PGDATA="$STATE/pg"
if ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA" "$STATE"
    run_pg "'$PGBIN/initdb' -D '$PGDATA' -U smdpp --auth=trust -E UTF8 >/dev/null"
  fi
  # Test-only settings: durability off makes the suite fast; never use these in production.
  run_pg "'$PGBIN/pg_ctl' -D '$PGDATA' -l '$PGDATA/server.log' -w -t 60 -o \"-h 127.0.0.1 -p $PG_PORT -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start >/dev/null"
  log "postgres started on 127.0.0.1:$PG_PORT"
fi
for db in smdpp_test; do
  "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U smdpp -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
    "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U smdpp "$db"
done

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
    --logfile "$STATE/redis.log" --dir "$STATE" >/dev/null
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  log "redis started on 127.0.0.1:$REDIS_PORT"
fi

echo "export SMDPP_TEST_POSTGRES_DSN='host=127.0.0.1 port=$PG_PORT user=smdpp dbname=smdpp_test sslmode=disable'"
echo "export SMDPP_TEST_REDIS_URL='redis://127.0.0.1:$REDIS_PORT/0'"
