#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares two safetensors model files: the same tensors (names, dtypes,
shapes and bytes, bit for bit) and the same metadata, except for keys that
name when and how a run was started (trained_at, trained_with by default).

    python3 tests/compare_models.py A.safetensors B.safetensors [--ignore KEY ...]

Exit status 0 when they match, 1 (with the differences on stderr) when not.
Standard library only: the format is an 8-byte little-endian header length,
a JSON header, then the tensor bytes.
"""
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        blob = f.read()
    (hlen,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + hlen])
    data = blob[8 + hlen:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = (t["dtype"], tuple(t["shape"]), data[begin:end])
    return tensors, meta


def main(argv):
    ignore = {"trained_at", "trained_with"}
    paths = []
    args = iter(argv)
    for a in args:
        if a == "--ignore":
            ignore.add(next(args))
        else:
            paths.append(a)
    if len(paths) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    (ta, ma), (tb, mb) = read(paths[0]), read(paths[1])
    problems = []
    if sorted(ta) != sorted(tb):
        problems.append(f"tensor names differ: {sorted(ta)} vs {sorted(tb)}")
    for name in sorted(set(ta) & set(tb)):
        (da, sa, xa), (db, sb, xb) = ta[name], tb[name]
        if (da, sa) != (db, sb):
            problems.append(f"{name}: {da}{list(sa)} vs {db}{list(sb)}")
        elif xa != xb:
            diff = sum(1 for i in range(0, len(xa), 4) if xa[i:i + 4] != xb[i:i + 4])
            problems.append(f"{name}: {diff} of {len(xa) // 4} values differ")
    for key in sorted((set(ma) | set(mb)) - ignore):
        if ma.get(key) != mb.get(key):
            problems.append(f"metadata {key}: {ma.get(key)!r} vs {mb.get(key)!r}")
    for p in problems:
        print(f"compare_models: {p}", file=sys.stderr)
    if not problems:
        print(f"compare_models: {len(ta)} tensors and {len(set(ma) - ignore)} metadata "
              f"entries identical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
