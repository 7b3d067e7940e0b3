#!/usr/bin/env python3
"""Write the seed corpora of the fuzz harnesses into tests/fuzz/corpus/<name>/.

Run from the source tree: python3 tests/fuzz/gen-corpus.py. Every seed is small; some are
valid, some are broken in a typical way. The checkpoint seeds keep the metadata of
tests/data/legacy-seed32-concat.safetensors with one tiny tensor."""
import gzip, json, os, struct, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(name, fname, data):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


def idx(dims, body):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body


def png(w, h, ct, depth, rows, extra=b""):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ct, 0, 0, 0))
            + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# idx: byte 0 = case (bit 0 labels file, bit 1 gzip), then the file.
imgs = idx([2, 28, 28], bytes(range(256)) * 6 + bytes(2 * 784 - 1536))
labs = idx([4], b"\x00\x01\x02\x03")
put("idx", "images-raw", b"\x00" + imgs)
put("idx", "images-gz", b"\x02" + gzip.compress(imgs, mtime=0))
put("idx", "labels-raw", b"\x01" + labs)
put("idx", "labels-gz", b"\x03" + gzip.compress(labs, mtime=0))
put("idx", "images-short", b"\x00" + imgs[:100])
put("idx", "images-4x4", b"\x00" + idx([3, 4, 4], bytes(48)))
put("idx", "images-bad-magic", b"\x00" + b"\x00\x00\x09\x03" + imgs[4:40])
put("idx", "gz-truncated", b"\x02" + gzip.compress(imgs, mtime=0)[:60])

put("classes", "three", "zero\none\ntwo\n")
put("classes", "crlf-blank", "zero\r\n\r\none\r\ntwo\r\n")
put("classes", "too-few", "only\n")
put("classes", "utf8", "\u00e9t\u00e9\n\u65e5\u672c\n\u00fcber\n")
put("classes", "empty", "")

put("captions", "valid", "cat/a.png\ta small gray square\n")
put("captions", "dot-slash-comment", "# comment\n\n./cat/a.png\ta dot slash path\r\n")
put("captions", "no-tab", "cat/a.png a caption without a tab\n")
put("captions", "duplicate", "cat/a.png\tone\ncat/a.png\ttwo\n")
put("captions", "unknown-image", "cat/b.png\tnot there\n")
put("captions", "no-word", "cat/a.png\t ,.; \n")

gray = png(2, 2, 0, 8, [b"\x00\xff", b"\x80\x40"])
put("image", "gray.png", gray)
put("image", "rgba16.png", png(1, 2, 6, 16, [bytes(8), bytes(range(8))]))
put("image", "palette.png", png(2, 1, 3, 8, [b"\x00\x01"],
                                 extra=struct.pack(">I", 6) + b"PLTE" + bytes(range(6))
                                 + struct.pack(">I", zlib.crc32(b"PLTE" + bytes(range(6))) & 0xFFFFFFFF)))
put("image", "gray-trunc.png", gray[:40])
# The JPEG seeds (gray.jpg, rgb420.jpg, rgb444-progressive.jpg) were written with
# TurboJPEG's tjCompress2 (quality 50) and are kept as they are; with Pillow, more.
try:
    from PIL import Image
    import io
    for mode, name in (("L", "gray.jpg"), ("RGB", "rgb.jpg")):
        b = io.BytesIO()
        Image.new(mode, (9, 7), 128 if mode == "L" else (200, 30, 60)).save(b, "JPEG", quality=50)
        put("image", name, b.getvalue())
    b = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 60)).save(b, "JPEG", quality=50, progressive=True)
    put("image", "progressive.jpg", b.getvalue())
except ImportError:
    pass

put("prompt", "tshirt", "a red t-shirt")
put("prompt", "alias", "some tee and trainers")
put("prompt", "boots", "Ankle Boots!")
put("prompt", "text", "a big red circle")
put("prompt", "empty", " ,.; ")
put("prompt", "utf8", "d\u00e9j\u00e0 vu \u65e5\u672c bags")

with open(os.path.join(os.path.dirname(ROOT), "..", "..", "doc", "models", "dcgan-wide64.json"), "rb") as f:
    put("model", "dcgan-wide64.json", f.read())
put("model", "minimal", json.dumps({"format": "cgan-model", "version": 1}))
put("model", "not-json", "{\"format\": ")
put("model", "empty-obj", "{}")


def st(meta, tensors):
    hdr, body = {"__metadata__": meta}, b""
    for name, (dtype, shape, data) in tensors.items():
        hdr[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(body), len(body) + len(data)]}
        body += data
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + body


src = os.path.join(os.path.dirname(ROOT), "..", "data", "legacy-seed32-concat.safetensors")
with open(src, "rb") as f:
    b = f.read()
n = struct.unpack("<Q", b[:8])[0]
meta = {k: v for k, v in json.loads(b[8:8 + n])["__metadata__"].items() if not k.startswith("crc32.")}
w = struct.pack("<4f", 1, 2, 3, 4)
meta_crc = dict(meta, **{"crc32.G.embed.weight": "%08x" % (zlib.crc32(w) & 0xFFFFFFFF)})
put("safetensors", "legacy-meta", st(meta_crc, {"G.embed.weight": ("F32", [2, 2], w)}))
put("safetensors", "bad-crc", st(dict(meta, **{"crc32.G.embed.weight": "00000000"}),
                                 {"G.embed.weight": ("F32", [2, 2], w)}))
put("safetensors", "no-meta", st({}, {"x": ("F32", [1], struct.pack("<f", 1))}))
put("safetensors", "wrong-version", st(dict(meta, format_version="99"), {}))
put("safetensors", "bad-offsets", struct.pack("<Q", 64) +
    b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,99]}}        ')
put("safetensors", "empty", b"")
