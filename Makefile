# The two commands of the README. Logic lives in scripts/.
.PHONY: run test bench demo tools relay web clean

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

relay: ## run a debug relay (serves dist/; `trunk serve` proxies to it)
	cargo run -p parley-relay

web: tools ## build the PWA into dist/ (client/pwa/build.py, with the settings of scripts/lib.sh)
	@bash -c 'source scripts/lib.sh && python3 client/pwa/build.py --release'

clean:
	cargo clean
	rm -rf dist
