#!/usr/bin/python3
"""Make Blosc1 frames with the real c-blosc for the Go decoder's tests.

Run from this folder with Debian's Python (apt-get install -y python3-numcodecs):

    /usr/bin/python3 make_fixtures.py

Frames are written by numcodecs.blosc.compress where the data is a whole
number of elements of a numpy integer type, and otherwise by calling
blosc_compress_ctx of the same shared libblosc that numcodecs links, through
ctypes (for odd type sizes and sizes that are not a multiple of the type
size). Every frame is checked to decode with numcodecs before it is written.

The input data is not stored: gen() below is a deterministic generator that
blosc's Go tests reimplement (fixtureData in fixtures_test.go), and
manifest.json records each input's SHA-256 so that a drift in either copy is
caught.
"""

import ctypes
import ctypes.util
import hashlib
import json
import os

import numcodecs
import numcodecs.blosc as nb
import numpy as np

MASK = (1 << 64) - 1


def gen(seed, nbytes, typesize, kind):
    """Return nbytes of test data.

    A 64-bit LCG (Knuth's MMIX constants) drives everything; each draw uses
    the top 31 bits. kind "counts": elements are little-endian integers of
    typesize bytes: 0 when the draw r is odd, else a fresh draw mod 5000 when
    r%16 == 2, else a fresh draw mod 9; like the small integer counts of a
    CSR data array. kind "sparse": the same but 0 unless r%8 == 2. Bytes past
    the last whole element are draws mod 256. kind "random": every byte is a
    draw mod 256 (incompressible). kind "mixed": the first half (rounded
    down) "counts" with this seed, the rest "random" with seed+1.
    """
    state = seed & MASK

    def draw():
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        return state >> 33

    out = bytearray()
    if kind == "random":
        for _ in range(nbytes):
            out.append(draw() & 0xFF)
        return bytes(out)
    if kind == "mixed":
        half = nbytes // 2
        return gen(seed, half, typesize, "counts") + gen(seed + 1, nbytes - half, typesize, "random")
    n = nbytes // typesize
    for _ in range(n):
        r = draw()
        if r & 1 or (kind == "sparse" and r % 8 != 2):
            v = 0
        elif r % 16 == 2:
            v = draw() % 5000
        else:
            v = draw() % 9
        out += (v & ((1 << (8 * typesize)) - 1)).to_bytes(typesize, "little")
    for _ in range(nbytes - n * typesize):
        out.append(draw() & 0xFF)
    return bytes(out)


libblosc = ctypes.CDLL(ctypes.util.find_library("blosc"))
libblosc.blosc_compress_ctx.argtypes = [
    ctypes.c_int, ctypes.c_int, ctypes.c_size_t, ctypes.c_size_t,
    ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p,
    ctypes.c_size_t, ctypes.c_int,
]
libblosc.blosc_compress_ctx.restype = ctypes.c_int


def compress(data, cname, clevel, shuffle, typesize, blocksize):
    if typesize in (1, 2, 4, 8) and len(data) % typesize == 0:
        arr = np.frombuffer(data, dtype="<u%d" % typesize)
        return bytes(nb.compress(arr, cname.encode(), clevel, shuffle, blocksize)), "numcodecs"
    dest = ctypes.create_string_buffer(len(data) + 16)
    n = libblosc.blosc_compress_ctx(clevel, shuffle, typesize, len(data), data, dest,
                                    len(dest), cname.encode(), blocksize, 1)
    if n <= 0:
        raise RuntimeError("blosc_compress_ctx failed: %d" % n)
    return dest.raw[:n], "libblosc"


