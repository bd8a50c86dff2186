#!/usr/bin/env bash
# Where a saturation run's work goes (docs/benchmarks.md): one relay build,
# on one node or two (Redis wake-ups, every envelope crossing), on a
# private PostgreSQL (fsync=on) with pg_stat_statements loaded. Prints the
# run's msg/s, the CPU ticks (1/100 s) each process spent during it, the
# database's transactions and the most frequent statements.
# Usage: scripts/profile_nodes.sh LOADGEN RELAY_BINARY [1|2 nodes] [MESSAGES per device]
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bench_lib.sh"
LOADGEN=$1 BIN=$2 NODES=${3:-2} MESSAGES=${4:-1000}
bench_setup profile
PG_EXTRA="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" bench_pg_start
bench_psql -qc "create extension pg_stat_statements" >/dev/null
db=$(bench_pg_db profile)
urls=() pids=()
if [ "$NODES" = 2 ]; then
  bench_redis_start
  for _ in 1 2; do
    p=$(free_port); bench_relay "$BIN" "$p" DATABASE_URL="$db" PARLEY_REDIS_URL="$REDIS_URL"
    urls+=(--url "http://127.0.0.1:$p"); pids+=("$(cat "$W/relay-$p/pid")")
  done
else
  p=$(free_port); bench_relay "$BIN" "$p" DATABASE_URL="$db"
  urls+=(--url "http://127.0.0.1:$p"); pids+=("$(cat "$W/relay-$p/pid")")
fi
# The private cluster's processes only (its postmaster and children; a
# backend that exits during the run takes its ticks with it).
pg_ticks() {
  local pm t=0 p; pm=$(head -1 "$W/pg/data/postmaster.pid")
  for p in $pm $(pgrep -P "$pm"); do t=$((t + $(bench_ticks "$p"))); done; echo $t
}
relay_ticks() { local t=0 p; for p in "${pids[@]}"; do t=$((t + $(bench_ticks "$p"))); done; echo $t; }
commits() { bench_psql -Atc "select xact_commit from pg_stat_database where datname = 'profile'"; }
bench_psql -qc "select pg_stat_statements_reset()" >/dev/null
r0=$(relay_ticks) g0=$(pg_ticks) x0=$(commits)
"$LOADGEN" "${urls[@]}" --devices 50 --messages "$MESSAGES" --size 1024 | tail -1
r1=$(relay_ticks) g1=$(pg_ticks)
# Idle backends report their transaction counts within 10 s (PostgreSQL 15).
sleep 11; x1=$(commits)
echo "CPU ticks: relay nodes $((r1 - r0)), PostgreSQL $((g1 - g0)); transactions $((x1 - x0))"
echo "calls | rows | exec ms | statement"
q="select calls, rows, round(total_exec_time::numeric, 1), left(regexp_replace(query, '\s+', ' ', 'g'), 110)"
q+=" from pg_stat_statements where dbid = (select oid from pg_database where datname = 'profile')"
bench_psql -Atc "$q order by calls desc limit 12"
