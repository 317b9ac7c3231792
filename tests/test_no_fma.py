#!/usr/bin/env python3
"""The library must hold no fused multiply-add instruction (ctest no_fused_multiply_add).

Portable mode (README, Reproducibility) promises the same bytes on every AVX2 CPU, with or
without AVX-512. The loader picks a function's AVX-512 clone (S2S_VECTOR_CLONES) on a CPU that
has it, whatever S2S_CPU_ISA says, so every clone must round as the baseline does: no FMA, which
rounds a * b + c once instead of twice. lib/CMakeLists.txt builds with -ffp-contract=off for
that; this test reads the built library's code and names each function that has one.

usage: test_no_fma.py LIBRARY
"""
import re
import shutil
import subprocess
import sys

FMA = re.compile(r"\bv?fn?m(add|sub)(sub|add)?[0-9]*[ps][sd]\b")


def main(library):
    objdump = shutil.which("objdump")
    if objdump is None:
        sys.exit("test_no_fma: objdump not found (Debian's binutils)")
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", library], check=True,
                             capture_output=True, text=True).stdout
    function, found = "?", {}
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            function = header.group(1)
        elif FMA.search(line):
            found[function] = found.get(function, 0) + 1
    if found:
        for name, count in sorted(found.items(), key=lambda item: -item[1])[:10]:
            print(f"{count:5d} FMA instructions in {name}")
        sys.exit(f"test_no_fma: {sum(found.values())} FMA instructions in {len(found)} "
                 f"functions of {library}")
    print(f"no FMA instruction in {library}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    main(sys.argv[1])
