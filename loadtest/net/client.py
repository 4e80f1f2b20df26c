#!/usr/bin/python3
"""The Python decoding client of the network profiles, with client.js's contract: fetches one
URL over a warm keep-alive connection and times each exchange from the request being sent to
the decoded value being held: json.loads for JSON (after a streaming zlib or zstd decompress
when the body is encoded), the deployed Python decoder's BFast().decode_packed for
application/x-bfast. Sends `BFast-Decoder: python` unless a --hint names it.

  client.py --url URL --ref-dir DIR --ref JSON_FILE [--accept TYPE] [--accept-encoding LIST]
            [--hint NAME=VALUE]... [--reps N] [--max-seconds S]
  client.py --can-decode   -> prints the Content-Codings this Python can inflate

--ref-dir holds the b_fast package. Prints one JSON line per exchange, as client.js does: the
first (rep 0) warms the connection and is checked against json.loads of --ref; the others are
the timed repetitions.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse
import zlib

try:
    import zstandard
except ImportError:
    zstandard = None


def ms_since(t0):
    return (time.perf_counter() - t0) * 1e3


class Identity:
    def decompress(self, data):
        return data

    def flush(self):
        return b""


class Zstd:
    """A streaming zstd decompressor with zlib's decompress/flush shape."""

    def __init__(self):
        self.obj = zstandard.ZstdDecompressor().decompressobj()

    def decompress(self, data):
        return self.obj.decompress(data)

    def flush(self):
        return b""


def inflater(encoding):
    if encoding in ("", "identity"):
        return Identity()
    if encoding == "gzip":
        return zlib.decompressobj(wbits=31)
    if encoding == "deflate":
        return zlib.decompressobj()
    if encoding == "zstd" and zstandard is not None:
        return Zstd()
    return None


def exchange(args, conn, path, headers, decoder):
    """One exchange; returns (record, value)."""
    t0 = time.perf_counter()
    # putrequest, since request() would add `Accept-Encoding: identity` when none is offered.
    conn.putrequest("GET", path, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    res = conn.getresponse()
    ttfb_ms = ms_since(t0)
    encoding = (res.getheader("content-encoding") or "").strip().lower()
    inflate = inflater(encoding)
    if inflate is None:
        res.read()
        raise RuntimeError(f"unsupported Content-Encoding {encoding}")
    parts = []
    wire_bytes = first_chunk_bytes = 0
    while True:
        chunk = res.read1(1 << 16)
        if not chunk:
            break
        if wire_bytes == 0:
            first_chunk_bytes = len(chunk)
        wire_bytes += len(chunk)
        parts.append(inflate.decompress(chunk))
    # read1 leaves a Content-Length response open at its end; read() closes it, so that the
    # connection takes the next request.
    tail = res.read()
    if tail:
        wire_bytes += len(tail)
        parts.append(inflate.decompress(tail))
    ttlb_ms = ms_since(t0)
    parts.append(inflate.flush())
    body = b"".join(parts)
    t_decode = time.perf_counter()
    ctype = (res.getheader("content-type") or "").split(";")[0].strip().lower()
    if ctype == "application/x-bfast":
        value = decoder.decode_packed(body)
    else:
        value = json.loads(body)
    decode_ms = ms_since(t_decode)
    record = {
        "status": res.status, "ms": ms_since(t0), "ttfb_ms": ttfb_ms, "ttlb_ms": ttlb_ms,
        "decode_ms": decode_ms, "wire_bytes": wire_bytes, "first_chunk_bytes": first_chunk_bytes,
        "decoded_bytes": len(body), "content_type": ctype, "content_encoding": encoding,
        "bfast_status": res.getheader("bfast-status") or "",
    }
    return record, value


def same(a, b):
    """Equal as decoded values; the B-FAST decoder may give a Decimal where JSON has an int."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    if sys.argv[1:] == ["--can-decode"]:
        print(", ".join(e for e in ("gzip", "br", "zstd") if inflater(e) is not None))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--ref-dir", required=True)
    ap.add_argument("--ref", required=True)
    ap.add_argument("--accept", default="application/json")
    ap.add_argument("--accept-encoding", default="")
    ap.add_argument("--hint", action="append", default=[])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    sys.path.insert(0, args.ref_dir)
    import b_fast
    decoder = b_fast.BFast()
    with open(args.ref, "rb") as f:
        expected = json.loads(f.read())
    url = urllib.parse.urlsplit(args.url)
    headers = {"Accept": args.accept, "BFast-Decoder": "python"}
    for hint in args.hint:
        name, value = hint.split("=", 1)
        headers[name] = value
    if args.accept_encoding:
        headers["Accept-Encoding"] = args.accept_encoding
    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=args.max_seconds)
    path = url.path + (f"?{url.query}" if url.query else "")
    started = time.perf_counter()
    for rep in range(args.reps + 1):
        # At least the warm-up and one timed exchange; then stop when the time budget is spent.
        if rep > 1 and ms_since(started) > args.max_seconds * 1e3:
            break
        try:
            record, value = exchange(args, conn, path, headers, decoder)
            if rep == 0:
                record["check"] = "ok" if same(expected, value) else "mismatch"
            print(json.dumps({"rep": rep, **record}), flush=True)
        except Exception as e:  # every failure is a line of output, as in client.js
            print(json.dumps({"rep": rep, "error": str(e)[:200]}), flush=True)
            break
    conn.close()


main()
