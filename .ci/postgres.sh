# A throwaway PostgreSQL cluster for the ledger's tests: `source .ci/postgres.sh; start_postgres`.
#
# Installs Debian's `postgresql` package if its binaries are missing, runs `initdb` in a new
# temporary directory (as the `postgres` user when we are root: PostgreSQL refuses root), listens
# on 127.0.0.1 only, on a free port, with a random password, and exports
#   PANDADOC_TEST_POSTGRES_URL=postgres://postgres:<password>@127.0.0.1:<port>/postgres
# The cluster is stopped and its directory removed when the shell exits, whatever happens.
# `start_pgbouncer` then puts Debian's PgBouncer in front of it, in transaction pooling (as many
# managed setups reach PostgreSQL), and exports
#   PANDADOC_TEST_PGBOUNCER_URL=postgres://postgres:<password>@127.0.0.1:<port>/postgres

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -z "$bin" ]; then
    echo "postgres: installing Debian's postgresql package" >&2
    if [ "$(id -u)" -ne 0 ]; then
      echo "postgres: not root: install the postgresql package first" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || return 1
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  PG_TMP=$(mktemp -d -t pandadoc-pg.XXXXXX)
  chmod 755 "$PG_TMP"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$PG_TMP" postgres
    chown postgres "$PG_TMP"
    as=(runuser -u postgres --)
  fi
  local password
  password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  PG_PASSWORD=$password
  printf '%s\n' "$password" > "$PG_TMP/pw"
  [ "${#as[@]}" -eq 0 ] || chown postgres "$PG_TMP/pw"
  "${as[@]}" "$bin/initdb" -D "$PG_TMP/data" -U postgres --auth=scram-sha-256 \
    --pwfile="$PG_TMP/pw" -E UTF8 --no-instructions >"$PG_TMP/initdb.log" 2>&1 ||
    { cat "$PG_TMP/initdb.log" >&2; return 1; }
  rm -f "$PG_TMP/pw"
  PG_CTL=("${as[@]}" "$bin/pg_ctl" -D "$PG_TMP/data")
  trap stop_postgres EXIT
  local port tries=0
  while :; do
    port=$((20000 + RANDOM % 20000))
    if "${PG_CTL[@]}" -l "$PG_TMP/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $PG_TMP -c max_connections=300 -c fsync=on" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      tail -n 20 "$PG_TMP/server.log" >&2
      return 1
    fi
  done
  PG_PORT=$port
  export PANDADOC_TEST_POSTGRES_URL="postgres://postgres:$password@127.0.0.1:$port/postgres"
  echo "postgres: a throwaway server on 127.0.0.1:$port ($("$bin/postgres" --version))" >&2
}

start_pgbouncer() {
  local bouncer=/usr/sbin/pgbouncer
  if [ ! -x "$bouncer" ]; then
    echo "pgbouncer: installing Debian's pgbouncer package" >&2
    if [ "$(id -u)" -ne 0 ]; then
      echo "pgbouncer: not root: install the pgbouncer package first" >&2
      return 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >&2 ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >&2; } || return 1
  fi
  local port=$((20000 + RANDOM % 20000))
  printf '"postgres" "%s"\n' "$PG_PASSWORD" > "$PG_TMP/userlist.txt"
  {
    echo "[databases]"
    echo "* = host=127.0.0.1 port=$PG_PORT"
    echo "[pgbouncer]"
    echo "listen_addr = 127.0.0.1"
    echo "listen_port = $port"
    echo "unix_socket_dir ="
    echo "auth_type = scram-sha-256"
    echo "auth_file = $PG_TMP/userlist.txt"
    echo "pool_mode = transaction"
    echo "max_client_conn = 500"
    echo "default_pool_size = 20"
    echo "logfile = $PG_TMP/pgbouncer.log"
    echo "pidfile = $PG_TMP/pgbouncer.pid"
  } > "$PG_TMP/pgbouncer.ini"
  local as=()
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$PG_TMP/userlist.txt" "$PG_TMP/pgbouncer.ini"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bouncer" -d -q "$PG_TMP/pgbouncer.ini" ||
    { cat "$PG_TMP/pgbouncer.log" >&2; return 1; }
  export PANDADOC_TEST_PGBOUNCER_URL="postgres://postgres:$PG_PASSWORD@127.0.0.1:$port/postgres"
  echo "pgbouncer: transaction pooling on 127.0.0.1:$port ($("$bouncer" --version | head -n 1))" >&2
}

stop_postgres() {
  if [ -n "${PG_TMP:-}" ] && [ -f "$PG_TMP/pgbouncer.pid" ]; then
    kill "$(cat "$PG_TMP/pgbouncer.pid")" 2>/dev/null || true
  fi
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    "${PG_CTL[@]}" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}
