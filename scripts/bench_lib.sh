# Helpers for the benchmark scripts (docs/benchmarks.md). Source it after
# lib.sh; do not run it. Everything lives under $W (bench_setup), which
# the EXIT trap removes after calling bench_cleanup.

# The work directory $W (removed on exit, with everything the helpers
# started stopped first): bench_setup NAME.
bench_setup() {
  W=$(mktemp -d "${TMPDIR:-/tmp}/parley-$1.XXXXXX")
  trap 'bench_cleanup; rm -rf "$W"' EXIT
}

# A private PostgreSQL cluster with durable settings (fsync=on,
# synchronous_commit=on) on a free port; sets PGPORT and bench_psql.
# PG_EXTRA: more server options (-c name=value ...).
bench_pg_start() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
  PGPORT=$(free_port)
  # PostgreSQL refuses to run as root: its cluster belongs to `postgres`.
  mkdir -p "$W/pg"; chmod 755 "$W"; chown -R postgres "$W/pg"
  RUNPG="runuser -u postgres -- sh -c"  # as services.sh does for `make test`
  $RUNPG "$PGBIN/initdb -D $W/pg/data -A trust -U parley >/dev/null"
  $RUNPG "$PGBIN/pg_ctl -D $W/pg/data -l $W/pg/log -w -o '-p $PGPORT -k $W/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300 ${PG_EXTRA:-}' start >/dev/null"
  bench_psql -Atc 'show fsync; show synchronous_commit' | tr '\n' ' '; echo
}
bench_psql() { $RUNPG "$PGBIN/psql -h 127.0.0.1 -p $PGPORT -U parley -d postgres $(printf '%q ' "$@")"; }
# A new database on the private cluster; prints its URL.
bench_pg_db() {
  bench_psql -qc "create database $1" >/dev/null
  echo "postgres://parley@127.0.0.1:$PGPORT/$1"
}

# A Redis on a free port, nothing persisted; sets REDIS_URL.
bench_redis_start() {
  local port; port=$(free_port)
  mkdir -p "$W/redis"
  redis-server --bind 127.0.0.1 --port "$port" --dir "$W/redis" --save "" --appendonly no \
    --daemonize no --logfile "$W/redis/log" &
  echo $! >"$W/redis/pid"
  wait_port 127.0.0.1 "$port" 30
  REDIS_URL="redis://127.0.0.1:$port"
}

# A release relay: bench_relay BIN PORT [VAR=value ...]; waits until ready.
# The live fast path is off unless the caller passes PARLEY_FAST_PATH_MS:
# the load generator's recipients ack at once, so with it on every row
# would measure the fast path instead of the database.
bench_relay() {
  local bin=$1 port=$2 dir="$W/relay-$2"; shift 2
  mkdir -p "$dir"
  env PARLEY_LOG=warn PARLEY_RATE_LIMIT_IP_PER_MIN=100000000 PARLEY_RATE_LIMIT_DEVICE_PER_SEC=1000000 \
    PARLEY_FAST_PATH_MS=0 \
    PARLEY_BIND="127.0.0.1:$port" PARLEY_DATA_DIR="$dir" "$@" "$bin" serve >"$dir/log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 150); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "relay on $port did not start"; cat "$dir/log"; return 1
}
bench_relay_stop() { kill "$(cat "$W/relay-$1/pid")"; sleep 1; }

# Stops what the helpers started (for the caller's EXIT trap).
bench_cleanup() {
  if [ -n "${PGBIN:-}" ]; then $RUNPG "$PGBIN/pg_ctl -D $W/pg/data stop -m fast >/dev/null" || true; fi
  kill $(jobs -p) 2>/dev/null || true
}

# utime + stime of a process, in clock ticks (0 once it is gone).
bench_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# The run's shape from the environment: ROUNDS (2), DBS ("sqlite pg",
# each sqlite or pg) and MESSAGES (per device at saturation, 200).
bench_shape() {
  ROUNDS=${ROUNDS:-2} DBS=${DBS:-sqlite pg} MESSAGES=${MESSAGES:-200}
  local db
  for db in $DBS; do
    case $db in sqlite|pg) ;; *) echo "DBS: sqlite or pg, not $db" >&2; exit 2 ;; esac
  done
}
