#!/usr/bin/env python3
"""Fails on trailing whitespace or a missing final newline in tracked text files
(the same rules as the pre-commit hooks, for machines without pre-commit)."""
import subprocess
import sys

files = subprocess.run(["git", "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
bad = []
for name in filter(None, files):
    path = name.decode()
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        continue
    if b"\0" in data or not data:
        continue  # binary or empty
    if not data.endswith(b"\n"):
        bad.append(f"{path}: no newline at end of file")
    for i, line in enumerate(data.split(b"\n"), 1):
        if line.rstrip(b"\r").endswith((b" ", b"\t")):
            bad.append(f"{path}:{i}: trailing whitespace")
print("\n".join(bad) or f"{len(files) - 1} files clean")
sys.exit(1 if bad else 0)
