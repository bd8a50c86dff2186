"""A lazily loaded module and its chunks in one file (ADR 0031, amended).

`wasm-split-cli` gives each split module the code only it uses, and puts
code that several modules share in chunks: onboarding, a new visitor's
first screen, came as its module and 35 chunks, most under 1 KB. Compressed
one by one they were 35 KB; the same bytes in one file compress to 22 KB,
as brotli then sees them in one context and compresses repeated headers
and import names once.

`bundle()` writes such a file for a module (its own code and every chunk
it needs, one after another) and teaches the split loader to use it: the
module's load asks for the bundle first, and each of its files is then cut
from it, in the loader, rather than fetched alone. A chunk that another
module asks for before that bundle was asked for is still fetched alone,
so a returning visitor opening Settings does not download onboarding's
bundle. A failed fetch of the bundle fails that load (the screen offers
its retry, which fetches it again), as a failed fetch of one file did.
"""
import json
import re

FETCH = re.compile(r'fetch\(new URL\("\./([^"]+)", import\.meta\.url\)\)')

# Appended to the loader after its import; `BUNDLES` is filled in per build.
HELPERS = """
// Bundles (client/pwa/bundle.py): a split module and its chunks in one file.
// Once a module's bundle is asked for, its files are cut from it.
const BUNDLES = %s;
const bundleFetches = {};
function bundledFetch(name) {
    for (const [module, bundle] of Object.entries(BUNDLES)) {
        const part = bundle.parts[name];
        const whole = bundleFetches[module];
        if (part !== undefined && whole !== undefined) {
            return whole.then((bytes) => new Response(new Uint8Array(bytes, part[0], part[1]),
                { headers: { "Content-Type": "application/wasm" } }));
        }
    }
    return fetch(new URL("./" + name, import.meta.url));
}
function withBundle(module, load) {
    return () => {
        if (bundleFetches[module] === undefined) {
            const file = BUNDLES[module].file;
            const whole = fetch(new URL("./" + file, import.meta.url)).then((r) => {
                if (!r.ok) throw new Error(`${file}: HTTP ${r.status}`);
                return r.arrayBuffer();
            });
            // Like makeLoad: a failure is not kept, the next load fetches again.
            whole.catch(() => {
                if (bundleFetches[module] === whole) delete bundleFetches[module];
            });
            bundleFetches[module] = whole;
        }
        return load();
    };
}
"""


class BundleError(Exception):
    pass


def module_files(link):
    """{module: [file names it loads, its own first]} from the split loader."""
    chunks = dict(re.findall(
        r'const (__chunk_\d+) = makeLoad\(\(\) => \{\s*const src = (?:bundledFetch\("|fetch\(new URL\("\./)([^"]+)"', link))
    out = {}
    for m in re.finditer(
            r'export const __wasm_split_load_(\w+) = wrapAsyncCb\(makeLoad\((.*?)\n\s*,\s*\[([^\]]*)\]\)\)',
            link, re.S):
        name, fetcher, deps = m.groups()
        own = re.findall(r'(?:bundledFetch\("|new URL\("\./)([^"]+)"', fetcher)
        out[name] = own + [chunks[d.strip()] for d in deps.split(",") if d.strip() in chunks]
    return out


def bundle(link, modules, files, name_of):
    """The loader using bundles for `modules`, and {bundle file name: bytes}.

    `link` is the split loader with final file names, `files` the bytes of
    each final file, `name_of(module)` a bundle's file name.
    """
    needs = module_files(link)
    fetches = len(FETCH.findall(link))
    if fetches != sum(1 for f in files if f.endswith(".wasm")) - 1:
        raise BundleError(f"the split loader fetches {fetches} files; wasm-split-cli changed?")
    written, table = {}, {}
    for module in modules:
        if module not in needs:
            raise BundleError(f"no split module {module!r} in the loader")
        parts, data = {}, bytearray()
        for f in needs[module]:
            parts[f] = [len(data), len(files[f])]
            data += files[f]
        name = name_of(module)
        written[name] = bytes(data)
        table[module] = {"file": name, "parts": parts}
        export = f"export const __wasm_split_load_{module} = wrapAsyncCb(makeLoad("
        at = link.find(export)
        end = link.find("]))", at)
        if at < 0 or end < 0:
            raise BundleError(f"the loader's export for {module!r} changed shape")
        link = (link[:at] + f"export const __wasm_split_load_{module} = wrapAsyncCb(withBundle({json.dumps(module)}, makeLoad("
                + link[at + len(export):end] + "])))" + link[end + 3:])
    link = FETCH.sub(lambda m: f'bundledFetch("{m.group(1)}")', link)
    first_line_end = link.index("\n") + 1
    link = link[:first_line_end] + HELPERS % json.dumps(table) + link[first_line_end:]
    return link, written
