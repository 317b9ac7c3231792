#!/usr/bin/env python3
"""sha256 of s2s checkpoints with their one wall-clock field masked.

A checkpoint (lib/s2s/core/checkpoint.hpp) stores the training time so far under the scalar
"elapsed", and the header's checksum covers it; everything else is the run's state. Two runs
that compute the same thing give the same digest here, so this is how to check bit-identical
results across builds, commits or machines:

    scripts/ckpt_digest.py runs/a/last.ckpt runs/b/last.ckpt

Prints "DIGEST  PATH" per file; exits 1 when the digests differ, 2 on a file that is not a
checkpoint.
"""
import hashlib
import struct
import sys

MAGIC = b"S2SCKPT\0"
HEADER = 8 + 4 + 8 + 8  # magic, format, payload size, checksum
# Boost's binary archive writes a map key as its length (uint64) and bytes, then the double.
ELAPSED_KEY = struct.pack("<Q", len(b"elapsed")) + b"elapsed"


def digest(path):
    data = bytearray(open(path, "rb").read())
    if len(data) < HEADER or data[:8] != MAGIC:
        sys.exit(f"{path}: not an s2s checkpoint")
    data[20:28] = bytes(8)  # checksum
    at = data.find(ELAPSED_KEY, HEADER)
    if at < 0:
        sys.exit(f"{path}: no 'elapsed' scalar (not a training checkpoint?)")
    value = at + len(ELAPSED_KEY)
    data[value:value + 8] = bytes(8)
    return hashlib.sha256(data).hexdigest()


def main(paths):
    if not paths:
        sys.exit("usage: scripts/ckpt_digest.py CHECKPOINT [CHECKPOINT ...]")
    digests = [digest(p) for p in paths]
    for d, p in zip(digests, paths):
        print(f"{d}  {p}")
    return 0 if len(set(digests)) == 1 else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        print(f"{e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
