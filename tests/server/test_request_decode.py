"""The request direction: B-FAST bodies (raw, LZ4 single or parallel, under gzip or zstd) that
clients POST on a route with decode_requests reach the upstream as JSON that parses to what the
deployed Python decoder reads from the same bytes; bombs and broken bodies get 400/413 with a
reason in BFast-Status, and nothing reaches the upstream."""
import datetime
import decimal
import gzip
import http.client
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import uuid

import numpy
import zstandard

from harness import CORPUS, SHARED, Proxy, curl, raw_request, status_of
from scripted_upstream import ScriptedUpstream

sys.path.insert(0, os.path.join(SHARED, "oracles", "python"))
import b_fast  # noqa: E402  the deployed encoder and decoder



class _Encoder:
    """The deployed encoder. A BFast object keeps its key table from one message to the next
    (and overflows it), so each message gets a fresh one."""

    @staticmethod
    def encode_packed(value, compress):
        return b_fast.BFast().encode_packed(value, compress)

    @staticmethod
    def decode_packed(message):
        return b_fast.BFast().decode_packed(message)


ENCODER = _Encoder()
BFAST_TYPE = "application/x-bfast"
ROUTES = [
    {"prefix": "/small/", "decode_requests": True, "max_request_message_bytes": 1 << 20,
     "max_decoded_request_bytes": 1 << 20},
    {"prefix": "/plain/"},
    {"prefix": "/", "decode_requests": True},
]


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BFAST_CLI = os.environ.get("BFAST_CLI_BIN", os.path.join(REPO, "build", "cli", "bfast"))

def setUpModule():
    global upstream, proxy
    upstream = ScriptedUpstream()
    proxy = Proxy(upstream.port, config={"routes": ROUTES})


def tearDownModule():
    # A sanitizer report aborts the proxy (BFAST_SANITIZE builds halt on the first error).
    alive = proxy.proc.poll() is None
    proxy.stop()
    upstream.stop()
    if not alive:
        raise AssertionError(f"bfast-proxy exited with {proxy.proc.returncode} during the tests")


