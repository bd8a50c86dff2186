#!/usr/bin/env bash
# API conformance: schemathesis fuzzes a debug relay against the relay's own
# OpenAPI document. Any 5xx, undocumented status, wrong content type, body or
# header that breaks its schema, or bearer operation that answers without a
# token is a failure. `make test` runs it; alone: scripts/api-conformance.sh DIR
#
# Authentication: `tools/loadgen/examples/api_token` registers a device through the open
# gate (a real Ed25519-signed registration) and prints its token. Pass 1 fuzzes
# every operation with it except the three that end the session or the device;
# pass 2 fuzzes those three with a second device's token (after the first 204,
# they answer 401, which is documented). `ignored_auth` also sends every
# bearer operation without and with a bad token.
#
#   PARLEY_API_FUZZ_SECONDS  time for pass 1 (default 60)
#   PARLEY_API_FUZZ_SEED     reproduce a run (schemathesis prints its seed)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[ -n "${1:-}" ] || die "usage: api-conformance.sh DIR"
dir="$1/api-conformance"
mkdir -p "$dir"
secs="${PARLEY_API_FUZZ_SECONDS:-60}"

cargo build --locked -q -p parley-relay --bin parley-relay
cargo build --locked -q -p parley-loadgen --example api_token
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"

port="$(free_port)"
base="http://127.0.0.1:$port"
# From $dir, so a developer's ./.env cannot point this relay elsewhere. TURN
# is configured (no server needed) so /turn answers 200 and gets checked.
turn_key="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
(cd "$dir" && exec env PARLEY_BIND="127.0.0.1:$port" PARLEY_DATA_DIR="$dir/data" \
  DATABASE_URL="sqlite://$dir/data/parley.db" PARLEY_STATIC_DIR="$dir/no-dist" \
  PARLEY_RATE_LIMIT_IP_PER_MIN=1000000 PARLEY_TURN_URLS="turn:127.0.0.1:3478" \
  PARLEY_TURN_SECRET="$turn_key" PARLEY_LOG=warn \
  "$target_dir/debug/parley-relay" serve) >"$dir/relay.log" 2>&1 &
relay_pid=$!
trap 'kill "$relay_pid" 2>/dev/null || true; wait "$relay_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
wait_port 127.0.0.1 "$port" 30 || { tail -n 30 "$dir/relay.log" >&2; die "relay did not start"; }

checks=not_a_server_error,status_code_conformance,content_type_conformance
checks+=,response_schema_conformance,response_headers_conformance,ignored_auth
ending=(/api/v1/auth/session /api/v1/auth/sessions /api/v1/devices/me)
token1="$("$target_dir/debug/examples/api_token" "$base")"
token2="$("$target_dir/debug/examples/api_token" "$base")"

# One pass; prints schemathesis's summary (everything on failure).
pass() {
  local name=$1; shift
  local out="$dir/schemathesis-$name.txt" rc=0
  # `timeout` only guards against a hang; --max-time ends pass 1 normally.
  (cd "$dir" && timeout $((secs + 120)) schemathesis run "$base/api/v1/openapi.json" --url "$base" \
    --checks "$checks" --max-examples 30 --request-timeout 10 --no-color \
    --generation-database none ${PARLEY_API_FUZZ_SEED:+--seed "$PARLEY_API_FUZZ_SEED"} "$@") \
    >"$out" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    cat "$out" >&2
    die "schemathesis ($name) failed; reproduce with the seed above and PARLEY_API_FUZZ_SEED"
  fi
  echo "schemathesis $name:"
  sed -n '/=== SUMMARY ===/,$p' "$out" | grep -v '^$' | grep -v '=== SUMMARY ==='
}

started=$SECONDS
pass all-but-session-ends --max-time "$secs" -H "Authorization: Bearer $token1" \
  "${ending[@]/#/--exclude-path=}"
pass session-ends -H "Authorization: Bearer $token2" "${ending[@]/#/--include-path=}"
echo "API conformance: $((SECONDS - started)) s"
