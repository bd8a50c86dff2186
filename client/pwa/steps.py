"""What every step of the PWA build (build.py) shares: its error, how a
tool runs, and where the npm-installed tools are."""
import json
import os
import shutil
import subprocess


class BuildError(Exception):
    """A step failed; the message says which and why."""


def run(args, refuse=()):
    """Runs a tool, echoing its command and what it prints. A line of its
    output holding one of `refuse` fails the step (a warning that means a
    broken result)."""
    print("build:", " ".join(str(a) for a in args), flush=True)
    if refuse:
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(r.stdout, end="", flush=True)
        bad = [line for line in r.stdout.splitlines() if any(w in line for w in refuse)]
        if bad:
            raise BuildError(f"{args[0]} warned: {bad[0]}")
    else:
        r = subprocess.run(args)
    if r.returncode != 0:
        raise BuildError(f"{args[0]} failed with exit code {r.returncode}")


def output(args, stdin=b""):
    """Runs a filter (terser, lightningcss) on `stdin`; its output."""
    print("build:", " ".join(str(a) for a in args), flush=True)
    r = subprocess.run(args, input=stdin, capture_output=True)
    if r.returncode != 0:
        print(r.stderr.decode(errors="replace"), flush=True)
        raise BuildError(f"{args[0]} failed with exit code {r.returncode}")
    return r.stdout


def target_dir(source):
    """The workspace's cargo target directory (`CARGO_TARGET_DIR` or
    `target/`)."""
    meta = subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps",
                           "--manifest-path", os.path.join(source, "Cargo.toml")],
                          capture_output=True, check=True)
    return json.loads(meta.stdout)["target_directory"]


def tool_dir():
    """The node_modules that scripts/tools.sh installs binaryen, terser and
    lightningcss into, found from terser's command on the PATH."""
    terser = shutil.which("terser")
    if not terser:
        raise BuildError("terser not found (run `make tools`)")
    # node_modules/.bin/terser -> node_modules/terser/bin/terser
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(terser))))


def need(release):
    """Fails at once, before any compiling, if a tool is missing."""
    tools = ["cargo", "wasm-split-cli", "wasm-bindgen", "brotli"]
    if release:
        tools += ["node", "terser", "lightningcss"]
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        raise BuildError(f"{', '.join(missing)} not found (run `make tools`)")
    if release and not os.path.isfile(os.path.join(tool_dir(), "binaryen", "index.js")):
        raise BuildError("binaryen's library not found beside terser (run `make tools`)")
