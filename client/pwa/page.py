"""index.html and its stylesheet (a step of build.py).

The source index.html links the source stylesheet (`/client/style.css`);
the built page links a copy named by its content, minified for release,
with Subresource Integrity, and loads the app: its loader is a file of its
own (a strict CSP forbids inline script), preloaded with the glue, the
split loader and the main module, so nothing waits on another round trip.
"""
import base64
import hashlib
import os
import re

from steps import BuildError, output

SOURCE_CSS = '<link rel="stylesheet" href="/client/style.css">'


def sri(data):
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def file_sri(out, name):
    with open(os.path.join(out, name), "rb") as f:
        return sri(f.read())


def stylesheet(source, out, release):
    """Writes `style-<hash>.css`; returns its `<link>`."""
    path = os.path.join(source, "client", "style.css")
    if release:
        css = output(["lightningcss", "--minify", path])
    else:
        with open(path, "rb") as f:
            css = f.read()
    name = f"style-{hashlib.sha256(css).hexdigest()[:16]}.css"
    with open(os.path.join(out, name), "wb") as f:
        f.write(css)
    return f'<link rel="stylesheet" href="/{name}" integrity="{sri(css)}" crossorigin="anonymous">'


def minify(html):
    """Comments and the white space between tags go (the page's own text
    has none that matters: no <pre>, no inline elements side by side)."""
    html = re.sub(r"<!--.*?-->", "", html, flags=re.S)
    return re.sub(r">\s+<", "><", html).strip() + "\n"


def index(source, out, release, app, css_link):
    """Writes index.html for the app `app` (build_app.build's names)."""
    with open(os.path.join(source, "index.html"), encoding="utf-8") as f:
        html = f.read()
    if SOURCE_CSS not in html or "</head>" not in html:
        raise BuildError(f"index.html must hold {SOURCE_CSS} and </head>")
    # support.js has told a browser that cannot run the app why; then the
    # app is not started (the preloads below are then wasted, and harmless).
    boot = ('if (!window.parleyUnsupported) {\n'
            f'  const {{ default: init }} = await import("/{app["glue"]}");\n'
            f'  await init({{ module_or_path: "/{app["main"]}" }});\n'
            '}\n').encode()
    boot_name = f"boot-{hashlib.sha256(boot).hexdigest()[:16]}.js"
    with open(os.path.join(out, boot_name), "wb") as f:
        f.write(boot)
    loader = (
        f'<script type="module" src="/{boot_name}" integrity="{sri(boot)}" crossorigin="anonymous"></script>'
        f'<link rel="modulepreload" href="/{app["glue"]}" integrity="{file_sri(out, app["glue"])}" crossorigin="anonymous">'
        f'<link rel="modulepreload" href="/{app["link"]}" integrity="{file_sri(out, app["link"])}" crossorigin="anonymous">'
        f'<link rel="preload" as="fetch" type="application/wasm" href="/{app["main"]}" '
        f'integrity="{file_sri(out, app["main"])}" crossorigin="anonymous">'
    )
    html = html.replace(SOURCE_CSS, css_link, 1)
    # The link `trunk serve` needs (index.html says why); nothing else of trunk's.
    html = re.sub(r"<link\b[^>]*\bdata-trunk-skip\b[^>]*>\n?", "", html)
    if "data-trunk" in html:
        raise BuildError("index.html has a data-trunk asset; build.py builds them all (ADR 0035)")
    end = html.rindex("</head>")
    html = html[:end] + loader + html[end:]
    if re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html):
        raise BuildError("an inline script in index.html (the CSP forbids it)")
    if release:
        html = minify(html)
    with open(os.path.join(out, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)
