# Sourced by scripts/test: a private PostgreSQL cluster for the tests, in a
# temporary folder on a free loopback port, run as a non-root user
# (PostgreSQL refuses to run as root). Stopped when the calling script exits.

start_test_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then
    echo "PostgreSQL server binaries not found (scripts/setup installs them)" >&2
    return 1
  fi
  local run_as=()
  PG_TEST_DIR=$(mktemp -d -t gatehouse-pg.XXXXXX)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PG_TEST_DIR"
    run_as=(runuser -u postgres --)
    export GATEHOUSE_TEST_PG_USER=postgres
  fi
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${run_as[@]}" "$bin/initdb" -D "$PG_TEST_DIR/data" -U postgres --auth=trust -E UTF8 >/dev/null
  export GATEHOUSE_TEST_PG_OPTS="-p $port -k $PG_TEST_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400"
  "${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -o "$GATEHOUSE_TEST_PG_OPTS" -l "$PG_TEST_DIR/log" -w start >/dev/null
  export GATEHOUSE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
  export GATEHOUSE_TEST_PG_CTL="$bin/pg_ctl"
  export GATEHOUSE_TEST_PG_DATA="$PG_TEST_DIR/data"
  PG_STOP=("${run_as[@]}" "$bin/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate stop)
  trap 'stop_test_postgres' EXIT
  echo "test PostgreSQL on 127.0.0.1:$port"
}

stop_test_postgres() {
  if [ -n "${PG_TEST_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
  fi
}
