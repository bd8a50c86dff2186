#!/usr/bin/env python3
"""Where the PWA's wasm bytes go.

Usage: scripts/wasm_crates.py FILE.wasm [TOP]
       scripts/wasm_crates.py FILE.wasm --without REGEX...

For a wasm module: the size of its code and data sections, raw and
brotli-compressed (Debian's `brotli`, quality 11), and, when the module
still has its name section (cargo's output, before wasm-bindgen and
wasm-opt: target/app/wasm32-unknown-unknown/wasm-release/parley-client.wasm),
the code bytes per crate (the first path segment of each function's
demangled name; `<crate` is a trait impl for a type of that crate).
With `--without`, for each regular expression: the bytes of the function
bodies whose (mangled) name matches it, and what they add to the brotli
size of all function bodies together (the size with them minus the size
without them): what taking that code out of the module would save.
docs/benchmarks.md records its output.
"""
import collections
import re
import subprocess
import sys


def uleb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def sections(data):
    i = 8
    while i < len(data):
        sid = data[i]
        size, i = uleb(data, i + 1)
        yield sid, data[i:i + size]
        i += size


def imported_functions(body):
    n, j = uleb(body, 0)
    count = 0
    for _ in range(n):
        for _ in range(2):  # module, field
            ln, j = uleb(body, j)
            j += ln
        kind = body[j]
        j += 1
        if kind == 0:  # function: type index
            _, j = uleb(body, j)
            count += 1
        elif kind == 1:  # table: reftype, limits
            j += 1
            flags = body[j]
            _, j = uleb(body, j + 1)
            if flags & 1:
                _, j = uleb(body, j)
        elif kind == 2:  # memory: limits
            flags = body[j]
            _, j = uleb(body, j + 1)
            if flags & 1:
                _, j = uleb(body, j)
        elif kind == 3:  # global: valtype, mutability
            j += 2
        else:  # tag
            j += 1
            _, j = uleb(body, j)
    return count


def function_names(body):
    ln, j = uleb(body, 0)
    if body[j:j + ln] != b"name":
        return None
    j += ln
    names = {}
    while j < len(body):
        sub = body[j]
        size, j = uleb(body, j + 1)
        if sub == 1:
            n, k = uleb(body, j)
            for _ in range(n):
                idx, k = uleb(body, k)
                ln, k = uleb(body, k)
                names[idx] = body[k:k + ln].decode("utf-8", "replace")
                k += ln
        j += size
    return names


def crate_of(name):
    m = re.match(r"_ZN(\d+)", name)
    if not m:
        return "(other)"
    seg = name[m.end():m.end() + int(m.group(1))]
    if seg.startswith("_$LT$"):
        inner = re.match(r"_\$LT\$(?:\$RF\$)?(?:mut\$u20\$)?([a-z][a-z0-9_]*)\.\.", seg)
        return "<" + inner.group(1) if inner else "(generic impls)"
    return seg


def brotli_size(b):
    return len(subprocess.run(["brotli", "-q", "11", "-c"], input=b, capture_output=True, check=True).stdout)


def without(data, patterns):
    imports, bodies, names = 0, [], {}
    for sid, body in sections(data):
        if sid == 2:
            imports = imported_functions(body)
        elif sid == 10:
            n, j = uleb(body, 0)
            for _ in range(n):
                size, j = uleb(body, j)
                bodies.append(body[j:j + size])
                j += size
        elif sid == 0:
            names = function_names(body) or names
    if not names:
        sys.exit("no name section: use cargo's output, before wasm-bindgen and wasm-opt")
    every = b"".join(bodies)
    total = brotli_size(every)
    print(f"all function bodies {len(every):>10,} raw  {total:>9,} brotli")
    for pattern in patterns:
        rx = re.compile(pattern)
        kept = b"".join(b for k, b in enumerate(bodies) if not rx.search(names.get(imports + k, "")))
        print(f"  {pattern:<40} {len(every) - len(kept):>9,} raw  adds {total - brotli_size(kept):>8,} brotli")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = open(sys.argv[1], "rb").read()
    if len(sys.argv) > 2 and sys.argv[2] == "--without":
        return without(data, sys.argv[3:])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    imports, bodies, names = 0, [], None
    for sid, body in sections(data):
        if sid == 2:
            imports = imported_functions(body)
        elif sid == 10:
            print(f"code section  {len(body):>10,} raw  {brotli_size(body):>9,} brotli")
            n, j = uleb(body, 0)
            for _ in range(n):
                size, j = uleb(body, j)
                bodies.append(size)
                j += size
        elif sid == 11:
            print(f"data section  {len(body):>10,} raw  {brotli_size(body):>9,} brotli")
        elif sid == 0:
            names = function_names(body) or names
    if not names:
        return
    by = collections.Counter()
    for k, size in enumerate(bodies):
        by[crate_of(names.get(imports + k, ""))] += size
    total = sum(bodies)
    print(f"code per crate (function bodies, {total:,} bytes before wasm-opt):")
    for crate, size in by.most_common(top):
        print(f"  {crate:<24} {size:>9,}  {100 * size / total:4.1f} %")


if __name__ == "__main__":
    main()
