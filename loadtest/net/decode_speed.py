#!/usr/bin/python3
"""Warm decode speeds of the Python client (the deployed b_fast decoder and Python's parsers),
the numbers a client sends in `BFast-Decoder: python; bfast=..; json=..; lz4=..; gzip=..; zstd=..`.

Usage: decode_speed.py --ref-dir DIR --dir DIR [--payload NAME]... [--budget-ms MS]

--ref-dir holds the b_fast package. DIR holds NAME.json and, when there, NAME.none.bfast and
NAME.lz4.bfast (B-FAST messages). Prints one JSON line per payload and speed, as decode_speed.js does: MB/s =
1e6 bytes/s of message bytes (bfast), JSON text (json) or inflated output (lz4, gzip, zstd); lz4
is the extra time of the LZ4 message over the raw one, as uncompressed B-FAST bytes per second.
"""
import argparse
import gc
import json
import os
import sys
import time
import zlib


def median_ms(fn, budget_ms, base=None):
    """Median ms of fn (minus base, run right after it, when given) after warming it; at least 5
    timed runs, then until the budget is spent (at most 200 runs)."""
    warm_until = time.perf_counter() + budget_ms / 4e3
    i = 0
    while i < 2 or (time.perf_counter() < warm_until and i < 50):
        fn()
        if base:
            base()
        i += 1
    times = []
    stop = time.perf_counter() + budget_ms / 1e3
    while len(times) < 5 or (time.perf_counter() < stop and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        if base:
            base()
        t2 = time.perf_counter()
        times.append(((t1 - t0) - (t2 - t1) if base else t1 - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-dir", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--payload", action="append", default=[])
    ap.add_argument("--budget-ms", type=float, default=400)
    args = ap.parse_args()
    sys.path.insert(0, args.ref_dir)
    import b_fast
    try:
        import zstandard
    except ImportError:
        zstandard = None
    decoder = b_fast.BFast()
    names = args.payload or sorted(f[:-5] for f in os.listdir(args.dir) if f.endswith(".json"))

    def out(name, speed, size, ms):
        mbps = round(size / ms / 1e3, 1) if ms > 0 else None
        print(json.dumps({"client": "python", "payload": name, "speed": speed, "bytes": size,
                          "ms": round(ms, 4), "mbps": mbps}), flush=True)

    # Collections during a timed run belong to the allocation pattern, not to the decoder.
    gc.disable()
    for name in names:
        def read(suffix):
            with open(os.path.join(args.dir, name + suffix), "rb") as f:
                return f.read()
        text = read(".json")
        # Without a proxy there are no B-FAST messages: then only the JSON speeds.
        if os.path.exists(os.path.join(args.dir, name + ".none.bfast")):
            raw = read(".none.bfast")
            out(name, "bfast", len(raw), median_ms(lambda: decoder.decode_packed(raw), args.budget_ms))
            if os.path.exists(os.path.join(args.dir, name + ".lz4.bfast")):
                lz4 = read(".lz4.bfast")
                # One call of each per run, so the difference sees the same machine load.
                out(name, "lz4", len(raw), median_ms(lambda: decoder.decode_packed(lz4), args.budget_ms,
                                                     lambda: decoder.decode_packed(raw)))
        out(name, "json", len(text), median_ms(lambda: json.loads(text), args.budget_ms))
        gz = zlib.compress(text, 6, wbits=31)
        out(name, "gzip", len(text),
            median_ms(lambda: zlib.decompressobj(wbits=31).decompress(gz), args.budget_ms))
        if zstandard is not None:
            zs = zstandard.ZstdCompressor(level=3).compress(text)
            dctx = zstandard.ZstdDecompressor()
            out(name, "zstd", len(text), median_ms(lambda: dctx.decompress(zs), args.budget_ms))
        gc.collect()
    if zstandard is None:
        print(json.dumps({"client": "python", "note": "python3-zstandard is not installed"}))


main()
