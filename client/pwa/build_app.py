#!/usr/bin/env python3
"""The app's wasm, cut into lazily loaded modules (a step of build.py).

wasm-bindgen must not run straight after cargo: the split (ADR 0031) must
happen in between, on the linker's output with its relocations. So:

1. cargo builds client/ for wasm32 (profile `wasm-release` for a release
   build, the dev profile otherwise) in `target/app`,
   keeping the linker's relocations (client/build.rs);
2. `wasm-split-cli` moves what only a split point reaches (client/src/ui/lazy.rs)
   into its own module, and code two of them share into chunks, and writes the
   JS that fetches them;
3. wasm-bindgen makes the main module's JS glue;
4. for release, `wasm-opt -Oz` shrinks every module;
5. every file is named with one hash of all of them (they only work together),
   so the relay serves them as immutable, and references are rewritten;
6. onboarding's module and its chunks are also written as one bundle that
   the loader cuts them from (bundle.py), and for release the JS is
   minified (terser);
7. each translation (client/locales) is copied as `<tag>-<its own hash>.ftl`,
   the name client/build.rs gives the app (ADR 0033).

build.py then adds the loader and preloads to index.html (from what
`build` returns), versions the service worker and precompresses everything.
"""
import hashlib
import os
import re
import shutil

import bundle
from steps import BuildError, output, run, target_dir, tool_dir

NAME = "parley-client"


def cargo_command(source, release):
    """The cargo build of the app, and the linked module it writes.

    In a target directory of its own (`target/app`): cargo locks a build
    directory for a whole build, and `make run` builds the app and the file
    worker (in `target`) at the same time (scripts/run.sh)."""
    manifest = os.path.join(source, "client", "Cargo.toml")
    app_dir = os.path.join(target_dir(source), "app")
    profile = "wasm-release" if release else "debug"
    build = ["cargo", "build", "--locked", "--target", "wasm32-unknown-unknown",
             "--manifest-path", manifest, "--bin", NAME, "--target-dir", app_dir]
    if release:
        build += ["--profile", profile]
    linked = os.path.join(app_dir, "wasm32-unknown-unknown", profile, f"{NAME}.wasm")
    return build, linked, os.path.join(app_dir, "parley-split", profile)


