#!/usr/bin/env bash
# `make demo`: two browsers side by side through pairing by PIN, a short chat
# and a file with a deletion timer (tests/e2e/demo.mjs), turned into
# docs/demo.gif with ffmpeg; the same run rewrites docs/screenshots in
# English and Russian.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/tools.sh" demo
log "building the relay and the PWA"
cargo build --locked -p parley-relay
python3 "$ROOT/client/pwa/build.py" --release
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
frames="$(mktemp -d)"
trap 'rm -rf "$frames"' EXIT
log "recording (headless Chromium, a real relay on SQLite)"
(cd tests/e2e && PARLEY_RELAY_BIN="$target_dir/debug/parley-relay" PARLEY_DIST="$ROOT/dist" \
  PARLEY_DEMO_DIR="$frames" PARLEY_SCREENSHOTS="$ROOT/docs/screenshots" node ./demo.mjs)
log "encoding docs/demo.gif (800 px wide, one palette for the whole clip)"
ffmpeg -loglevel error -y -f concat -safe 0 -i "$frames/frames.txt" \
  -vf "fps=5,scale=800:-1:flags=lanczos,split[a][b];[a]palettegen=max_colors=96:stats_mode=full[p];[b][p]paletteuse=dither=none" \
  -loop 0 docs/demo.gif
size=$(stat -c %s docs/demo.gif)
[ "$size" -le $((4 * 1024 * 1024)) ] || die "docs/demo.gif is $size bytes, over 4 MiB"
log "docs/demo.gif: $size bytes"
