"""The built PWA as the service worker caches it and the relay serves it
(the last step of build.py).

1. sw.js gets a build id (hash of every shipped file) and the list of files
   to precache, so each build has its own cache and updates cleanly.
2. Each compressible file gets a brotli (`.br`, Debian's `brotli`, quality
   11) and a gzip (`.gz`, level 9) copy next to it when smaller; the relay
   serves the one a browser accepts (relay/src/http/precompressed.rs).
"""
import gzip
import hashlib
import json
import os
import subprocess

from steps import BuildError

COMPRESSIBLE = (".html", ".js", ".wasm", ".bin", ".css", ".webmanifest", ".svg", ".json", ".ftl")


def version_worker(out):
    """Writes the build id and shell into sw.js; returns the shipped files."""
    files = []
    for root, _, names in os.walk(out):
        for n in names:
            rel = os.path.relpath(os.path.join(root, n), out).replace(os.sep, "/")
            if rel != "sw.js":
                files.append(rel)
    files.sort()
    digest = hashlib.sha256()
    for rel in files:
        digest.update(rel.encode() + b"\0")
        with open(os.path.join(out, rel), "rb") as fh:
            digest.update(fh.read())
    build_id = digest.hexdigest()[:16]
    shell = ["/"] + ["/" + rel for rel in files]
    sw_path = os.path.join(out, "sw.js")
    with open(sw_path, encoding="utf-8") as f:
        sw = f.read()
    if "__PARLEY_BUILD_ID__" not in sw or "/*__PARLEY_SHELL__*/" not in sw:
        raise BuildError("sw.js placeholders missing")
    sw = sw.replace("__PARLEY_BUILD_ID__", build_id)
    sw = sw.replace("/*__PARLEY_SHELL__*/", ", ".join(json.dumps(p) for p in shell))
    with open(sw_path, "w", encoding="utf-8") as f:
        f.write(sw)
    print(f"build: shell {build_id} ({len(shell)} files)", flush=True)
    return files + ["sw.js"]


def precompress(out, files):
    """Precompressed copies (not in the shell list: the browser asks for
    the plain name and gets whichever encoding it accepts)."""
    compressed = 0
    for rel in files:
        if not rel.endswith(COMPRESSIBLE):
            continue
        src = os.path.join(out, rel)
        with open(src, "rb") as fh:
            data = fh.read()
        with open(src + ".gz", "wb") as f:
            # mtime 0: the same input gives the same bytes.
            f.write(gzip.compress(data, compresslevel=9, mtime=0))
        # -n: the copy gets its own (later) time, not its source's rounded to
        # the second, which the relay would take for a stale copy.
        subprocess.run(["brotli", "-q", "11", "-n", "-f", "-o", src + ".br", src], check=True)
        for ext in (".gz", ".br"):
            if os.path.getsize(src + ext) >= len(data):
                os.remove(src + ext)
        compressed += 1
    print(f"build: {compressed} file(s) precompressed (.br, .gz)", flush=True)
