#!/usr/bin/env bash
# `make run`: install what is missing, build the PWA and the relay, and serve
# both on the embedded defaults (SQLite + local blob dir under ./data).
#
# On a fresh machine most of the time is compiling. The build tools (trunk,
# wasm-bindgen-cli) install in one stream while the relay and the PWA's two
# wasm modules compile in another: each stream has long single-threaded
# stretches (linking, the PWA's whole-program LTO), so on 2 cores the two
# overlap well. `trunk build` (and its hook client/pwa/build_app.py, which
# builds the app with the same cargo command) then finds both modules built
# and only splits them (ADR 0031), runs wasm-bindgen, wasm-opt and the asset
# pipeline.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$SECONDS
"$ROOT/scripts/tools.sh" target

log "installing the build tools beside the builds (tool lines start with [tools])"
(
  set -o pipefail
  "$ROOT/scripts/tools.sh" web 2>&1 | sed -u 's/^/[tools] /'
) &
tools=$!
stop_tools() { kill_tree "$tools"; }
trap stop_tools EXIT

log "building the relay (profile serve: release without cross-crate LTO, Cargo.toml)"
cargo build --profile serve --locked -p parley-relay
log "building the PWA's wasm modules (the same commands trunk and its hook run, so they reuse them)"
cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  --manifest-path client/Cargo.toml --bin parley-client
cargo build --locked --target wasm32-unknown-unknown --release \
  --manifest-path client/worker/Cargo.toml --bin parley-worker
log "waiting for the build tools"
tools_ok=0
wait "$tools" || tools_ok=$?
# Reaped by the wait: the trap must not signal its (possibly reused) pid.
trap - EXIT
[ "$tools_ok" -eq 0 ] || die "installing the build tools failed (see the [tools] lines above)"

log "building the PWA (trunk, release)"
trunk build --release
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export PARLEY_STATIC_DIR="${PARLEY_STATIC_DIR:-$ROOT/dist}"
log "ready after $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; starting the relay (Ctrl-C to stop)"
exec "$target_dir/serve/parley-relay" serve