def same(a, b, path="$"):
    """None when a and b are the same JSON value, types and key order included; else where not."""
    if isinstance(a, bool) or isinstance(b, bool) or type(a) is not type(b):
        if isinstance(a, int) and isinstance(b, decimal.Decimal) and decimal.Decimal(a) == b:
            return None
        return None if (type(a) is type(b) and a == b) else f"{path}: {a!r:.60} vs {b!r:.60}"
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys differ"
        return next((r for k in a if (r := same(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: length {len(a)} vs {len(b)}"
        return next((r for i, (x, y) in enumerate(zip(a, b)) if (r := same(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, float):
        ok = a == b and math.copysign(1, a) == math.copysign(1, b)
        return None if ok else f"{path}: {a!r} vs {b!r}"
    return None if a == b else f"{path}: {a!r:.60} vs {b!r:.60}"


def post(path, body, content_type=BFAST_TYPE, headers=()):
    """One POST on a fresh connection: (status, headers dict lowercased, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
    try:
        conn.putrequest("POST", path)
        if content_type:
            conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(body)))
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _not_json(literal):
    raise ValueError(f"{literal} is not JSON")


def corpus_values():
    """(name, path, value) for every corpus document that is JSON (json.loads, less its NaN and
    Infinity literals)."""
    for sub in ("realworld", "semantic", "jsontestsuite"):
        d = os.path.join(CORPUS, sub)
        for name in sorted(os.listdir(d)):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(d, name), "rb") as f:
                    value = json.loads(f.read(), parse_constant=_not_json)
            except (ValueError, RecursionError):
                continue
            yield f"{sub}/{name}", os.path.join(d, name), value


def utf8_text(path):
    with open(path, "rb") as f:
        raw = f.read()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not raw.startswith(b"\xef\xbb\xbf")


class Sent:
    """Counts what reached the upstream across a block."""

    def __enter__(self):
        self.before = len(upstream.requests)
        return self

    def __exit__(self, *exc):
        self.count = len(upstream.requests) - self.before


class RequestDecodeTest(unittest.TestCase):
    def assert_decoded(self, body, expected, path="/echo", headers=(), encoded=None):
        """The upstream got JSON that parses to `expected`, with the conversion's headers."""
        with Sent() as sent:
            status, h, echoed = post(path, body, headers=headers)
        self.assertEqual(status, 200, h.get("bfast-status"))
        self.assertEqual(sent.count, 1)
        _, _, up_headers, up_body = upstream.requests[-1]
        self.assertEqual(up_headers["content-type"], ["application/json"])
        self.assertEqual(up_headers["content-length"], [str(len(up_body))])
        self.assertNotIn("content-encoding", up_headers)
        self.assertNotIn("transfer-encoding", up_headers)
        self.assertEqual(up_headers["bfast-request"], [f"decoded; in={len(body)}; out={len(up_body)}"])
        self.assertEqual(echoed, up_body)
        received = json.loads(up_body)
        self.assertIsNone(same(received, expected))
        return received

    def assert_refused(self, body, statuses, reason=None, path="/echo", headers=(),
                       content_type=BFAST_TYPE):
        with Sent() as sent:
            status, h, _ = post(path, body, content_type=content_type, headers=headers)
        self.assertIn(status, statuses)
        self.assertEqual(sent.count, 0, "nothing may reach the upstream")
        token = h["bfast-status"].split("reason=")[1]
        self.assertTrue(h["bfast-status"].startswith("request_refused; reason="))
        if reason is not None:
            self.assertEqual(token, reason)
        return token

    def run_corpus(self, wrap, compress, same_as_original=None):
        """Every corpus document through the proxy; returns (decoded, equal to the original,
        refused). `same_as_original` collects (path, JSON sent up) of the equal ones."""
        decoded = equal = refused = 0
        for name, path, value in corpus_values():
            with self.subTest(doc=name):
                try:
                    message = ENCODER.encode_packed(value, compress)
                except Exception:
                    continue  # not encodable by the deployed encoder (depth, sizes)
                body, headers = wrap(message)
                try:
                    reads_as = ENCODER.decode_packed(message)
                except Exception:
                    # The deployed decoder refuses its own output (too deep): so does the proxy.
                    self.assert_refused(body, (400,), headers=headers)
                    refused += 1
                    continue
                self.assert_decoded(body, reads_as, headers=headers)
                decoded += 1
                if same(json.loads(json.dumps(value)), reads_as) is None:
                    equal += 1
                    if same_as_original is not None:
                        same_as_original.append((path, upstream.requests[-1][3]))
        if os.environ.get("BFAST_TEST_COUNTS"):
            print(f"\n{decoded} decoded, {equal} equal to the original, {refused} refused", file=sys.stderr)
        return decoded, equal, refused

    def test_corpus_raw(self):
        sent_up = []
        decoded, equal, refused = self.run_corpus(lambda m: (m, ()), False, sent_up)
        self.assert_json_parse_agrees(sent_up)
        self.assert_simdjson_parses(sent_up)
        self.assertGreater(decoded, 110)
        # The rest is what the deployed encoder loses itself (key index 0x7F, integers beyond
        # i64 written as floats): the proxy reads the bytes exactly as the deployed decoder.
        self.assertGreater(equal, decoded - 10)
        self.assertGreaterEqual(refused, 1)

    def assert_simdjson_parses(self, pairs):
        """simdjson takes each JSON sent up: `bfast encode` parses with it, and exits 1 on
        invalid JSON."""
        for path, sent in pairs:
            r = subprocess.run([BFAST_CLI, "encode", "-o", os.devnull, "-"], input=sent,
                               capture_output=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"{path}: {r.stderr[-500:]!r}")
        self.assertGreater(len(pairs), 100)

    def assert_json_parse_agrees(self, pairs):
        """JSON.parse (node) reads each JSON sent up as it reads the original document."""
        if shutil.which("node") is None:
            self.skipTest("node not installed")
        with tempfile.TemporaryDirectory(prefix="bfast-req-") as tmp:
            listing = []
            # JSON.parse reads text: the UTF-16 and byte-order-mark documents json.loads takes
            # as bytes are left out.
            pairs = [(p, sent) for p, sent in pairs if utf8_text(p)]
            for i, (path, sent) in enumerate(pairs):
                out = os.path.join(tmp, f"{i}.json")
                with open(out, "wb") as f:
                    f.write(sent)
                listing.append([path, out])
            with open(os.path.join(tmp, "pairs.json"), "w") as f:
                json.dump(listing, f)
            script = ("const fs=require('fs');const pairs=JSON.parse(fs.readFileSync(process.argv[1]));"
                      "const v=p=>JSON.stringify(JSON.parse(fs.readFileSync(p,'utf8')));let bad=[];"
                      "for(const [a,b] of pairs){if(v(a)!==v(b))bad.push(a);}"
                      "console.log(JSON.stringify({checked:pairs.length,bad}));")
            r = subprocess.run(["node", "-e", script, os.path.join(tmp, "pairs.json")],
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        result = json.loads(r.stdout)
        self.assertEqual(result["bad"], [])
        self.assertGreater(result["checked"], 100)

    def test_corpus_lz4(self):
        compressed = []

        def wrap(m):
            if m[:2] != b"BF":
                compressed.append(len(m))
            return m, ()

        decoded, _, _ = self.run_corpus(wrap, True)
        self.assertGreater(decoded, 110)
        self.assertGreater(len(compressed), 15, "the encoder compressed the larger documents")

    def test_lz4_parallel(self):
        value = {"rows": [{"id": i, "name": f"row {i}", "score": i / 7} for i in range(40000)]}
        message = ENCODER.encode_packed(value, True)
        total, chunks = struct.unpack_from("<II", message)
        self.assertGreaterEqual(total, 1_000_000)
        self.assertGreater(chunks, 1, "parallel layout")
        self.assert_decoded(message, ENCODER.decode_packed(message))

    def test_corpus_gzip(self):
        decoded, _, _ = self.run_corpus(
            lambda m: (gzip.compress(m), (("Content-Encoding", "gzip"),)), False)
        self.assertGreater(decoded, 110)

    def test_corpus_zstd(self):
        cctx = zstandard.ZstdCompressor()
        decoded, _, _ = self.run_corpus(
            lambda m: (cctx.compress(m), (("Content-Encoding", "zstd"),)), True)
        self.assertGreater(decoded, 110)

    def test_property_generated_values(self):
        rng = random.Random(2026)
        alphabet = ["a", "Z", " ", "\"", "\\", "\n", "\x00", "\x1f", "é", "€", "😀", "\u2028"]

        def text():
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))

        def value(depth):
            kind = rng.randrange(9 if depth < 6 else 6)
            if kind == 0:
                return rng.choice([None, True, False])
            if kind == 1:
                return rng.choice([0, 7, 8, -1, 2**53 + 1, -(2**63), 2**63 - 1, rng.randrange(-2**40, 2**40)])
            if kind == 2:
                return rng.choice([0.0, -0.0, 1.0, 0.1, 1e-310, 1.7976931348623157e308, 2.5e-5,
                                   rng.uniform(-1e9, 1e9)])
            if kind in (3, 4, 5):
                return text()
            if kind in (6, 7):
                return [value(depth + 1) for _ in range(rng.randrange(5))]
            return {text(): value(depth + 1) for _ in range(rng.randrange(5))}

        for case in range(200):
            v = value(1)
            with self.subTest(case=case):
                message = ENCODER.encode_packed(v, case % 2 == 1)
                self.assert_decoded(message, v)

    # Values JSON cannot carry, one rule each (README, "The request direction").
    def test_bytes_become_base64(self):
        message = ENCODER.encode_packed({"b": b"\x00\xff\x10hello"}, False)
        self.assert_decoded(message, {"b": "AP8QaGVsbG8="})

    def test_nan_is_refused(self):
        self.assert_refused(ENCODER.encode_packed({"x": [1.5, float("nan")]}, False), (400,), "nan")
        packed = ENCODER.encode_packed({"x": numpy.array([1.0, float("nan")])}, False)
        self.assert_refused(packed, (400,), "nan")

    def test_infinities_become_1e999(self):
        value = {"x": [float("inf"), float("-inf")], "p": numpy.array([float("inf")] * 2)}
        self.assert_decoded(ENCODER.encode_packed(value, False),
                            {"x": [float("inf"), float("-inf")], "p": [float("inf")] * 2})
        self.assertEqual(upstream.requests[-1][3], b'{"x":[1e999,-1e999],"p":[1e999,1e999]}')

    def test_packed_float_arrays_become_arrays_of_floats(self):
        message = ENCODER.encode_packed({"x": numpy.array([1.0, 2.5, -0.0, 1e300])}, False)
        self.assertIn(b"\x90", message)
        received = self.assert_decoded(message, {"x": [1.0, 2.5, -0.0, 1e300]})
        self.assertTrue(all(isinstance(f, float) for f in received["x"]))

    def test_datetimes_and_uuids_become_strings(self):
        u = uuid.UUID("12345678-9abc-def0-1234-56789abcdef0")
        value = {"dt": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456), "d": datetime.date(2024, 1, 2),
                 "t": datetime.time(3, 4, 5), "u": u}
        message = ENCODER.encode_packed(value, False)
        self.assert_decoded(message, {"dt": "2024-02-29T23:59:58.123456", "d": "2024-01-02", "t": "03:04:05",
                                      "u": str(u)})

    def test_decimals_keep_their_digits(self):
        message = ENCODER.encode_packed({"d": decimal.Decimal("12345678901234567890.123456789")}, False)
        with Sent():
            status, _, _ = post("/echo", message)
        self.assertEqual(status, 200)
        up_body = upstream.requests[-1][3]
        self.assertEqual(json.loads(up_body, parse_float=decimal.Decimal),
                         {"d": decimal.Decimal("12345678901234567890.123456789")})

    def test_integers_beyond_2_53(self):
        value = {"a": 2**53 + 1, "b": -(2**63), "c": 2**63 - 1}
        received = self.assert_decoded(ENCODER.encode_packed(value, False), value)
        self.assertEqual(received["a"], 2**53 + 1)  # digits exact; JSON.parse rounds, as for any JSON
        # Beyond i64 the deployed encoder itself writes a float: the upstream gets that float.
        self.assert_decoded(ENCODER.encode_packed({"x": 2**64}, False), {"x": float(2**64)})

    # Safety.
    def test_lz4_bomb_claiming_gigabytes(self):
        for layout in (struct.pack("<I", 0xFFFFFFF0) + b"\x00" * 12,
                       struct.pack("<II", 0xFFFFFFF0, 1) + struct.pack("<I", 9) + b"\x00" * 9):
            self.assert_refused(layout, (413,), "message_too_large")

    def test_gzip_and_zstd_bombs(self):
        zeros = b"\x00" * (20 << 20)
        self.assert_refused(gzip.compress(b"BF\x00\x01\x00\x00" + zeros), (413,), "message_too_large",
                            headers=(("Content-Encoding", "gzip"),))
        self.assert_refused(zstandard.ZstdCompressor().compress(b"BF\x00\x01\x00\x00" + zeros), (413,),
                            "message_too_large", headers=(("Content-Encoding", "zstd"),))

    def test_json_bomb_past_the_route_bound(self):
        # One byte per null in, five out: within the message bound, past the JSON bound.
        message = ENCODER.encode_packed([None] * 400_000, False)
        self.assert_refused(message, (413,), "json_too_large", path="/small/echo")
        self.assert_decoded(message, [None] * 400_000)

    def test_deep_nesting(self):
        deep = b"BF\x00\x01\x00\x00" + b"\x60\x01\x00\x00\x00" * 200 + b"\x10"
        self.assert_refused(deep, (400,), "too_deep")
        ok = b"BF\x00\x01\x00\x00" + b"\x60\x01\x00\x00\x00" * 127 + b"\x10"
        self.assert_decoded(ok, ENCODER.decode_packed(ok))

    def test_truncations(self):
        message = ENCODER.encode_packed({"name": "a string", "list": [1, 2.5, None, {"k": True}]}, False)
        for cut in range(1, len(message)):
            with self.subTest(cut=cut):
                self.assert_refused(message[:cut], (400,))
        packed = ENCODER.encode_packed({"k": list(range(500))}, True)
        for cut in range(1, len(packed), 37):
            with self.subTest(lz4_cut=cut):
                self.assert_refused(packed[:cut], (400,))

    def test_inflated_lengths(self):
        message = bytearray(ENCODER.encode_packed({"s": "hello"}, False))
        at = message.index(b"\x50") + 1
        struct.pack_into("<I", message, at, 1000)
        self.assert_refused(bytes(message), (400,), "truncated")
        arr = bytearray(ENCODER.encode_packed([1, 2, 3], False))
        struct.pack_into("<I", arr, arr.index(b"\x60") + 1, 0x7FFFFFFF)
        self.assert_refused(bytes(arr), (400,), "truncated")

    def test_bit_flips(self):
        rng = random.Random(17)
        message = ENCODER.encode_packed({"name": "x" * 40, "n": [1, 2, 3.5], "o": {"k": None}}, False)
        decoded = refused = 0
        for _ in range(300):
            flipped = bytearray(message)
            i = rng.randrange(len(flipped))
            flipped[i] ^= 1 << rng.randrange(8)
            with Sent() as sent:
                status, h, _ = post("/echo", bytes(flipped))
            if status == 200:
                decoded += 1
                json.loads(upstream.requests[-1][3])
            else:
                refused += 1
                self.assertIn(status, (400, 413))
                self.assertEqual(sent.count, 0)
                self.assertIn("reason=", h["bfast-status"])
        self.assertGreater(refused, 0)
        self.assertGreater(decoded, 0)

    def test_garbage_and_empty_message(self):
        self.assert_refused(b"\x05\x00\x00\x00 not b-fast at all", (400,), "bad_compression")
        # Not 'BF', so its first four bytes are an LZ4 size: 544 MB declared.
        self.assert_refused(b"not b-fast at all", (413,), "message_too_large")
        self.assert_refused(b"BF", (400,), "truncated")
        self.assert_refused(b"BF\x00\x02\x00\x00\x10", (400,), "bad_version")
        self.assert_refused(b"\xff\xfe\x00\x01", (400,), "bad_magic")
        self.assert_refused(b"garbage", (400,), "bad_content_encoding", headers=(("Content-Encoding", "gzip"),))

    def test_unsupported_encoding(self):
        message = ENCODER.encode_packed({"a": 1}, False)
        self.assert_refused(message, (415,), "unsupported_encoding", headers=(("Content-Encoding", "br"),))

    def test_route_without_decode_passes_through(self):
        message = ENCODER.encode_packed({"a": 1}, False)
        with Sent() as sent:
            status, _, echoed = post("/plain/echo", message)
        self.assertEqual((status, sent.count), (200, 1))
        _, _, up_headers, up_body = upstream.requests[-1]
        self.assertEqual(up_body, message)
        self.assertEqual(up_headers["content-type"], [BFAST_TYPE])
        self.assertNotIn("bfast-request", up_headers)

    def test_other_content_types_pass_through(self):
        with Sent() as sent:
            status, _, _ = post("/echo", b'{"a":1}', content_type="application/json")
        self.assertEqual((status, sent.count), (200, 1))
        self.assertEqual(upstream.requests[-1][3], b'{"a":1}')

    def test_content_type_parameters_and_case(self):
        message = ENCODER.encode_packed({"a": 1}, False)
        with Sent():
            status, _, _ = post("/echo", message, content_type="Application/X-BFAST; charset=binary")
        self.assertEqual(status, 200)
        self.assertEqual(upstream.requests[-1][3], b'{"a":1}')

    def test_expect_100_continue_and_chunked(self):
        message = ENCODER.encode_packed({"k": list(range(20000))}, True)
        for extra in (("-H", "Expect: 100-continue"), ("-H", "Transfer-Encoding: chunked")):
            with self.subTest(extra=extra):
                r = curl(f"{proxy.url}/echo", "-H", f"Content-Type: {BFAST_TYPE}", *extra, data=message)
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.body), {"k": list(range(20000))})
                self.assertIn("bfast-request", upstream.requests[-1][2])

    def test_too_large_declared_body_refused_before_100_continue(self):
        head = (f"POST /small/echo HTTP/1.1\r\nHost: x\r\nContent-Type: {BFAST_TYPE}\r\n"
                f"Content-Length: {2 << 20}\r\nExpect: 100-continue\r\n\r\n").encode()
        with Sent() as sent:
            reply, closed = raw_request(proxy.port, head)
        self.assertEqual(status_of(reply), 413)
        self.assertNotIn(b"100 Continue", reply)
        self.assertIn(b"reason=body_too_large", reply)
        self.assertTrue(closed)
        self.assertEqual(sent.count, 0)

    def test_response_still_negotiated(self):
        message = ENCODER.encode_packed({"items": [{"id": i, "ok": True} for i in range(100)]}, False)
        status, h, body = post("/echo", message, headers=(("Accept", BFAST_TYPE),))
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], BFAST_TYPE)
        self.assertTrue(h["bfast-status"].startswith("transcoded"))
        self.assertEqual(ENCODER.decode_packed(body), {"items": [{"id": i, "ok": True} for i in range(100)]})

    def test_keep_alive_after_refusal(self):
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
        try:
            for body, want in ((b"BF\x00\x01", 400), (ENCODER.encode_packed({"a": 1}, False), 200)):
                conn.request("POST", "/echo", body=body, headers={"Content-Type": BFAST_TYPE})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, want)
        finally:
            conn.close()

    def test_metrics(self):
        post("/echo", ENCODER.encode_packed({"a": 1}, False))
        post("/echo", b"BF\x00\x01\x00\x00\x60\xff\xff\x00\x00")
        m = proxy.metrics()
        self.assertGreater(m["bfast_requests_decoded_total"], 0)
        self.assertGreater(m['bfast_requests_decode_refused_total{reason="truncated"}'], 0)
        self.assertGreater(m['bfast_request_decode_bytes_total{direction="in"}'], 0)
        self.assertGreater(m['bfast_request_decode_bytes_total{direction="out"}'], 0)


