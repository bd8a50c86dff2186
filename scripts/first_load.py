#!/usr/bin/env python3
"""Bytes a browser downloads for the PWA's first load, from a running relay.

Usage: scripts/first_load.py URL [ACCEPT_ENCODING] [--lang TAG] [--with MODULE]...

Fetches `/` and what it references (script, stylesheet, module preload, the
preloaded wasm), then the JS modules those import, the way a browser first
does, with the given Accept-Encoding (default: Chromium's,
"gzip, deflate, br, zstd"), and prints each response's Content-Encoding and
body bytes as sent (nothing is decoded), and the total.

`--lang TAG` picks the translation the app fetches at start (ADR 0033;
default `en`), found in the service worker's list of the build's files.
`--with MODULE` adds a lazily loaded module (ADR 0031) and the chunks it
needs, as named in the split loader, or its one bundle where the build
wrote one: `--with onboarding` is a new visitor's first screen. Icons, the manifest and the service worker's later
precaching are not part of the first load. docs/benchmarks.md records its
output.
"""
import argparse
import json
import os
import re
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "client", "pwa"))
import bundle  # noqa: E402  (the loader's format is the build's)

CHROMIUM = "gzip, deflate, br, zstd"


def fetch(url, accept):
    req = urllib.request.Request(url, headers={"Accept-Encoding": accept})
    with urllib.request.urlopen(req) as r:
        return r.headers.get("Content-Encoding", "identity"), r.read()


def plain(base, path):
    return fetch(base + path, "identity")[1].decode("utf-8")


def split_modules(js):
    """{module: [files]} from wasm-split-cli's loader: a bundle's one file
    where the build wrote one (client/pwa/bundle.py), else the module's own
    file and its chunks."""
    files = bundle.module_files(js)
    m = re.search(r"^const BUNDLES = (\{.*\});$", js, re.M)
    for module, b in (json.loads(m.group(1)) if m else {}).items():
        files[module] = [b["file"]]
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("accept", nargs="?", default=CHROMIUM)
    ap.add_argument("--lang", default="en")
    ap.add_argument("--with", dest="modules", action="append", default=[])
    args = ap.parse_args()
    base, accept = args.url.rstrip("/"), args.accept
    enc, html = fetch(base + "/", accept)
    rows = [("/", enc, len(html))]
    # The shell as sent may be compressed; its plain text names the assets.
    text = plain(base, "/")
    assets = []
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
        m = re.search(r"\b(?:src|href)=\"?([^\" >]+)", tag)
        if m and re.search(r"\.(js|css|wasm)$", m.group(1)) and m.group(1) not in assets:
            assets.append(m.group(1))
    # Static imports of the JS modules (the app's glue imports the split loader).
    loaders = []
    i = 0
    while i < len(assets):
        path = assets[i]
        i += 1
        if not path.endswith(".js"):
            continue
        js = plain(base, path)
        if "__wasm_split_load_" in js:
            loaders.append(js)
        for spec in re.findall(r'^\s*import\b[^;]*?\bfrom\s*["\']([^"\']+)["\']', js, re.M):
            dep = urllib.parse.urljoin(path, spec)
            if dep not in assets:
                assets.append(dep)
    for name in args.modules:
        found = [m for js in loaders for n, m in split_modules(js).items() if n == name]
        if not found:
            raise SystemExit(f"first_load.py: no lazily loaded module named {name!r}")
        for f in found[0]:
            path = "/" + f
            if path not in assets:
                assets.append(path)
    ftl = re.findall(r'"(/' + re.escape(args.lang) + r'-[0-9a-f]{16}\.ftl)"', plain(base, "/sw.js"))
    if len(ftl) != 1:
        raise SystemExit(f"first_load.py: no single translation {args.lang!r} in sw.js: {ftl}")
    assets.append(ftl[0])
    for path in assets:
        enc, body = fetch(base + path, accept)
        rows.append((path, enc, len(body)))
    width = max(len(p) for p, _, _ in rows)
    for path, enc, n in rows:
        print(f"{path:<{width}}  {enc:<8}  {n:>9,}")
    total = sum(n for _, _, n in rows)
    extra = f" ({args.lang})" + "".join(f" + {m}" for m in args.modules)
    print(f"{'total' + extra + ' (Accept-Encoding: ' + accept + ')':<{width}}  {'':<8}  {total:>9,}")


if __name__ == "__main__":
    main()
