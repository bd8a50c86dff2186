#!/usr/bin/env python3
"""Bytes a browser downloads for the PWA's first load, from a running relay.

Usage: scripts/first_load.py http://127.0.0.1:8080 [ACCEPT_ENCODING]

Fetches `/` and what it references (script, stylesheet, module preload, the
preloaded wasm) the way a browser first does, with the given Accept-Encoding
(default: Chromium's, "gzip, deflate, br, zstd"), and prints each response's
Content-Encoding and body bytes as sent (nothing is decoded), and the total.
Icons, the manifest and the service worker's later precaching are not part
of the first load. docs/benchmarks.md records its output.
"""
import re
import sys
import urllib.request

CHROMIUM = "gzip, deflate, br, zstd"


def fetch(url, accept):
    req = urllib.request.Request(url, headers={"Accept-Encoding": accept})
    with urllib.request.urlopen(req) as r:
        return r.headers.get("Content-Encoding", "identity"), r.read()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    base = sys.argv[1].rstrip("/")
    accept = sys.argv[2] if len(sys.argv) > 2 else CHROMIUM
    enc, html = fetch(base + "/", accept)
    rows = [("/", enc, len(html))]
    # The shell as sent may be compressed; its plain text names the assets.
    _, plain = fetch(base + "/", "identity")
    text = plain.decode("utf-8")
    assets = []
    for tag in re.findall(r"<(?:script|link)\b[^>]*>", text):
        m = re.search(r"\b(?:src|href)=\"?([^\" >]+)", tag)
        if not m:
            continue
        path = m.group(1)
        if re.search(r"\.(js|css|wasm)$", path) and path not in assets:
            assets.append(path)
    for path in assets:
        enc, body = fetch(base + path, accept)
        rows.append((path, enc, len(body)))
    width = max(len(p) for p, _, _ in rows)
    for path, enc, n in rows:
        print(f"{path:<{width}}  {enc:<8}  {n:>9,}")
    total = sum(n for _, _, n in rows)
    print(f"{'total (Accept-Encoding: ' + accept + ')':<{width}}  {'':<8}  {total:>9,}")


if __name__ == "__main__":
    main()
