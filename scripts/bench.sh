#!/usr/bin/env bash
# `make bench`: the crypto core's benchmarks, native (criterion) and in headless
# Chromium (release wasm). Results go to docs/benchmarks.md by hand, with the
# date and machine; nothing here asserts on time.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/tools.sh" web
log "native: cargo bench -p parley-shared --bench crypto"
cargo bench --locked -p parley-shared --bench crypto 2>&1 | grep -E "^[a-z].*|time:|thrpt:"
log "native: cargo bench -p parley-shared --bench group (a 200-member room)"
cargo bench --locked -p parley-shared --bench group 2>&1 | grep -E "^[a-z].*|time:|WIRE"
log "browser: release wasm in headless Chromium"
(cd shared && CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --locked --release --target wasm32-unknown-unknown --test wasm_bench -- --nocapture 2>&1) | grep -E "BENCH|test result"
# The relay only serves the app here, so its debug build (shared with `make test`) will do.
log "browser: the app's file worker encrypting a 256 MiB file (release PWA)"
"$ROOT/scripts/tools.sh" test >/dev/null
python3 "$ROOT/client/pwa/build.py" --release
cargo build --locked -p parley-relay --bin parley-relay
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
PARLEY_RELAY_BIN="$target_dir/debug/parley-relay" PARLEY_DIST="$ROOT/dist" node tests/e2e/bench-files.mjs
log "browser: STREAM next to libsodium.js in one page (file worker, then the ciphers alone)"
cargo build --locked --release --target wasm32-unknown-unknown -p parley-stream-bench
stream_bench="$(mktemp -d)"
trap 'rm -rf "$stream_bench"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$stream_bench" \
  "$target_dir/wasm32-unknown-unknown/release/parley_stream_bench.wasm"
# The worker's settings (index.html: data-wasm-opt="3").
wasm-opt -O3 "$stream_bench/parley_stream_bench_bg.wasm" -o "$stream_bench/parley_stream_bench_bg.wasm"
PARLEY_RELAY_BIN="$target_dir/debug/parley-relay" PARLEY_DIST="$ROOT/dist" PARLEY_STREAM_BENCH="$stream_bench" \
  node tests/e2e/bench-stream.mjs | grep -v "^BENCH round"
