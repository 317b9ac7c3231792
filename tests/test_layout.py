#!/usr/bin/env python3
"""The library's folders and the one direction of their includes (ctest library_layout).

README.md's "Library map" names the folders of lib/s2s from the bottom up in a sentence
    Include order: `core` ← `metrics` ← ... (...
A file of lib/s2s/F may include headers of F and of the folders before F in that order, never of
a folder after it, so the folders form no cycle. Fails, naming the file and the include, on an
include that points upward or into a folder the README does not list, and on a folder of lib/s2s
that the README does not list.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIB = ROOT / "lib" / "s2s"


def folder_order():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"Include order: (.*?)(?:\(|\n\n)", readme, re.S)
    if not m:
        sys.exit("README.md: no 'Include order: `core` ← ...' line in the library map")
    return re.findall(r"`([a-z_]+)`", m.group(1))


def main():
    order = folder_order()
    rank = {name: i for i, name in enumerate(order)}
    errors = []
    folders = sorted(p.name for p in LIB.iterdir() if p.is_dir())
    for name in folders:
        if name not in rank:
            errors.append(f"lib/s2s/{name}/: a folder the README's include order does not list")
    stray = [p.name for p in LIB.iterdir() if p.is_file() and p.suffix in (".hpp", ".cpp")]
    for name in stray:
        errors.append(f"lib/s2s/{name}: a source outside the subsystem folders")
    include = re.compile(r'^\s*#\s*include\s+"s2s/([a-z_]+)/[^"]+"', re.M)
    files = 0
    for path in sorted(LIB.rglob("*")):
        if path.suffix not in (".hpp", ".cpp", ".in") or not path.is_file():
            continue
        files += 1
        here = path.parent.name
        for m in include.finditer(path.read_text(encoding="utf-8")):
            there = m.group(1)
            rel = path.relative_to(ROOT)
            if there not in rank:
                errors.append(f"{rel}: includes s2s/{there}/, a folder the README does not list")
            elif here in rank and rank[there] > rank[here]:
                errors.append(f"{rel}: includes s2s/{there}/ (above {here} in the include order)")
    if files == 0:
        errors.append("lib/s2s: no sources found")
    for e in errors:
        print(e)
    print(f"{files} files in {len(folders)} folders; order {' <- '.join(order)}; "
          f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
