#!/usr/bin/env python3
"""trunk post_build hook: make the built PWA CSP-clean and version its worker.

0. The app's loader and preloads go into index.html, for the files
   build_app.py built (named in `.parley-app.json`, which does not ship).
1. trunk inlines loaders as <script type="module">…</script>
   (trunk-rs/trunk#288), and so does step 0. A strict CSP forbids inline
   script, so each inline script moves to its own file, referenced with
   Subresource Integrity.
   trunk's build-time nonce attributes (useless with a static page) are dropped.
2. sw.js gets a build id (hash of every shipped file) and the list of files
   to precache, so each build has its own cache and updates cleanly.
3. Each compressible file gets a brotli (`.br`, Debian's `brotli`, quality
   11) and a gzip (`.gz`, level 9) copy next to it when smaller; the relay
   serves the one a browser accepts (relay/src/http/precompressed.rs).
Fails the build if an expected piece is missing, so a regression cannot ship.
"""
import base64
import hashlib
import json
import os
import gzip
import re
import shutil
import subprocess
import sys

staging = os.environ.get("TRUNK_STAGING_DIR")
if not staging:
    sys.exit("postbuild.py: TRUNK_STAGING_DIR not set (run through trunk)")

index_path = os.path.join(staging, "index.html")
with open(index_path, encoding="utf-8") as f:
    html = f.read()

app_path = os.path.join(staging, ".parley-app.json")
if not os.path.exists(app_path):
    sys.exit("postbuild.py: .parley-app.json missing (build_app.py did not run)")
with open(app_path, encoding="utf-8") as f:
    app = json.load(f)
os.remove(app_path)


def sri(name):
    with open(os.path.join(staging, name), "rb") as fh:
        return "sha384-" + base64.b64encode(hashlib.sha384(fh.read()).digest()).decode()


# The glue imports the split loader statically: both are preloaded with the
# main wasm, so nothing waits on another round trip.
loader = (
    f'<script type="module">import init from "/{app["glue"]}";\n'
    f'await init({{ module_or_path: "/{app["main"]}" }});</script>'
    f'<link rel="modulepreload" href="/{app["glue"]}" integrity="{sri(app["glue"])}" crossorigin="anonymous">'
    f'<link rel="modulepreload" href="/{app["link"]}" integrity="{sri(app["link"])}" crossorigin="anonymous">'
    f'<link rel="preload" as="fetch" type="application/wasm" href="/{app["main"]}" '
    f'integrity="{sri(app["main"])}" crossorigin="anonymous">'
)
# trunk leaves the skipped `rel="rust"` link in; browsers need nothing of it.
html = re.sub(r"<link\b[^>]*\bdata-trunk-skip\b[^>]*>", "", html)
if "</head>" not in html:
    sys.exit("postbuild.py: index.html has no </head>")
html = html.replace("</head>", loader + "</head>", 1)

INLINE = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)
moved = 0


def externalize(m):
    global moved
    attrs, body = m.group("attrs"), m.group("body")
    if "src=" in attrs or not body.strip():
        return m.group(0)
    data = body.strip().encode() + b"\n"
    name = "boot-%s.js" % hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(staging, name), "wb") as out:
        out.write(data)
    sri = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    # The HTML minifier may have unquoted the attribute (type=module).
    is_module = re.search(r"type\s*=\s*[\"']?module", attrs) is not None
    if not is_module and re.search(r"^\s*import\b", body, re.M):
        sys.exit("postbuild.py: an inline script uses import but is not a module")
    kind = ' type="module"' if is_module else ""
    moved += 1
    return f'<script{kind} src="/{name}" integrity="{sri}" crossorigin="anonymous"></script>'


html = INLINE.sub(externalize, html)
html = re.sub(r'\snonce="[^"]*"', "", html)
if moved == 0:
    sys.exit("postbuild.py: no inline loader script found; trunk's output changed")
if re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html):
    sys.exit("postbuild.py: an inline script remains in index.html")
with open(index_path, "w", encoding="utf-8") as f:
    f.write(html)

# Version the service worker over everything that ships.
sw_path = os.path.join(staging, "sw.js")
files = []
for root, _, names in os.walk(staging):
    for n in names:
        rel = os.path.relpath(os.path.join(root, n), staging).replace(os.sep, "/")
        if rel != "sw.js":
            files.append(rel)
files.sort()
digest = hashlib.sha256()
for rel in files:
    digest.update(rel.encode() + b"\0")
    with open(os.path.join(staging, rel), "rb") as fh:
        digest.update(fh.read())
build_id = digest.hexdigest()[:16]
shell = ["/"] + ["/" + rel for rel in files]

with open(sw_path, encoding="utf-8") as f:
    sw = f.read()
if "__PARLEY_BUILD_ID__" not in sw or "/*__PARLEY_SHELL__*/" not in sw:
    sys.exit("postbuild.py: sw.js placeholders missing")
sw = sw.replace("__PARLEY_BUILD_ID__", build_id)
sw = sw.replace("/*__PARLEY_SHELL__*/", ", ".join(json.dumps(p) for p in shell))
with open(sw_path, "w", encoding="utf-8") as f:
    f.write(sw)
print(f"postbuild: {moved} inline script(s) externalized, shell {build_id} ({len(shell)} files)")

# Precompressed copies (not in the shell list: the browser asks for the
# plain name and gets whichever encoding it accepts).
COMPRESSIBLE = (".html", ".js", ".wasm", ".bin", ".css", ".webmanifest", ".svg", ".json", ".ftl")
brotli = shutil.which("brotli")
if not brotli:
    sys.exit("postbuild.py: brotli not found (run `make tools`, or: apt-get install brotli)")
compressed = 0
for rel in files + ["sw.js"]:
    if not rel.endswith(COMPRESSIBLE):
        continue
    src = os.path.join(staging, rel)
    with open(src, "rb") as fh:
        data = fh.read()
    with open(src + ".gz", "wb") as out:
        # mtime 0: the same input gives the same bytes.
        out.write(gzip.compress(data, compresslevel=9, mtime=0))
    # -n: the copy gets its own (later) time, not its source's rounded to
    # the second, which the relay would take for a stale copy.
    subprocess.run([brotli, "-q", "11", "-n", "-f", "-o", src + ".br", src], check=True)
    for ext in (".gz", ".br"):
        if os.path.getsize(src + ext) >= len(data):
            os.remove(src + ext)
    compressed += 1
print(f"postbuild: {compressed} file(s) precompressed (.br, .gz)")
