#!/usr/bin/env bash
# The live fast path, side by side in one run (docs/benchmarks.md): the
# relay with its fast path (the load generator's recipients are online and
# ack at once) and with it off (PARLEY_FAST_PATH_MS=0: every envelope is
# committed before it is accepted), on SQLite and on a private PostgreSQL
# (fsync=on, synchronous_commit=on), then the bare forwarder as a process of
# its own. Each row also gives the server's CPU time per delivered envelope.
# Usage: scripts/bench_live.sh LOADGEN RELAY_BINARY, or
#        scripts/bench_live.sh LOADGEN name=RELAY_BINARY [name=RELAY_BINARY…]
# to take each build's rows in turn in the same run (a baseline beside a change).
# ROUNDS (2), DBS ("sqlite pg") and MESSAGES (per device at saturation, 200)
# change the run's shape; SHAPES ("saturation light rate") picks the loads,
# RATE (500) the rate shape's envelopes per second (a whole number, over 10
# devices for 5 s); RELAY_ENV ("VAR=value ...", values without spaces) is
# given to every relay.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bench_lib.sh"
LOADGEN=$1
shift
bench_shape
RATE=${RATE:-500} SHAPES=${SHAPES:-saturation light rate}
[[ $RATE =~ ^[1-9][0-9]{0,8}$ ]] || { echo "RATE: a whole number of envelopes per second, at most 999999999" >&2; exit 2; }
for shape in $SHAPES; do
  case $shape in saturation|light|rate) ;; *) echo "SHAPES: saturation, light or rate, not $shape" >&2; exit 2 ;; esac
done
bench_setup live
bench_pg_start
TCK=$(getconf CLK_TCK)
# load LABEL PID URL [loadgen arguments]: one run, its line, and CPU µs per envelope.
load() {
  local label=$1 pid=$2 url=$3; shift 3
  local before out delivered after
  before=$(bench_ticks "$pid")
  out=$("$LOADGEN" --url "$url" "$@" | tail -1)
  after=$(bench_ticks "$pid")
  delivered=$(sed -n 's/.*: \([0-9]*\) delivered.*/\1/p' <<<"$out")
  if [ "${delivered:-0}" -gt 0 ]; then
    echo "== $label: $out; server CPU $(( (after - before) * 1000000 / TCK / delivered )) µs/msg"
  else
    echo "== $label: nothing delivered: $out"
  fi
}
shapes() { # label pid url [extra loadgen arguments]
  local shape
  for shape in $SHAPES; do
    case $shape in
      saturation) load "$1 saturation" "$2" "$3" "${@:4}" --devices 50 --messages "$MESSAGES" --size 1024 ;;
      light) load "$1 light" "$2" "$3" "${@:4}" --devices 10 --messages 100 --size 1024 --window 1 ;;
      # Open loop: sends on a schedule whatever the answers, as real users send.
      rate) load "$1 at $RATE msg/s" "$2" "$3" "${@:4}" --devices 10 --messages $(( (RATE * 5 + 9) / 10 )) --size 1024 --rate "$RATE" ;;
    esac
  done
}
for round in $(seq "$ROUNDS"); do
  for db in $DBS; do
    for pair in "$@"; do
      name=${pair%%=*} BIN=${pair#*=}
      [ "$name" = "$pair" ] && name=relay
      for window in 50 0; do
        port=$(free_port)
        if [ $db = pg ]; then
          bench_relay "$BIN" "$port" ${RELAY_ENV:-} PARLEY_FAST_PATH_MS=$window DATABASE_URL="$(bench_pg_db "l$port")"
        else
          bench_relay "$BIN" "$port" ${RELAY_ENV:-} PARLEY_FAST_PATH_MS=$window
        fi
        shapes "round $round $name $db fast path ${window} ms" "$(cat "$W/relay-$port/pid")" "http://127.0.0.1:$port"
        bench_relay_stop "$port"
      done
    done
  done
  port=$(free_port)
  "$LOADGEN" --serve-bare "127.0.0.1:$port" >/dev/null &
  bare=$!
  wait_port 127.0.0.1 "$port" 30
  shapes "round $round bare" "$bare" "http://127.0.0.1:$port" --bare
  kill "$bare"
done