def cases():
    seed = 1
    # Every codec, shuffle and type size: a frame of several blocks with a
    # forced block size of 1000 and a short last block. c-blosc enlarges
    # the block size of codecs that split (all but zstd) to at least 64 KiB,
    # so those get one 4096-byte block (type size 4) or 4099 (type size 1)
    # and a short one; with type size 8 the blocks hold 125 elements, too
    # few to split and not a multiple of 8, which bit shuffle leaves as they
    # are. Then a single block of automatic size holding 504 elements (a
    # multiple of 8) and ts-1 bytes more.
    for cname in ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"):
        for shuffle in (0, 1, 2):
            for ts in (1, 4, 8):
                seed += 1
                yield dict(cname=cname, clevel=5, shuffle=shuffle, typesize=ts,
                           nbytes=4099, blocksize=1000, kind="counts", seed=seed)
                seed += 1
                yield dict(cname=cname, clevel=5, shuffle=shuffle, typesize=ts,
                           nbytes=504 * ts + ts - 1, blocksize=0, kind="counts", seed=seed)
    # Bit shuffle of whole blocks and of a short last block holding 32
    # elements and ts-1 bytes more (zstd keeps the forced block size).
    for ts in (2, 4, 8):
        seed += 1
        yield dict(cname="zstd", clevel=3, shuffle=2, typesize=ts,
                   nbytes=3 * 1024 + 32 * ts + ts - 1, blocksize=1024, kind="counts", seed=seed)
    # Odd and wide type sizes, with leftovers; 20 > 16 never splits.
    for ts in (2, 3, 5, 16, 20):
        for shuffle in (1, 2):
            seed += 1
            yield dict(cname="lz4", clevel=5, shuffle=shuffle, typesize=ts,
                       nbytes=3 * 2048 + 7, blocksize=2048, kind="counts", seed=seed)
    # Several large blocks, each split into one stream per byte, at the
    # automatic block size of level 1.
    for cname, ts in (("lz4", 4), ("blosclz", 4), ("snappy", 4), ("zstd", 4)):
        seed += 1
        yield dict(cname=cname, clevel=1, shuffle=1, typesize=ts,
                   nbytes=2 * 65536 + 3, blocksize=0, kind="sparse", seed=seed)
    # Half compressible, half random: some blocks stored raw.
    for cname in ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"):
        seed += 1
        yield dict(cname=cname, clevel=5, shuffle=1, typesize=8,
                   nbytes=4099, blocksize=1000, kind="mixed", seed=seed)
    # Incompressible data: the whole buffer memcpyed.
    for cname in ("lz4", "zstd"):
        seed += 1
        yield dict(cname=cname, clevel=5, shuffle=1, typesize=4,
                   nbytes=3001, blocksize=1024, kind="random", seed=seed)
    # Level 0, a buffer below 128 bytes, an empty one.
    seed += 1
    yield dict(cname="lz4", clevel=0, shuffle=1, typesize=4, nbytes=1000,
               blocksize=0, kind="counts", seed=seed)
    seed += 1
    yield dict(cname="zstd", clevel=5, shuffle=1, typesize=4, nbytes=100,
               blocksize=0, kind="counts", seed=seed)
    seed += 1
    yield dict(cname="lz4", clevel=5, shuffle=1, typesize=4, nbytes=0,
               blocksize=0, kind="counts", seed=seed)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = os.path.join(here, "fixtures")
    os.makedirs(outdir, exist_ok=True)
    for f in os.listdir(outdir):
        os.remove(os.path.join(outdir, f))
    manifest = []
    total = 0
    for c in cases():
        data = gen(c["seed"], c["nbytes"], c["typesize"], c["kind"])
        frame, via = compress(data, c["cname"], c["clevel"], c["shuffle"], c["typesize"], c["blocksize"])
        if data:  # numcodecs reports an error for an empty frame
            assert bytes(nb.decompress(frame)) == data, c
        name = "%s_l%d_s%d_t%d_n%d_b%d_%s.blosc" % (
            c["cname"], c["clevel"], c["shuffle"], c["typesize"], c["nbytes"], c["blocksize"], c["kind"])
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(frame)
        total += len(frame)
        entry = dict(c)
        entry.update(file=name, via=via, sha256=hashlib.sha256(data).hexdigest(),
                     flags=frame[2], frame_blocksize=int.from_bytes(frame[8:12], "little"),
                     cbytes=len(frame))
        manifest.append(entry)
    # One frame per line keeps the file small and its diffs readable.
    with open(os.path.join(here, "manifest.json"), "w") as f:
        f.write('{"numcodecs": %s, "blosc": %s, "frames": [\n' % (
            json.dumps(numcodecs.__version__), json.dumps(nb.VERSION_STRING)))
        f.write(",\n".join(json.dumps(e, sort_keys=True) for e in manifest))
        f.write("\n]}\n")
    print("%d frames, %d bytes" % (len(manifest), total))


if __name__ == "__main__":
    main()
