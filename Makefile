# The two commands of the README. Logic lives in scripts/.
.PHONY: run test bench demo tools relay web clean

# The PWA's wasm is built with erased Leptos components (see scripts/lib.sh).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS ?= --cfg erase_components

run: ## install what is missing, build the PWA, serve it on http://127.0.0.1:8080
	@scripts/run.sh

test: ## start throwaway services, run every check, stop them
	@scripts/test.sh

bench: ## crypto benchmarks, native and in headless Chromium (see docs/benchmarks.md)
	@scripts/bench.sh

demo: ## record docs/demo.gif and docs/screenshots (two browsers: PIN pairing, chat, a file)
	@scripts/demo.sh

tools: ## only install the build tools
	@scripts/tools.sh web

relay: ## run a debug relay for `trunk serve` development
	cargo run -p parley-relay

web: tools ## build the PWA into dist/
	trunk build --release

clean:
	cargo clean
	rm -rf dist
