#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tofu's tests: initdb in a temporary directory as an
# unprivileged user (initdb refuses root), listening on 127.0.0.1 on a free port and on a
# socket in that directory. Loopback only.
#
#   pg-cluster.sh start DIR     creates and starts it; prints the environment the tests read
#                               (TOFU_TEST_PG_URI, TOFU_TEST_PG_PASSWORD, TOFU_TEST_PG_DIR, …)
#   pg-cluster.sh stop DIR      stops it and removes DIR
#   pg-cluster.sh kill DIR      stops it at once (pg_ctl stop -m immediate), keeping the data
#   pg-cluster.sh restart DIR   starts it again after kill, on the same port
#   pg-cluster.sh psql DIR SQL  runs SQL as the cluster's superuser
#   pg-cluster.sh sql DIR DB SQL  runs SQL as the superuser in database DB; prints the rows
#                               unaligned, one a line, fields separated by |
#
# The server log (DIR/server.log) names each line's database and application, so a test can
# tell its own sessions' statements apart (log_statement set on its database).
set -euo pipefail

command=${1:?usage: pg-cluster.sh start|stop|kill|restart|psql|sql DIR}
dir=${2:?usage: pg-cluster.sh $command DIR}

bindir() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$found" ] && [ -x "$found/initdb" ] || { echo "pg-cluster: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
  echo "$found"
}

# The unprivileged user the server runs as: postgres (made by the Debian package), else nobody.
owner() { if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$(owner)" -- "$@"; else "$@"; fi
}

# A free port below the ephemeral range: one the kernel never hands to another socket (an
# outgoing connection, a test's listener on port 0), so the cluster keeps it across kill and
# restart.
free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    port = random.randint(10000, max(10001, low - 1))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}

# Both start and restart: loopback and the socket in DIR only. After `kill`, recovery first
# syncs the data directory: one syncfs(2) rather than an fsync of each of its ~300 files, which
# takes seconds on a busy disk.
server_options() {
  echo "-c listen_addresses=127.0.0.1 -p $1 -k $dir -c max_connections=200 -c fsync=on -c recovery_init_sync_method=syncfs -c log_line_prefix='%m [%p] %d %a: '"
}

superuser_sql() { as_owner "$(bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(cat "$dir/port")" -U postgres -d postgres -c "$1"; }

case "$command" in
  start)
    bin=$(bindir)
    mkdir -p "$dir"
    chmod 0755 "$dir"
    [ "$(id -u)" != 0 ] || chown "$(owner)" "$dir"
    port=$(free_port)
    echo "$port" > "$dir/port"
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    printf '%s\n' "$password" > "$dir/password"
    chmod 0644 "$dir/port" "$dir/password"
    # Password auth on TCP (as a fleet would), trust on the socket in DIR (for set-up only).
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # Another process may take the port between the look and the start: then another port.
    for attempt in 1 2 3; do
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$(server_options "$port")" start >/dev/null; then
        break
      fi
      if [ "$attempt" = 3 ] || ! grep -q "could not create any TCP/IP sockets" "$dir/server.log"; then
        cat "$dir/server.log" >&2; exit 1
      fi
      port=$(free_port)
      echo "$port" > "$dir/port"
    done
    superuser_sql "CREATE ROLE tofu LOGIN PASSWORD '$password'" >/dev/null
    superuser_sql "CREATE DATABASE tofu OWNER tofu" >/dev/null
    echo "TOFU_TEST_PG_URI=postgresql://tofu@127.0.0.1:$port/tofu"
    echo "TOFU_TEST_PG_PASSWORD=$password"
    echo "TOFU_TEST_PG_DIR=$dir"
    echo "TOFU_TEST_PG_CLUSTER=$(cd "$(dirname "$0")" && pwd)/pg-cluster.sh"
    ;;
  stop)
    if [ -d "$dir/data" ]; then as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
    ;;
  kill)
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
  restart)
    port=$(cat "$dir/port")
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "$(server_options "$port")" start >/dev/null
    ;;
  psql)
    superuser_sql "${3:?pg-cluster.sh psql DIR SQL}"
    ;;
  sql)
    as_owner "$(bindir)/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$dir" -p "$(cat "$dir/port")" -U postgres \
      -d "${3:?pg-cluster.sh sql DIR DB SQL}" -c "${4:?pg-cluster.sh sql DIR DB SQL}"
    ;;
  *)
    echo "pg-cluster: unknown command $command" >&2; exit 2 ;;
esac
