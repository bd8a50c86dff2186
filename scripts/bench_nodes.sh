#!/usr/bin/env bash
# Several relay nodes, side by side in one run (docs/benchmarks.md): for
# each relay build named on the command line, one node, then two nodes on
# the same private PostgreSQL (fsync=on, synchronous_commit=on) with Redis
# wake-ups, where devices alternate between the nodes so every envelope
# crosses; then the bare forwarder.
# Usage: scripts/bench_nodes.sh LOADGEN RELAY_BINARY
#    or: scripts/bench_nodes.sh LOADGEN name=RELAY_BINARY [name=RELAY_BINARY ...]
# ROUNDS (2) and MESSAGES (per device at saturation, 200) change the run's shape.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bench_lib.sh"
LOADGEN=$1; shift  # then binaries, named or not
bench_shape
[ $# -gt 0 ] || { echo "usage: $0 LOADGEN [name=]RELAY_BINARY ..." >&2; exit 2; }
bench_setup nodes
bench_pg_start
bench_redis_start
load() { # label, then --url arguments
  local label=$1; shift
  echo "== $label saturation"
  "$LOADGEN" "$@" --devices 50 --messages "$MESSAGES" --size 1024 | tail -3
  echo "== $label light"
  "$LOADGEN" "$@" --devices 10 --messages 100 --size 1024 --window 1 | tail -3
}
for round in $(seq "$ROUNDS"); do
  for pair in "$@"; do
    which=${pair%%=*} bin=${pair#*=}
    [ "$which" = "$pair" ] && which=""
    port=$(free_port)
    bench_relay "$bin" "$port" DATABASE_URL="$(bench_pg_db "one$port")"
    load "round $round ${which:+$which }one node" --url "http://127.0.0.1:$port"
    bench_relay_stop "$port"
    db=$(bench_pg_db "two$port")
    a=$(free_port); bench_relay "$bin" "$a" DATABASE_URL="$db" PARLEY_REDIS_URL="$REDIS_URL"
    b=$(free_port); bench_relay "$bin" "$b" DATABASE_URL="$db" PARLEY_REDIS_URL="$REDIS_URL"
    load "round $round ${which:+$which }two nodes" --url "http://127.0.0.1:$a" --url "http://127.0.0.1:$b"
    bench_relay_stop "$a"; bench_relay_stop "$b"
  done
  echo "== round $round bare saturation"
  "$LOADGEN" --bare --devices 50 --messages "$MESSAGES" --size 1024 | tail -3
  echo "== round $round bare light"
  "$LOADGEN" --bare --devices 10 --messages 100 --size 1024 --window 1 | tail -3
done