def sort_shared_exports(path):
    """wasm-split-cli lists the main module's exports that the modules share
    in hash-set order, different from run to run: sorted (before anything is
    hashed), one commit builds to the same bytes and names every time."""
    with open(path, encoding="utf-8") as f:
        link = f.read()
    link, lists = re.subn(r"\{ ((?:\w+, )+) \}",
                          lambda m: "{ " + "".join(sorted(f"{n}, " for n in m.group(1).split(", ") if n)) + " }",
                          link)
    if lists != 2:
        raise BuildError(f"expected the split loader's two lists of shared exports, found {lists}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(link)


def build(source, out, release):
    """Builds the app into `out`; returns the names of its glue, main module
    and split loader (what index.html loads)."""
    command, linked, work = cargo_command(source, release)
    run(command)
    shutil.rmtree(work, ignore_errors=True)
    split_dir, bindgen_dir = os.path.join(work, "split"), os.path.join(work, "bindgen")
    # "Overlong segment": it kept a merged data segment whole in the main
    # module (client/build.rs keeps them apart): 43 KB more raw data there (ADR 0031).
    run(["wasm-split-cli", linked, split_dir, "--out-name", NAME], refuse=["Overlong segment"])
    run(["wasm-bindgen", "--target=web", f"--out-dir={bindgen_dir}", f"--out-name={NAME}",
         "--no-typescript", os.path.join(split_dir, f"{NAME}.wasm")])

    extra = sorted(set(os.listdir(bindgen_dir)) - {f"{NAME}.js", f"{NAME}_bg.wasm"})
    if extra:
        # e.g. `snippets/` for inline JS: it would have to ship and be renamed too.
        raise BuildError(f"wasm-bindgen wrote files this script does not ship: {extra}")

    link_name = "__wasm_split.js"
    sort_shared_exports(os.path.join(split_dir, link_name))
    modules = sorted(n for n in os.listdir(split_dir) if n.endswith(".wasm") and n != f"{NAME}.wasm")
    if not modules:
        raise BuildError("wasm-split-cli found no split points; client/src/ui/lazy.rs changed?")
    # What ships, by its final role: (path of the built file, its name before hashing).
    built = {
        "glue": os.path.join(bindgen_dir, f"{NAME}.js"),
        "main": os.path.join(bindgen_dir, f"{NAME}_bg.wasm"),
        "link": os.path.join(split_dir, link_name),
    }
    for m in modules:
        built[m] = os.path.join(split_dir, m)
    if release:
        # `wasm-opt -Oz` on every module, through binaryen's library in one
        # node process (wasm_opt.mjs): the npm wasm-opt starts binaryen anew
        # for each of ~75 modules.
        wasm = [p for p in built.values() if p.endswith(".wasm")]
        run(["node", os.path.join(source, "client", "pwa", "wasm_opt.mjs"),
             os.path.join(tool_dir(), "binaryen", "index.js"), "-Oz"] + wasm)

    digest = hashlib.sha256()
    for key in sorted(built):
        with open(built[key], "rb") as fh:
            digest.update(key.encode() + b"\0" + fh.read())
    h = digest.hexdigest()[:16]
    final = {
        "glue": f"{NAME}-{h}.js",
        "main": f"{NAME}-{h}_bg.wasm",
        "link": f"{NAME}-{h}-split.js",
    }
    for m in modules:
        final[m] = f"{NAME}-{h}-{m}"

    def rewrite(text, old, new):
        if old not in text:
            raise BuildError(f"expected {old!r} in generated JS; wasm-bindgen or wasm-split-cli changed")
        return text.replace(old, new)

    with open(built["glue"], encoding="utf-8") as f:
        glue = f.read()
    glue = rewrite(glue, f'from "./{link_name}"', f'from "./{final["link"]}"')
    with open(built["link"], encoding="utf-8") as f:
        link = f.read()
    link = rewrite(link, f'import {{ initSync }} from "./{NAME}.js"',
                   f'import {{ initSync, parley_function_table }} from "./{final["glue"]}"')
    # wasm-bindgen no longer exports the function table the loader reads from the
    # instance's exports; the app hands it over (client/src/ui/lazy.rs).
    link = rewrite(link, "= initSync(undefined, undefined);",
                   "= { ...initSync(undefined, undefined), "
                   "__indirect_function_table: parley_function_table() };")
    for m in modules:
        link = rewrite(link, f'"./{m}"', f'"./{final[m]}"')
    for text, what in ((link, "the split loader"), (glue, "the glue")):
        # (The wasm's own import module name stays as a key of the glue's imports.)
        if re.search(r'["\']\./(?!' + re.escape(NAME) + r"-)[^\"']+\.(?:wasm|js)[\"'](?!\s*:)", text):
            raise BuildError(f"{what} references a file this script did not rename")

    outputs = {}
    for key, path in built.items():
        if key not in ("glue", "link"):
            with open(path, "rb") as fh:
                outputs[key] = fh.read()
    # A new visitor's first screen, onboarding, as one file (bundle.py).
    try:
        link, bundles = bundle.bundle(link, ["onboarding"], {final[k]: v for k, v in outputs.items()},
                                      lambda m: f"{NAME}-{h}-bundle_{m}.bin")
    except bundle.BundleError as e:
        raise BuildError(str(e)) from e
    outputs["glue"], outputs["link"] = glue.encode(), link.encode()
    if release:
        # wasm-bindgen's glue, minified (terser renames what is inside the
        # module, not its exports or the keys the wasm imports by): 10.3 → 8.2
        # KB brotli. The split loader stays as written: it is small, and
        # scripts/first_load.py reads it.
        outputs["glue"] = output(["node", os.path.join(tool_dir(), "terser", "bin", "terser"),
                                  "--module", "--compress", "--mangle"], outputs["glue"])
    for key, data in outputs.items():
        with open(os.path.join(out, final[key]), "wb") as f:
            f.write(data)
    for name, data in bundles.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    # Each translation as its own file, named by its content as client/build.rs
    # names it for the app (ADR 0033): a visitor fetches only their language.
    locales = os.path.join(source, "client", "locales")
    for name in sorted(os.listdir(locales)):
        if name.endswith(".ftl"):
            with open(os.path.join(locales, name), "rb") as fh:
                text = fh.read()
            tag = name[:-len(".ftl")]
            # Without its comments (a `#` in the first column; blank lines stay,
            # they end messages): those are for translators.
            lines = text.decode("utf-8").split("\n")
            shipped = "\n".join(l for l in lines if not l.startswith("#")).encode("utf-8")
            with open(os.path.join(out, f"{tag}-{hashlib.sha256(text).hexdigest()[:16]}.ftl"), "wb") as f:
                f.write(shipped)

    sizes = ", ".join(f"{final[k]} {len(v):,} B" for k, v in sorted(outputs.items(), key=lambda kv: -len(kv[1]))[:4])
    print(f"build_app: {len(modules)} split module(s) and chunks; largest: {sizes}", flush=True)
    return {"glue": final["glue"], "main": final["main"], "link": final["link"]}
