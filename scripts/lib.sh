# Shared helpers for Parley's scripts. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Tools live outside the clone so a second run (and CI on the same machine) reuses them.
PARLEY_TOOLS="${PARLEY_TOOLS:-$HOME/.cache/parley/tools}"
export PATH="$HOME/.cargo/bin:$PARLEY_TOOLS/venv/bin:$PARLEY_TOOLS/node_modules/.bin:$PARLEY_TOOLS/wasm-split/bin:$PATH"
# Leptos components return one erased view type instead of a distinct nested
# type each: far fewer monomorphised copies of the renderer in the PWA's wasm
# (-8.8 % brotli, docs/benchmarks.md). WASM SIMD (ADR 0029): SHA-256's
# message schedule in 128-bit lanes (the file worker 54 -> 63 MB/s, docs/benchmarks.md).
# wasm32 only, so host builds keep their cache. Every build of the PWA goes
# through here (`make web` too).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:---cfg erase_components -C target-feature=+simd128}"

# Stops a process and everything it started (children first, so none is
# left orphaned: a killed `tools.sh` would otherwise leave its `cargo install`).
kill_tree() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$child"; done
  kill "$1" 2>/dev/null || true
}

log() { printf '\033[1;36m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# A TCP port that is free right now on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# N free ports below the kernel's ephemeral range (so no outgoing
# connection takes one between this check and the server's bind), each with
# port + 10000 free too (SeaweedFS puts each server's gRPC there), no two
# of them or their gRPC ports the same. Usage: free_grpc_ports N.
free_grpc_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
lo = 10000
hi = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0]) - 10001
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
taken, out = set(), []
for _ in range(10000):
    if len(out) == int(sys.argv[1]):
        break
    p = random.randint(lo, hi)
    if {p, p + 10000} & taken or not (free(p) and free(p + 10000)):
        continue
    taken |= {p, p + 10000}
    out.append(p)
else:
    raise SystemExit("no free port pairs below the ephemeral range")
print(*out)
PY
}

# Waits until host:port accepts TCP connections (or fails after $3 seconds).
wait_port() {
  local host=$1 port=$2 secs=${3:-30} i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# wasm-bindgen version pinned in Cargo.lock (the CLI must match it exactly).
lock_version() {
  awk -v want="$1" '$1=="name" && $3=="\""want"\"" {getline; gsub(/"/,"",$3); print $3; exit}' "$ROOT/Cargo.lock"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}
