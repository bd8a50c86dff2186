#!/usr/bin/env bash
# `make test`: install and start every real service the tests need, run every
# check, and stop what was started (also on failure or Ctrl-C).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/tools.sh" test

RUN="$(mktemp -d "${TMPDIR:-/tmp}/parley-test.XXXXXX")"
cleanup() {
  local rc=$?
  "$ROOT/scripts/services.sh" stop "$RUN" || true
  if [ "$rc" = 0 ] && [ -z "${PARLEY_KEEP_RUN:-}" ]; then rm -rf "$RUN"; else echo "test run files kept in $RUN" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting throwaway PostgreSQL, SeaweedFS, coturn, SMTP (aiosmtpd) and Redis"
"$ROOT/scripts/services.sh" start "$RUN"
set -a; source "$RUN/services.env"; set +a
# Tests that need a service fail instead of skipping when it is missing.
export PARLEY_REQUIRE_SERVICES=1

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The relay as `make run` and deployments build it: without the shared
# crate's client engine (a workspace-wide build always has it).
cargo clippy --locked -p parley-relay -- -D warnings

log "secret scan (detect-secrets)"
# Against a scratch copy of the baseline: the hook rewrites it (exit 3) when
# audited findings merely moved to other lines; exit 1 means a new finding.
cp .secrets.baseline "$RUN/secrets.baseline"
mapfile -d '' tracked < <(git ls-files -z ':!:.secrets.baseline')
rc=0
detect-secrets-hook --baseline "$RUN/secrets.baseline" "${tracked[@]}" || rc=$?
case "$rc" in
  0) echo "secret scan: ${#tracked[@]} files, no new findings" ;;
  3) echo "secret scan: ${#tracked[@]} files, no new findings (audited ones moved; refresh .secrets.baseline)" ;;
  *) die "secret scan found something new (audit it, or mark a false positive with 'pragma: allowlist secret')" ;;
esac

log "whitespace hygiene (trailing spaces, final newline)"
python3 "$ROOT/scripts/hygiene.py"

log "docker-compose.yml against the Compose specification"
check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

log "cargo test"
cargo test --locked -p parley-shared -p parley-relay -p parley-loadgen
# The client natively: its translations (client/locales) against each other and the code.
cargo test --locked -p parley-client

log "API conformance: schemathesis against a debug relay (${PARLEY_API_FUZZ_SECONDS:-60}s)"
"$ROOT/scripts/api-conformance.sh" "$RUN"

log "shared/ on wasm32 in headless Chromium (wasm-bindgen-test)"
(cd shared && CHROMEDRIVER=/usr/bin/chromedriver \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --locked --target wasm32-unknown-unknown --test wasm)

log "fuzz smoke: every decoder for ${PARLEY_FUZZ_SECONDS:-5}s (cargo fuzz, no sanitizer, stable toolchain)"
fuzz_target_dir="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz"
for t in bundle envelope pairing stream backup content images account room; do
  # RUSTC_BOOTSTRAP: cargo-fuzz passes one unstable flag even without a sanitizer (ADR 0005).
  if (cd shared/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none --target-dir "$fuzz_target_dir" "$t" -- \
      -max_total_time="${PARLEY_FUZZ_SECONDS:-5}" -rss_limit_mb=2048) >"$RUN/fuzz-$t.log" 2>&1; then
    echo "fuzz $t: $(grep -E '^Done [0-9]+ runs' "$RUN/fuzz-$t.log")"
  else
    tail -n 60 "$RUN/fuzz-$t.log" >&2
    die "fuzz target $t failed (crash input saved under shared/fuzz/artifacts/$t)"
  fi
done

log "PWA build (client/pwa/build.py, release)"
python3 "$ROOT/client/pwa/build.py" --release

log "browser tests (playwright-core + Debian chromium)"
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export PARLEY_RELAY_BIN="$target_dir/debug/parley-relay" PARLEY_DIST="$ROOT/dist" PARLEY_TEST_TMP="$RUN"
# Screenshots for docs/ when asked (a path relative to the repository).
[ -n "${PARLEY_SCREENSHOTS:-}" ] && export PARLEY_SCREENSHOTS="$(realpath -m "$PARLEY_SCREENSHOTS")"
(cd tests/e2e && node --test --test-reporter=spec --test-concurrency=1 ./*.test.mjs)

log "all checks passed"