class RequestDecodeBudgetTest(unittest.TestCase):
    def test_over_budget_is_503(self):
        up = ScriptedUpstream()
        small = Proxy(up.port, "--transform-memory-budget-bytes", "65536",
                      config={"routes": [{"prefix": "/", "decode_requests": True}]})
        try:
            message = ENCODER.encode_packed({"k": list(range(100000))}, False)
            conn = http.client.HTTPConnection("127.0.0.1", small.port, timeout=30)
            conn.request("POST", "/echo", body=message, headers={"Content-Type": BFAST_TYPE})
            r = conn.getresponse()
            r.read()
            conn.close()
            self.assertEqual(r.status, 503)
            self.assertEqual(r.getheader("BFast-Status"), "request_refused; reason=overloaded")
            self.assertEqual(up.requests, [])
        finally:
            small.stop()
            up.stop()


class RequestDecodeAccessLogTest(unittest.TestCase):
    def test_decision_in_the_access_log(self):
        up = ScriptedUpstream()
        logged = Proxy(up.port, "--access-log=true", stdout=subprocess.PIPE,
                       config={"routes": [{"prefix": "/", "decode_requests": True}]})
        try:
            message = ENCODER.encode_packed({"a": 1}, False)
            conn = http.client.HTTPConnection("127.0.0.1", logged.port, timeout=30)
            conn.request("POST", "/echo", body=message, headers={"Content-Type": BFAST_TYPE})
            conn.getresponse().read()
            conn.request("POST", "/echo", body=b"BF\x00\x01", headers={"Content-Type": BFAST_TYPE})
            conn.getresponse().read()
            conn.close()
            lines = [json.loads(logged.proc.stdout.readline()) for _ in range(2)]
            self.assertEqual(lines[0]["request_body"], "decoded")
            self.assertEqual(lines[0]["request_in"], len(message))
            self.assertEqual(lines[0]["request_out"], len(b'{"a":1}'))
            self.assertEqual(lines[1]["decision"], "request_refused")
            self.assertEqual(lines[1]["reason"], "truncated")
        finally:
            logged.stop()
            logged.proc.stdout.close()
            up.stop()


if __name__ == "__main__":
    unittest.main()
