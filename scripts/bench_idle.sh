#!/usr/bin/env bash
# Idle-connection benchmark, side by side in one run (docs/benchmarks.md):
# for each relay build named on the command line (SQLite, release) and then
# the bare forwarder as its own process, hold N idle authenticated
# WebSockets and report the server's RSS per connection.
# Usage: scripts/bench_idle.sh LOADGEN N name=RELAY_BINARY [name=RELAY_BINARY ...]
# N is bounded by the open-files limit of this shell (`ulimit -n`): each side
# needs one descriptor per connection.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bench_lib.sh"
LOADGEN=$1 N=$2; shift 2
bench_setup idle
ulimit -n "$(ulimit -Hn)"
# One source address has ~28,000 ports towards one listener, and a closed
# run leaves its ports in TIME_WAIT for a minute: at most ~4,000 per address
# per run keeps four runs in a row within them.
SOURCES=$((N / 4000 + 1))
echo "open-files limit $(ulimit -n); $N connections from $SOURCES source address(es)"
for pair in "$@"; do
  which=${pair%%=*} bin=${pair#*=} port=$(free_port)
  bench_relay "$bin" "$port"
  echo "== $which"
  "$LOADGEN" --url "http://127.0.0.1:$port" --idle "$N" --sources "$SOURCES" \
    --relay-pid "$(cat "$W/relay-$port/pid")"
  bench_relay_stop "$port"
done
# The baseline as its own process: tungstenite's default buffers (128 KiB),
# then 4 KiB ones, as a lean forwarder would set them.
for buffers in "" 4096; do
  port=$(free_port) extra=()
  if [ -n "$buffers" ]; then extra=(--bare-buffers "$buffers"); fi
  "$LOADGEN" --serve-bare "127.0.0.1:$port" "${extra[@]}" >"$W/bare.log" 2>&1 &
  pid=$!
  wait_port 127.0.0.1 "$port" 30
  echo "== bare forwarder, buffers ${buffers:-default}"
  "$LOADGEN" --url "http://127.0.0.1:$port" --bare --idle "$N" --sources "$SOURCES" --relay-pid "$pid"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
