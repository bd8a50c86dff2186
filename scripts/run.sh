#!/usr/bin/env bash
# `make run`: install what is missing, build the PWA and the relay, and serve
# both on the embedded defaults (SQLite + local blob dir under ./data).
#
# On a fresh machine most of the time is compiling, in two streams that keep
# both cores busy: the relay compiles in one (in its own target directory,
# so cargo's lock on a build directory never makes one stream wait for the
# other), while the other installs the build tools (trunk, wasm-bindgen-cli,
# wasm-split-cli), then builds the PWA's two wasm modules and runs
# `trunk build`. Each stream has long single-threaded stretches (linking,
# the PWA's whole-program LTO) that the other fills. `trunk build` (and its
# hook client/pwa/build_app.py, which builds the app with the same cargo
# command) finds both modules built and only splits them (ADR 0031), runs
# wasm-bindgen, wasm-opt and the asset pipeline.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$SECONDS
"$ROOT/scripts/tools.sh" target
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
# Nothing else builds here: host build scripts and proc macros are compiled
# per profile anyway, so a separate directory compiles nothing twice.
relay_dir="$target_dir/make-run-relay"

log "building the relay beside the PWA (profile serve: release without cross-crate LTO; relay lines start with [relay])"
(
  set -o pipefail
  cargo build --profile serve --locked -p parley-relay --target-dir "$relay_dir" 2>&1 | sed -u 's/^/[relay] /'
) &
relay=$!
stop_relay_build() { kill_tree "$relay"; }
trap stop_relay_build EXIT

log "installing the build tools"
"$ROOT/scripts/tools.sh" web
log "building the PWA's wasm modules (the same commands trunk and its hook run, so they reuse them)"
cargo build --locked --target wasm32-unknown-unknown --profile wasm-release \
  --manifest-path client/Cargo.toml --bin parley-client
cargo build --locked --target wasm32-unknown-unknown --release \
  --manifest-path client/worker/Cargo.toml --bin parley-worker
log "building the PWA (trunk, release)"
trunk build --release

log "waiting for the relay"
relay_ok=0
wait "$relay" || relay_ok=$?
# Reaped by the wait: the trap must not signal its (possibly reused) pid.
trap - EXIT
[ "$relay_ok" -eq 0 ] || die "building the relay failed (see the [relay] lines above)"

export PARLEY_STATIC_DIR="${PARLEY_STATIC_DIR:-$ROOT/dist}"
log "ready after $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; starting the relay (Ctrl-C to stop)"
exec "$relay_dir/serve/parley-relay" serve
