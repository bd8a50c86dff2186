"""The file worker (client/worker): its own small wasm module, started by
the app as a classic worker (a step of build.py).

Built for speed, not size: its one job is throughput, so a release build
optimizes it with `wasm-opt -O3`. Its files keep fixed names
(`parley-worker.js`, `parley-worker_bg.wasm`, and the loader
client/worker/parley-worker_loader.js): the app starts the loader by name,
and the service worker's build id changes whenever they do.
"""
import os
import shutil

from steps import BuildError, output, run, target_dir, tool_dir

NAME = "parley-worker"


def cargo_command(source, release):
    """The cargo build of the worker (in the workspace's target directory;
    the app has its own, build_app.py)."""
    manifest = os.path.join(source, "client", "worker", "Cargo.toml")
    command = ["cargo", "build", "--locked", "--target", "wasm32-unknown-unknown",
               "--manifest-path", manifest, "--bin", NAME]
    if release:
        command.append("--release")
    return command


def build(source, out, release):
    """Builds the worker into `out`."""
    run(cargo_command(source, release))
    target, profile = target_dir(source), "release" if release else "debug"
    linked = os.path.join(target, "wasm32-unknown-unknown", profile, f"{NAME}.wasm")
    bindgen = os.path.join(target, "parley-worker-bindgen", profile)
    shutil.rmtree(bindgen, ignore_errors=True)
    # no-modules: a classic worker loads it with importScripts.
    run(["wasm-bindgen", "--target=no-modules", f"--out-dir={bindgen}", f"--out-name={NAME}",
         "--no-typescript", linked])
    extra = sorted(set(os.listdir(bindgen)) - {f"{NAME}.js", f"{NAME}_bg.wasm"})
    if extra:
        raise BuildError(f"wasm-bindgen wrote worker files this script does not ship: {extra}")
    wasm = os.path.join(bindgen, f"{NAME}_bg.wasm")
    with open(os.path.join(bindgen, f"{NAME}.js"), "rb") as f:
        glue = f.read()
    if release:
        run(["node", os.path.join(source, "client", "pwa", "wasm_opt.mjs"),
             os.path.join(tool_dir(), "binaryen", "index.js"), "-O3", wasm])
        # A classic script: its top-level `wasm_bindgen` is what the loader
        # calls, and terser keeps top-level names unless told otherwise.
        glue = output(["node", os.path.join(tool_dir(), "terser", "bin", "terser"),
                       "--compress", "--mangle"], glue)
    shutil.copyfile(wasm, os.path.join(out, f"{NAME}_bg.wasm"))
    with open(os.path.join(out, f"{NAME}.js"), "wb") as f:
        f.write(glue)
    shutil.copyfile(os.path.join(source, "client", "worker", f"{NAME}_loader.js"),
                    os.path.join(out, f"{NAME}_loader.js"))
