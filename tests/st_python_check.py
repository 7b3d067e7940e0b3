#!/usr/bin/env python3
"""Open a safetensors file written by cgan-cl with the Python safetensors package and
compare it with what the writer was given (expect.json: per tensor dtype, shape and the
raw bytes in hex; the user metadata). Exit 0 when everything matches, 77 when
safetensors or numpy is missing, 1 otherwise. Run by check_io; not a build dependency.

usage: st_python_check.py FILE.safetensors EXPECT.json
"""
import json
import sys
import zlib

try:
    import numpy as np
    from safetensors import safe_open
    from safetensors.numpy import load_file
except ImportError as e:  # optional: the C test skips this check
    print(f"SKIP: {e}")
    sys.exit(77)


def main():
    path, expect_path = sys.argv[1], sys.argv[2]
    with open(expect_path, encoding="utf-8") as f:
        expect = json.load(f)
    tensors = load_file(path)
    want = expect["tensors"]
    if sorted(tensors) != sorted(want):
        print(f"tensor names differ: {sorted(tensors)} vs {sorted(want)}")
        return 1
    np_dtype = {"F32": np.float32, "U8": np.uint8, "I64": np.int64}
    for name, w in want.items():
        t = tensors[name]
        if t.dtype != np_dtype[w["dtype"]] or list(t.shape) != w["shape"]:
            print(f"{name}: got {t.dtype} {list(t.shape)}, want {w['dtype']} {w['shape']}")
            return 1
        raw = np.ascontiguousarray(t).astype(t.dtype.newbyteorder("<")).tobytes()
        if raw.hex() != w["hex"]:
            print(f"{name}: bytes differ")
            return 1
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
    for key, value in expect["metadata"].items():
        if meta.get(key) != value:
            print(f"metadata {key!r}: got {meta.get(key)!r}, want {value!r}")
            return 1
    for name, t in tensors.items():  # the CRC convention: crc32.<name> = 8 hex digits
        raw = np.ascontiguousarray(t).tobytes()
        if meta.get("crc32." + name) != "%08x" % zlib.crc32(raw):
            print(f"{name}: crc32 metadata {meta.get('crc32.' + name)!r} does not match")
            return 1
    print(f"ok: {len(tensors)} tensors, {len(meta)} metadata entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
