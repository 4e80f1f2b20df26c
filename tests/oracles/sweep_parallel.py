#!/usr/bin/python3
"""Large messages in LZ4's parallel layout, checked against the deployed Python decoder.

The deployed decoder reads compressed bytes as one size-prepended block first and accepts a short
output, so a parallel message that parses as such a block is misread (see lz4_codec.cpp). This
makes documents past the 1,000,000-byte parallel threshold, encodes each with `bfast encode
--compress=lz4` and decodes the bytes with b_fast in this process, comparing with json.loads
(types, key order, the sign of floats). Kinds: user records, runs of one byte, random strings.

  sweep_parallel.py BFAST_CLI [--count N] [--seed S] [--min-mb A] [--max-mb B] [--kinds k,k]

The CI runs a few hundred documents near the threshold (tests/cli/test_cli.py); a larger sweep
is a manual run, e.g. --count 3000 --max-mb 8. Needs /usr/bin/python3 (the module's ABI).
Prints one line per failure and a summary; exit 1 on any failure.
"""
import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile

SHARED = os.environ.get("BFAST_SHARED_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
sys.path.insert(0, os.path.join(SHARED, "oracles", "python"))
import b_fast  # noqa: E402  (the deployed decoder, from ../shared)

NAMES = ["ada", "grace", "linus", "ken", "barbara", "edsger", "margaret", "dennis"]


def user_records(rng, target):
    out, n = [], 0
    while n < target:
        i = len(out)
        rec = {"id": i, "name": rng.choice(NAMES) + str(i), "email": f"user{i}@example.com",
               "active": rng.random() < 0.5, "score": round(rng.random() * 100, 3),
               "tags": rng.sample(NAMES, 3), "address": {"city": rng.choice(NAMES).title(),
                                                          "zip": f"{rng.randrange(100000):05d}"}}
        out.append(rec)
        n += len(json.dumps(rec)) + 1
    return out


def run_of_one_byte(rng, target):
    c = rng.choice("a0 ~z")
    return c * target if rng.random() < 0.7 else [c * 1000] * (target // 1003)


def random_string(rng, target):
    return rng.randbytes(target // 2).hex()


KINDS = {"records": user_records, "run": run_of_one_byte, "random": random_string}


def same(a, b, path="$"):
    if isinstance(a, bool) or isinstance(b, bool) or type(a) is not type(b):
        return None if type(a) is type(b) and a == b else f"{path}: {a!r:.40} vs {b!r:.40}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys differ"
        return next((r for k in a if (r := same(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        return next((r for i, (x, y) in enumerate(zip(a, b)) if (r := same(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, float) and (math.copysign(1, a) != math.copysign(1, b)):
        return f"{path}: sign of {a!r}"
    return None if a == b else f"{path}: {a!r:.40} != {b!r:.40}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-mb", type=float, default=1.0)
    ap.add_argument("--max-mb", type=float, default=1.3)
    ap.add_argument("--kinds", default=",".join(KINDS))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    kinds = args.kinds.split(",")
    decoder = b_fast.BFast()
    failures = parallel = 0
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "doc.json")
        for i in range(args.count):
            kind = kinds[i % len(kinds)]
            target = int(rng.uniform(args.min_mb, args.max_mb) * 1_000_000)
            text = json.dumps(KINDS[kind](rng, target), separators=(",", ":"))
            with open(src, "w") as f:
                f.write(text)
            r = subprocess.run([args.cli, "encode", "--compress=lz4", src], capture_output=True,
                               check=False, timeout=120)
            if r.returncode != 0:
                failures += 1
                print(f"{i} {kind} {len(text)}: encode exit {r.returncode}: {r.stderr[:200]!r}")
                continue
            wire = r.stdout
            # [u32 total][u32 K]...: K counts chunks; a single block has no such field to read.
            parallel += wire[:2] != b"BF" and int.from_bytes(wire[4:8], "little") % 256 == 63
            try:
                got = decoder.decode_packed(wire)
            except BaseException as e:  # noqa: BLE001  (the module raises its own error type)
                failures += 1
                print(f"{i} {kind} {len(text)} bytes: error: {str(e)[:120]}")
                continue
            diff = same(json.loads(text), got)
            if diff:
                failures += 1
                print(f"{i} {kind} {len(text)} bytes: mismatch: {diff}")
    print(f"{args.count} documents, {parallel} with K % 256 == 63, {failures} failures")
    sys.exit(1 if failures else 0)


main()
