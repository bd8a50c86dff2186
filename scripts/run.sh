#!/usr/bin/env bash
# `make run`: install what is missing, build the PWA and the relay, and serve
# both on the embedded defaults (SQLite + local blob dir under ./data).
#
# On a fresh machine most of the time is compiling, in streams that keep
# both cores busy: the relay (in its own target directory, so cargo's lock
# on a build directory never makes one stream wait for another), the PWA's
# app and its file worker (the app in `target/app`), and the build tools'
# installs (wasm-bindgen-cli, wasm-split-cli, and binaryen, terser and
# lightningcss from npm). Each has long single-threaded stretches (linking,
# the app's whole-program LTO) that the others fill. The PWA's build
# (client/pwa/build.py, ADR 0035) then finds both modules built and only
# splits them (ADR 0031), runs wasm-bindgen and wasm-opt and writes the
# page, its stylesheet and the precompressed copies.
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

# The PWA's two wasm modules, compiled by the build's own cargo commands
# (so the build finds them built), each in its own target directory (app:
# `target/app`, client/pwa/build_app.py), beside the tool installs: the
# app's whole-program link is a long single-threaded stretch the others fill.
log "building the PWA's wasm modules beside them (lines start with [app] and [worker])"
(
  set -o pipefail
  python3 client/pwa/build.py --release --cargo app 2>&1 | sed -u 's/^/[app] /'
) &
app=$!
(
  set -o pipefail
  python3 client/pwa/build.py --release --cargo worker 2>&1 | sed -u 's/^/[worker] /'
) &
worker=$!
stop_builds() { kill_tree "$relay"; kill_tree "$app"; kill_tree "$worker"; }
trap stop_builds EXIT

log "installing the build tools"
"$ROOT/scripts/tools.sh" web
for b in app worker; do
  ok=0
  wait "${!b}" || ok=$?
  [ "$ok" -eq 0 ] || die "building the PWA's $b failed (see the [$b] lines above)"
done
# Both reaped by the wait: the trap must not signal their (possibly reused) pids.
trap 'kill_tree "$relay"' EXIT
log "building the PWA (client/pwa/build.py, release)"
python3 client/pwa/build.py --release

log "waiting for the relay"
relay_ok=0
wait "$relay" || relay_ok=$?
# Reaped by the wait: the trap must not signal its (possibly reused) pid.
trap - EXIT
[ "$relay_ok" -eq 0 ] || die "building the relay failed (see the [relay] lines above)"

export PARLEY_STATIC_DIR="${PARLEY_STATIC_DIR:-$ROOT/dist}"
log "ready after $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s; starting the relay (Ctrl-C to stop)"
exec "$relay_dir/serve/parley-relay" serve
