#!/usr/bin/env bash
# Mailbox benchmark, side by side in one run (docs/benchmarks.md): relay
# builds named on the command line, on SQLite and on a private PostgreSQL
# with fsync=on and synchronous_commit=on, then the bare forwarder.
# Usage: scripts/bench_mailbox.sh LOADGEN name=RELAY_BINARY [name=RELAY_BINARY ...]
# ROUNDS (2), DBS ("sqlite pg") and MESSAGES (per device at saturation, 200)
# change the run's shape.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bench_lib.sh"
LOADGEN=$1; shift  # then name=binary pairs
bench_shape
bench_setup bench
bench_pg_start
for round in $(seq "$ROUNDS"); do
  for pair in "$@"; do
    which=${pair%%=*} bin=${pair#*=}
    for db in $DBS; do
      port=$(free_port)
      if [ $db = pg ]; then
        bench_relay "$bin" "$port" DATABASE_URL="$(bench_pg_db "b$port")"
      else
        bench_relay "$bin" "$port"
      fi
      echo "== round $round $which $db saturation"
      "$LOADGEN" --url http://127.0.0.1:$port --devices 50 --messages "$MESSAGES" --size 1024 | tail -3
      echo "== round $round $which $db light"
      "$LOADGEN" --url http://127.0.0.1:$port --devices 10 --messages 100 --size 1024 --window 1 | tail -3
      bench_relay_stop "$port"
    done
  done
  echo "== round $round bare saturation"
  "$LOADGEN" --bare --devices 50 --messages "$MESSAGES" --size 1024 | tail -3
  echo "== round $round bare light"
  "$LOADGEN" --bare --devices 10 --messages 100 --size 1024 --window 1 | tail -3
done
