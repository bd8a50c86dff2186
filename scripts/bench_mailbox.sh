#!/usr/bin/env bash
# Mailbox benchmark, side by side in one run (docs/benchmarks.md): relay
# builds named on the command line, on SQLite and on a private PostgreSQL
# with fsync=on and synchronous_commit=on, then the bare forwarder.
# Usage: scripts/bench_mailbox.sh LOADGEN name=RELAY_BINARY [name=RELAY_BINARY ...]
source "$(dirname "$0")/lib.sh"
LOADGEN=$1; shift  # then name=binary pairs
W=$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
PGPORT=$(free_port)
# PostgreSQL refuses to run as root: its cluster belongs to `postgres`.
mkdir -p "$W/pg"; chmod 755 "$W"; chown -R postgres "$W/pg"
RUNPG="runuser -u postgres -- sh -c"  # as services.sh does for `make test`
$RUNPG "$PGBIN/initdb -D $W/pg/data -A trust -U parley >/dev/null"
$RUNPG "$PGBIN/pg_ctl -D $W/pg/data -l $W/pg/log -w -o '-p $PGPORT -k $W/pg -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c max_connections=300' start >/dev/null"
trap '$RUNPG "$PGBIN/pg_ctl -D $W/pg/data stop -m fast >/dev/null" || true; kill $(jobs -p) 2>/dev/null || true; rm -rf "$W"' EXIT
$RUNPG "$PGBIN/psql -h 127.0.0.1 -p $PGPORT -U parley -d postgres -Atc 'show fsync; show synchronous_commit'" | tr '\n' ' '; echo
run_relay() { # bin db-url-or-empty port
  local bin=$1 db=$2 port=$3 dir="$W/relay-$port"; mkdir -p "$dir"
  env PARLEY_LOG=warn PARLEY_RATE_LIMIT_IP_PER_MIN=1000000 PARLEY_RATE_LIMIT_DEVICE_PER_SEC=1000000 \
    PARLEY_BIND=127.0.0.1:$port PARLEY_DATA_DIR=$dir ${db:+DATABASE_URL=$db} "$bin" serve > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
  for i in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "relay on $port did not start"; cat "$dir/log"; return 1
}
stop_relay() { kill "$(cat "$W/relay-$1/pid")"; sleep 1; }
for round in 1 2; do
  for pair in "$@"; do
    which=${pair%%=*} bin=${pair#*=}
    for db in sqlite pg; do
      port=$(free_port)
      url=""
      if [ $db = pg ]; then
        $RUNPG "$PGBIN/psql -h 127.0.0.1 -p $PGPORT -U parley -d postgres -qc 'create database b$port'"
        url="postgres://parley@127.0.0.1:$PGPORT/b$port"
      fi
      run_relay "$bin" "$url" $port
      echo "== round $round $which $db saturation"
      "$LOADGEN" --url http://127.0.0.1:$port --devices 50 --messages 200 --size 1024 | tail -3
      echo "== round $round $which $db light"
      "$LOADGEN" --url http://127.0.0.1:$port --devices 10 --messages 100 --size 1024 --window 1 | tail -3
      stop_relay $port
    done
  done
  echo "== round $round bare saturation"
  "$LOADGEN" --bare --devices 50 --messages 200 --size 1024 | tail -3
  echo "== round $round bare light"
  "$LOADGEN" --bare --devices 10 --messages 100 --size 1024 --window 1 | tail -3
done
