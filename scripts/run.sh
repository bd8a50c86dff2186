#!/usr/bin/env bash
# `make run`: install what is missing, build the PWA and the relay, and serve
# both on the embedded defaults (SQLite + local blob dir under ./data).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/tools.sh" web
log "building the relay (release)"
cargo build --release --locked -p parley-relay
log "building the PWA (trunk, release)"
trunk build --release
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export PARLEY_STATIC_DIR="${PARLEY_STATIC_DIR:-$ROOT/dist}"
log "starting the relay (Ctrl-C to stop)"
exec "$target_dir/release/parley-relay" serve
