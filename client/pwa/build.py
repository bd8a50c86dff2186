#!/usr/bin/env python3
"""Builds the PWA into dist/: `make run`, `make test` and `make web` run it.

    python3 client/pwa/build.py [--release] [--out DIR]
    python3 client/pwa/build.py [--release] --cargo app|worker   (compile only)
    python3 client/pwa/build.py --trunk   (trunk's post_build hook, `trunk serve`)

The steps (ADR 0035 says why this is not trunk's pipeline):
1. the app, cut into lazily loaded modules (build_app.py), and the file
   worker (worker.py), compiled side by side: the app's whole-program link
   is a long single-threaded stretch;
2. the stylesheet and index.html with the app's loader (page.py);
3. the static files (icons, manifest, service worker, support script);
4. the service worker's build id and shell list, and precompressed copies
   (shell.py).
It builds into a directory beside DIR and puts it in place only when every
step succeeded, so a failed build leaves the last good one served.
"""
import argparse
import os
import shutil
import subprocess
import sys
import threading

import build_app
import page
import shell
import worker
from steps import BuildError, need

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATIC = [("client/pwa/manifest.webmanifest", "manifest.webmanifest"),
          ("client/pwa/sw.js", "sw.js"), ("client/pwa/support.js", "support.js")]


def build(out, release):
    """Every step into `out` (an empty directory, or trunk's staging one
    with its copy of index.html, which page.py replaces)."""
    failed = []

    def build_worker():
        try:
            worker.build(SOURCE, out, release)
        except (BuildError, OSError, subprocess.CalledProcessError) as e:
            failed.append(e)

    beside = threading.Thread(target=build_worker)
    beside.start()
    try:
        app = build_app.build(SOURCE, out, release)
    finally:
        beside.join()
    if failed:
        raise BuildError(f"the file worker: {failed[0]}")
    css = page.stylesheet(SOURCE, out, release)
    page.index(SOURCE, out, release, app, css)
    for src, name in STATIC:
        shutil.copyfile(os.path.join(SOURCE, src), os.path.join(out, name))
    shutil.copytree(os.path.join(SOURCE, "client", "pwa", "icons"), os.path.join(out, "icons"))
    shell.precompress(out, shell.version_worker(out))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--release", action="store_true", help="optimized, minified (what ships)")
    p.add_argument("--out", default=os.path.join(SOURCE, "dist"), help="default: dist/")
    p.add_argument("--cargo", choices=["app", "worker"], help="only compile that module")
    p.add_argument("--trunk", action="store_true", help="as trunk's hook, into its staging directory")
    a = p.parse_args()
    try:
        if a.cargo:
            command = (build_app.cargo_command(SOURCE, a.release)[0] if a.cargo == "app"
                       else worker.cargo_command(SOURCE, a.release))
            os.execvp(command[0], command)
        if a.trunk:
            staging = os.environ.get("TRUNK_STAGING_DIR")
            if not staging:
                raise BuildError("TRUNK_STAGING_DIR not set (run through trunk)")
            release = os.environ.get("TRUNK_PROFILE") == "release"
            need(release)
            build(staging, release)
            return
        need(a.release)
        out = os.path.abspath(a.out)
        staging, old = out + ".new", out + ".old"
        for d in (staging, old):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(staging)
        build(staging, a.release)
        if os.path.exists(out):
            os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
        print(f"build: the PWA is in {out}", flush=True)
    except BuildError as e:
        sys.exit(f"build.py: {e}")


if __name__ == "__main__":
    main()
