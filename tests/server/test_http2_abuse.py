"""HTTP/2 from a hostile client: raw frames (hyperframe, with hpack for header blocks) where
python3-h2 would refuse to send the bytes or hide what comes back. Each attack checks the answer
RFC 9113 asks for on that connection, that the proxy still serves others afterwards, and for the
floods that its resident memory stays bounded."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import unittest

import hpack
from hyperframe.frame import (ContinuationFrame, DataFrame, Frame, GoAwayFrame, HeadersFrame,
                              PingFrame, RstStreamFrame, SettingsFrame, WindowUpdateFrame)

from harness import START_TIMEOUT, Nginx, Proxy, curl, free_port
from test_http2 import H2Client, original
from test_reload import base_config

SMALL = "/realworld/github_events.json"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
STREAM_CLOSED, FRAME_SIZE_ERROR, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 5, 6, 9, 11
MIB = 1 << 20
# ASan's quarantine and shadow memory make RSS say nothing about the proxy's own bounds.
SANITIZED = os.environ.get("BFAST_SANITIZE", "OFF").upper() not in ("", "OFF", "0", "FALSE")


def setUpModule():
    global nginx
    nginx = Nginx()


def tearDownModule():
    nginx.stop()


def start_proxy(test, upstream=None, **config):
    upstream = upstream or f"http://127.0.0.1:{nginx.port}"
    proxy = Proxy(None, config=base_config(upstream, **config))
    test.addCleanup(proxy.stop)
    return proxy


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def assert_rss_growth_below(test, growth, bound):
    if not SANITIZED:
        test.assertLess(growth, bound, f"peak RSS growth {growth >> 20} MiB")


def request_headers(path=SMALL, method="GET", extra=()):
    return [(":method", method), (":scheme", "http"), (":authority", "abuse.test"),
            (":path", path), *extra]


class Outcome:
    """What the server sent until it closed (or went quiet): frames by type, and how it ended."""

    def __init__(self, frames, closed):
        self.frames = frames
        self.closed = closed

    def of(self, kind, stream=None):
        return [f for f in self.frames if isinstance(f, kind) and
                (stream is None or f.stream_id == stream)]

    @property
    def goaway(self):
        g = self.of(GoAwayFrame)
        return g[-1].error_code if g else None

    def reset(self, stream):
        r = self.of(RstStreamFrame, stream)
        return r[-1].error_code if r else None

    def status(self, stream):
        for f in self.frames:
            if isinstance(f, HeadersFrame) and f.stream_id == stream:
                return dict(f.fields).get(":status")
        return None

    def body(self, stream):
        return b"".join(f.data for f in self.of(DataFrame, stream))

    def ended(self, stream):
        return any("END_STREAM" in f.flags for f in self.frames
                   if isinstance(f, (DataFrame, HeadersFrame)) and f.stream_id == stream)


class RawConnection:
    """A client socket that writes frames as given and reads whatever comes back."""

    def __init__(self, port, preface=True, timeout=START_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        if preface:
            # Our SETTINGS, and a connection window large enough for any response here.
            self.send(PREFACE + SettingsFrame(0).serialize() +
                      WindowUpdateFrame(0, window_increment=16 * MIB).serialize())

    def close(self):
        self.sock.close()

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:  # reset, broken pipe, or closed by the test
            return False

    def send_frames(self, *frames):
        return self.send(b"".join(f.serialize() for f in frames))

    def block(self, headers):
        return self.encoder.encode(headers)

    def headers(self, stream, headers, end_stream=True):
        f = HeadersFrame(stream, self.block(headers))
        f.flags.add("END_HEADERS")
        if end_stream:
            f.flags.add("END_STREAM")
        return f

    def frame(self):
        """The next frame, or None once the server closed (or reset) the connection."""
        while True:
            if len(self.buf) >= 9:
                f, length = Frame.parse_frame_header(memoryview(bytes(self.buf[:9])))
                if len(self.buf) >= 9 + length:
                    f.parse_body(memoryview(bytes(self.buf[9:9 + length])))
                    del self.buf[:9 + length]
                    if isinstance(f, HeadersFrame):
                        # In order: the server's dynamic table spans the connection.
                        f.fields = self.decoder.decode(f.data)
                    return f
            try:
                more = self.sock.recv(65536)
            except ConnectionResetError:
                more = b""
            if not more:
                return None
            self.buf.extend(more)

    def outcome(self, until=None):
        """Frames until the server closes, or until `until(frame)` holds. Acknowledges the
        server's SETTINGS so that the window it advertised applies."""
        frames = []
        while True:
            f = self.frame()
            if f is None:
                return Outcome(frames, True)
            frames.append(f)
            if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                self.send_frames(SettingsFrame(0, flags=["ACK"]))
            if until is not None and until(f):
                return Outcome(frames, False)


class Abuse(unittest.TestCase):
    """One proxy for the class: each attack must leave it serving the next client."""

    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy(None, config=base_config(f"http://127.0.0.1:{nginx.port}",
                                                   keepalive_idle_timeout_ms=3000))

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def tearDown(self):
        self.assertIsNone(self.proxy.proc.poll(), "the proxy exited")
        for args in ((), ("--http2-prior-knowledge",)):
            r = curl(self.proxy.url + SMALL, *args)
            self.assertEqual(r.status, 200, f"curl {args} after the attack")
            self.assertEqual(r.body, original(SMALL))

    def connect(self, **kw):
        c = RawConnection(self.proxy.port, **kw)
        self.addCleanup(c.close)
        return c

    def goaway_or_close(self, c):
        out = c.outcome(until=lambda f: isinstance(f, GoAwayFrame))
        if not out.closed:
            # After GOAWAY the server closes: nothing but the end of the connection follows.
            rest = c.outcome()
            self.assertTrue(rest.closed)
        return out

    def test_continuation_flood_is_a_connection_error(self):
        c = self.connect()
        first = HeadersFrame(1, c.block(request_headers()))
        first.flags.add("END_STREAM")
        frames = [first] + [ContinuationFrame(1, data=c.block([("x-c", "v" * 100)]))
                            for _ in range(10_000)]
        c.send_frames(*frames)
        out = self.goaway_or_close(c)
        self.assertTrue(out.closed or out.goaway is not None)
        self.assertIsNone(out.status(1))
        # nghttp2's CONTINUATION bound is fatal: the connection ends, with no GOAWAY code to
        # check, or with a connection error.
        self.assertIn(out.goaway, (None, PROTOCOL_ERROR, ENHANCE_YOUR_CALM, INTERNAL_ERROR))

    def test_header_block_that_never_ends_is_closed_when_idle(self):
        c = self.connect()
        first = HeadersFrame(1, c.block(request_headers()))
        first.flags.add("END_STREAM")
        c.send_frames(first, ContinuationFrame(1, data=c.block([("x-c", "v")])))
        # Nothing more: the idle deadline (3 s here) must still end the connection.
        out = c.outcome()
        self.assertTrue(out.closed)
        self.assertIsNone(out.status(1))

    def test_other_frame_inside_a_header_block_is_protocol_error(self):
        c = self.connect()
        first = HeadersFrame(1, c.block(request_headers()))
        first.flags.add("END_STREAM")
        c.send_frames(first, PingFrame(0, opaque_data=b"12345678"))
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, PROTOCOL_ERROR)

    def flood(self, frame, count=20_000):
        pid = self.proxy.proc.pid
        before = rss_bytes(pid)
        c = self.connect()
        c.send(frame.serialize() * count)
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, ENHANCE_YOUR_CALM)
        assert_rss_growth_below(self, rss_bytes(pid) - before, 32 * MIB)
        return out

    def test_settings_flood_is_enhance_your_calm(self):
        out = self.flood(SettingsFrame(0))
        self.assertLessEqual(len(out.of(SettingsFrame)), 1100)

    def test_ping_flood_is_enhance_your_calm(self):
        out = self.flood(PingFrame(0, opaque_data=b"abcdefgh"))
        self.assertLessEqual(len(out.of(PingFrame)), 1100)

    def test_empty_data_flood_is_enhance_your_calm(self):
        c = self.connect()
        c.send_frames(c.headers(1, request_headers(method="POST"), end_stream=False))
        c.send(DataFrame(1, b"").serialize() * 5000)
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, ENHANCE_YOUR_CALM)

    def test_pings_from_a_client_that_never_reads(self):
        proxy = start_proxy(self, client_write_timeout_ms=1000)
        pid = proxy.proc.pid
        before = rss_bytes(pid)
        c = RawConnection(proxy.port, preface=False)
        self.addCleanup(c.close)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send(PREFACE + SettingsFrame(0).serialize())
        ping = PingFrame(0, opaque_data=b"abcdefgh").serialize()
        # The ACKs pile up unread. The proxy must stop taking PINGs (its flood guard) and stop
        # writing to a client that does not read (its write deadline), never queue without end.
        c.sock.settimeout(5)  # a send that blocks this long means the proxy stopped reading
        sent = 0
        while sent < 1_000_000 and c.send(ping * 100):
            sent += 100
        self.assertLess(sent, 1_000_000, "the proxy read PINGs without end")
        assert_rss_growth_below(self, rss_bytes(pid) - before, 32 * MIB)
        c.sock.settimeout(START_TIMEOUT)
        out = c.outcome()
        self.assertTrue(out.closed)
        # GOAWAY ENHANCE_YOUR_CALM when it got out before the write deadline; a reset drops
        # what the client had not read yet.
        self.assertIn(out.goaway, (ENHANCE_YOUR_CALM, None))
        self.assertLessEqual(len(out.of(PingFrame)), 1100)
        self.assertEqual(curl(proxy.url + SMALL, "--http2-prior-knowledge").status, 200)

    def test_connection_window_overflow_is_flow_control_error(self):
        c = self.connect()
        # Ours is 65535 + 16 MiB already: this takes it past 2^31 - 1.
        c.send_frames(WindowUpdateFrame(0, window_increment=(1 << 31) - 1))
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, FLOW_CONTROL_ERROR)

    def test_stream_window_overflow_is_a_stream_error(self):
        c = self.connect()
        c.send_frames(c.headers(1, request_headers(method="POST"), end_stream=False),
                      WindowUpdateFrame(1, window_increment=(1 << 31) - 1))
        out = c.outcome(until=lambda f: isinstance(f, (RstStreamFrame, GoAwayFrame)))
        self.assertEqual(out.reset(1), FLOW_CONTROL_ERROR)
        # The connection goes on.
        c.send_frames(c.headers(3, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 3))
        self.assertEqual(out.status(3), "200")
        self.assertEqual(out.body(3), original(SMALL))

    def test_zero_window_increment_is_protocol_error(self):
        c = self.connect()
        c.send_frames(WindowUpdateFrame(0, window_increment=0))
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, PROTOCOL_ERROR)

    def test_data_beyond_the_stream_window_is_flow_control_error(self):
        # The upstream takes the connection and never reads: the body stops being consumed, so
        # the proxy's window for it closes, and the client sends on regardless.
        sink = socket.socket()
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sink.bind(("127.0.0.1", 0))
        sink.listen(8)
        self.addCleanup(sink.close)
        # A body limit past the announced length: a 413 would discard the body at once and
        # reopen the window.
        proxy = start_proxy(self, upstream=f"http://127.0.0.1:{sink.getsockname()[1]}",
                            max_request_body_bytes=4 * GIB)
        c = RawConnection(proxy.port)
        self.addCleanup(c.close)
        c.send_frames(c.headers(1, request_headers(method="POST",
                                                   extra=[("content-length", str(1 << 30))]),
                                end_stream=False))
        chunk = DataFrame(1, b"d" * 16384).serialize()

        def pour():
            for _ in range(2048):  # 32 MiB, far past every window and buffer on the way
                if not c.send(chunk):
                    return

        t = threading.Thread(target=pour, daemon=True)
        t.start()
        out = c.outcome(until=lambda f: isinstance(f, (RstStreamFrame, GoAwayFrame)))
        self.assertTrue(out.reset(1) == FLOW_CONTROL_ERROR or out.goaway == FLOW_CONTROL_ERROR,
                        [repr(f) for f in out.frames])
        c.close()
        t.join(START_TIMEOUT)

    def assert_ignored(self, c, stream, next_stream):
        """nghttp2 ignores a HEADERS on a stream id at or below the last it took, unless it
        knows the stream is closed to the client (its comment: a client may send trailers
        after our RST_STREAM it has not seen yet). RFC 9113 §5.1.1 asks PROTOCOL_ERROR for an
        id going down; what matters here is that nothing answers it and the connection goes on."""
        c.send_frames(c.headers(next_stream, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, next_stream) or isinstance(f, GoAwayFrame))
        self.assertIsNone(out.goaway)
        self.assertEqual(out.of(HeadersFrame, stream), [])
        self.assertEqual(out.status(next_stream), "200")

    def test_stream_id_going_down_is_ignored(self):
        c = self.connect()
        c.send_frames(c.headers(5, request_headers()))
        c.outcome(until=lambda f: c_ended(f, 5))
        c.send_frames(c.headers(3, request_headers()))
        self.assert_ignored(c, 3, 7)

    def test_stream_id_reused_is_ignored(self):
        c = self.connect()
        c.send_frames(c.headers(1, request_headers()))
        c.outcome(until=lambda f: c_ended(f, 1))
        c.send_frames(c.headers(1, request_headers()))
        self.assert_ignored(c, 1, 3)

    def test_headers_flood_on_old_stream_ids_is_enhance_your_calm(self):
        # Ignored HEADERS cost HPACK work and draw no answer: a flood like any control frame's.
        c = self.connect()
        c.send_frames(c.headers(5, request_headers()))
        c.outcome(until=lambda f: c_ended(f, 5))
        c.send(c.headers(3, request_headers()).serialize() * 5000)
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, ENHANCE_YOUR_CALM)

    def test_even_stream_id_is_protocol_error(self):
        c = self.connect()
        c.send_frames(c.headers(2, request_headers()))
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, PROTOCOL_ERROR)

    def test_headers_after_reset_on_a_half_closed_stream(self):
        c = self.connect()
        c.send_frames(c.headers(1, request_headers(method="POST"), end_stream=False),
                      RstStreamFrame(1, error_code=8))
        # A second HEADERS on the stream we reset (trailers, by their place): a closed stream.
        c.send_frames(c.headers(1, [("x-trailer", "t")]))
        c.send_frames(c.headers(3, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 3) or isinstance(f, GoAwayFrame))
        # RFC 9113 §5.1: STREAM_CLOSED, as a stream or a connection error.
        if out.goaway is None:
            self.assertEqual(out.status(3), "200")
        else:
            self.assertIn(out.goaway, (STREAM_CLOSED, PROTOCOL_ERROR))

    def test_huge_dynamic_table_size_update_is_compression_error(self):
        c = self.connect()
        # A size update (001xxxxx) to 2^28 - 1, past the 4096 we advertised.
        update = bytes([0x3F]) + encode_int_tail((1 << 28) - 1 - 31)
        f = HeadersFrame(1, update + c.block(request_headers()))
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        c.send_frames(f)
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, COMPRESSION_ERROR)

    def test_hpack_bomb_counts_decoded_bytes(self):
        pid = self.proxy.proc.pid
        before = rss_bytes(pid)
        c = self.connect()
        big = "b" * 4000
        # One literal that enters the dynamic table (index 62), then 3000 one-byte references
        # to it: 12 MB of fields from 3 KB of block.
        block = c.block(request_headers() + [("x-bomb", big)]) + bytes([0x80 | 62]) * 3000
        f = HeadersFrame(1, block)
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        c.send_frames(f)
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, (GoAwayFrame,
                                                                          RstStreamFrame)))
        self.assertEqual(out.status(1), "431", [repr(f) for f in out.frames])
        assert_rss_growth_below(self, rss_bytes(pid) - before, 32 * MIB)
        # The connection goes on, the HPACK state intact.
        c.send_frames(c.headers(3, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 3) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(3), "200")

    def test_head_under_the_h2_limit_but_over_max_header_bytes_is_431(self):
        c = self.connect()
        # 62 KiB of fields: under 64 KiB counted the HTTP/2 way (+32 a field), over the
        # 60 KiB HTTP/1.1 head the stream's session reads.
        fields = [(f"x-fill-{i}", "f" * 15_800) for i in range(4)]
        block = c.block(request_headers(extra=fields))
        pieces = [block[i:i + 16_000] for i in range(0, len(block), 16_000)]
        first = HeadersFrame(1, pieces[0])
        first.flags.add("END_STREAM")
        rest = [ContinuationFrame(1, data=p) for p in pieces[1:]]
        rest[-1].flags.add("END_HEADERS")
        c.send_frames(first, *rest)
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, (GoAwayFrame,
                                                                          RstStreamFrame)))
        self.assertEqual(out.status(1), "431", [repr(f) for f in out.frames])
        self.assertTrue(out.ended(1))

    def assert_malformed(self, headers, data=None):
        c = self.connect()
        # One write: the frames arrive together, before any answer.
        c.send_frames(c.headers(1, headers, end_stream=data is None), *(data or ()))
        out = c.outcome(until=lambda f: isinstance(f, (RstStreamFrame, GoAwayFrame)) or
                        c_ended(f, 1))
        self.assertEqual(out.reset(1), PROTOCOL_ERROR, [repr(f) for f in out.frames])
        self.assertIsNone(out.status(1))
        c.send_frames(c.headers(3, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 3) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(3), "200")

    def test_uppercase_header_name_is_malformed(self):
        self.assert_malformed(request_headers(extra=[("X-Upper", "1")]))

    def test_connection_header_is_malformed(self):
        self.assert_malformed(request_headers(extra=[("connection", "keep-alive")]))

    def test_transfer_encoding_is_malformed(self):
        self.assert_malformed(request_headers(method="POST",
                                              extra=[("transfer-encoding", "chunked")]),
                              data=[DataFrame(1, b"0\r\n\r\n", flags=["END_STREAM"])])

    def test_te_other_than_trailers_is_malformed(self):
        self.assert_malformed(request_headers(extra=[("te", "gzip")]))

    def test_missing_path_is_malformed(self):
        self.assert_malformed([(":method", "GET"), (":scheme", "http"),
                               (":authority", "abuse.test")])

    def test_content_length_above_the_data_is_malformed(self):
        self.assert_malformed(request_headers(method="POST", extra=[("content-length", "10")]),
                              data=[DataFrame(1, b"12345", flags=["END_STREAM"])])

    def test_content_length_below_the_data_is_malformed(self):
        self.assert_malformed(request_headers(method="POST", extra=[("content-length", "3")]),
                              data=[DataFrame(1, b"12345", flags=["END_STREAM"])])

    def test_early_answer_before_any_body_byte_does_not_pool_the_upstream(self):
        # nginx answers a POST to a static file (405) without waiting for the body: the
        # upstream connection still expects the 10 bytes announced, so it must not be reused.
        c = self.connect()
        c.send_frames(c.headers(1, request_headers(method="POST",
                                                   extra=[("content-length", "10")]),
                                end_stream=False))
        out = c.outcome(until=lambda f: c_ended(f, 1))
        self.assertEqual(out.status(1), "405")
        c.send_frames(DataFrame(1, b"12345", flags=["END_STREAM"]))
        # The same connection, so the same worker and its pool.
        for sid in (3, 5, 7):
            c.send_frames(c.headers(sid, request_headers()))
            out = c.outcome(until=lambda f: c_ended(f, sid))
            self.assertEqual(out.status(sid), "200", out.body(sid)[:200])

    def test_fields_that_would_split_the_http11_head_are_malformed(self):
        # Each would break the HTTP/1.1 request line or a field line the stream's head becomes.
        pseudo = [(":method", "GET"), (":scheme", "http"), (":authority", "abuse.test")]
        cases = {
            "CRLF in :path": pseudo + [(":path", "/x\r\nX-Injected: 1")],
            "space in :path": pseudo + [(":path", f"{SMALL} HTTP/1.1")],
            "tab in :path": pseudo + [(":path", "/a\tb")],
            ":path not origin-form": pseudo + [(":path", "http://evil.test/")],
            "CRLF in :method": [(":method", "GET / HTTP/1.1\r\nX:"), (":scheme", "http"),
                                (":authority", "a"), (":path", "/")],
            "CRLF in :authority": [(":method", "GET"), (":scheme", "http"),
                                   (":authority", "a\r\nX-Injected: 1"), (":path", "/")],
            "CRLF in a value": request_headers(extra=[("x-v", "a\r\nX-Injected: 1")]),
            "NUL in a value": request_headers(extra=[("x-v", "a\x00b")]),
            "leading space in a value": request_headers(extra=[("x-v", " v")]),
            "colon in a name": request_headers(extra=[("x:y", "v")]),
            "space in a name": request_headers(extra=[("x y", "v")]),
            "empty name": request_headers(extra=[("", "v")]),
            "two content-lengths": request_headers(method="POST", extra=[
                ("content-length", "1"), ("content-length", "2")]),
            "content-length list": request_headers(method="POST",
                                                   extra=[("content-length", "1, 1")]),
            "upgrade": request_headers(extra=[("upgrade", "websocket")]),
            "extended CONNECT, not offered": [(":method", "CONNECT"), (":protocol", "websocket"),
                                              (":scheme", "http"), (":path", "/"),
                                              (":authority", "a")],
        }
        for name, fields in cases.items():
            with self.subTest(name):
                self.assert_malformed(fields)

    def test_oversized_trailers_end_the_stream_and_not_the_connection(self):
        c = self.connect()
        # Encoded in the order sent: the server's HPACK table follows the wire.
        head = c.headers(1, request_headers(method="POST"), end_stream=False)
        trailer = c.block([(f"x-t-{i}", "t" * 15_000) for i in range(5)])
        pieces = [trailer[i:i + 16_000] for i in range(0, len(trailer), 16_000)]
        first = HeadersFrame(1, pieces[0])
        first.flags.add("END_STREAM")
        rest = [ContinuationFrame(1, data=p) for p in pieces[1:]]
        rest[-1].flags.add("END_HEADERS")
        c.send_frames(head, DataFrame(1, b"body"), first, *rest)
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, GoAwayFrame))
        self.assertIsNone(out.goaway)
        # nginx may answer the POST (405) before the trailers are read; else they get 431.
        self.assertIn(out.status(1), ("405", "431"))
        c.send_frames(c.headers(3, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 3) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(3), "200")

    def test_invalid_settings_are_connection_errors(self):
        cases = {
            "INITIAL_WINDOW_SIZE past 2^31-1": ({0x4: 1 << 31}, FLOW_CONTROL_ERROR),
            "MAX_FRAME_SIZE below 16384": ({0x5: 100}, PROTOCOL_ERROR),
            "ENABLE_PUSH 2": ({0x2: 2}, PROTOCOL_ERROR),
        }
        for name, (settings, code) in cases.items():
            with self.subTest(name):
                c = self.connect()
                c.send_frames(SettingsFrame(0, settings=settings))
                out = self.goaway_or_close(c)
                self.assertEqual(out.goaway, code)

    def test_data_on_stream_zero_or_an_idle_stream_is_protocol_error(self):
        for stream in (0, 9):
            with self.subTest(stream=stream):
                c = self.connect()
                raw = DataFrame(1, b"x").serialize()
                c.send(raw[:5] + struct.pack(">I", stream) + raw[9:])
                out = self.goaway_or_close(c)
                self.assertEqual(out.goaway, PROTOCOL_ERROR)

    def test_padding_only_data_gives_the_window_back(self):
        # Padding counts against flow control and carries nothing the session consumes: the
        # window must reopen anyway, or a client that obeys it stalls.
        sink = DiscardingUpstream()
        self.addCleanup(sink.stop)
        proxy = start_proxy(self, upstream=f"http://127.0.0.1:{sink.port}")
        c = RawConnection(proxy.port)
        self.addCleanup(c.close)
        c.send_frames(c.headers(1, request_headers(method="POST"), end_stream=False))
        padded = DataFrame(1, b"", flags=["PADDED"], pad_length=255)  # 256 bytes of window
        windows, sent, total = {0: 65535, 1: 65535}, 0, 4 * MIB
        while sent < total:
            while min(windows.values()) >= 256 and sent < total:
                c.send_frames(padded)
                windows[0] -= 256
                windows[1] -= 256
                sent += 256
            if sent >= total:
                break
            f = c.frame()
            self.assertIsNotNone(f, "closed while the client obeyed the window")
            self.assertFalse(c_ended(f, 1), repr(f))
            if isinstance(f, SettingsFrame) and "ACK" not in f.flags:
                c.send_frames(SettingsFrame(0, flags=["ACK"]))
            if isinstance(f, WindowUpdateFrame):
                windows[f.stream_id] += f.window_increment
        c.send_frames(DataFrame(1, b"", flags=["END_STREAM"]))
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(1), "200")
        self.assertEqual(out.body(1), b"0")

    def test_connect_is_refused_with_an_answer(self):
        c = self.connect()
        c.send_frames(c.headers(1, [(":method", "CONNECT"), (":authority", "example.com:443")],
                                end_stream=False))
        out = c.outcome(until=lambda f: c_ended(f, 1) or
                        isinstance(f, (RstStreamFrame, GoAwayFrame)))
        self.assertIsNone(out.goaway)
        # No tunnel: an error status, or the stream refused.
        st = out.status(1)
        self.assertTrue((st is not None and st[0] in "45") or out.reset(1) is not None,
                        [repr(f) for f in out.frames])
        self.assertNotEqual(st, "200")

    def test_preface_then_garbage_is_protocol_error(self):
        c = self.connect(preface=False)
        c.send(PREFACE + b"\x00\x00\x04\x09\x00\x00\x00\x00\x01garbage-garbage-garbage")
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, PROTOCOL_ERROR)

    def test_oversized_frame_is_frame_size_error(self):
        c = self.connect()
        f = HeadersFrame(1, c.block(request_headers()))
        f.flags.add("END_HEADERS")
        f.flags.add("END_STREAM")
        payload = f.serialize()[9:] + b"\x00" * 20_000
        c.send(struct.pack(">I", len(payload))[1:] + b"\x01\x05\x00\x00\x00\x01" + payload)
        out = self.goaway_or_close(c)
        self.assertEqual(out.goaway, FRAME_SIZE_ERROR)

    def test_preface_split_into_one_byte_writes(self):
        c = self.connect(preface=False)
        first = PREFACE + SettingsFrame(0).serialize()
        for i in range(len(first)):
            c.send(first[i:i + 1])
        c.send_frames(c.headers(1, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(1), "200")
        self.assertEqual(out.body(1), original(SMALL))

    def test_preface_prefix_then_silence_is_closed(self):
        proxy = start_proxy(self, client_header_timeout_ms=500)
        c = RawConnection(proxy.port, preface=False)
        self.addCleanup(c.close)
        c.send(PREFACE[:10])
        self.assertTrue(c.outcome().closed)

    def test_many_connections_each_with_100_streams(self):
        errors, ok = [], []

        def client():
            try:
                h = H2Client(self.proxy.port)
                try:
                    sids = [h.request(SMALL) for _ in range(100)]
                    if not h.until(lambda: all(h.finished(s) for s in sids)):
                        errors.append("connection ended early")
                    for s in sids:
                        st = h.streams[s]
                        status = (st["headers"] or {}).get(":status")
                        # nginx here takes 256 connections: past them the proxy answers 502.
                        if not st["ended"] or status not in ("200", "502"):
                            errors.append(f"stream {s}: reset {st['reset']} status {status}")
                        elif status == "200":
                            ok.append(bytes(st["body"]) == original(SMALL))
                finally:
                    h.close()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))

        # Three rounds: the first two may leave the allocator's caches grown (about 140 MiB
        # here, then up to 20 MiB a round as they settle), a third must not add a stream's
        # buffers for each of its 1600 streams (a leaked pipe or queue would: 100 MiB and up);
        # the peak stays within a per-stream bound.
        pid = self.proxy.proc.pid
        before = rss_bytes(pid)
        after = []
        for _ in range(3):
            sampler = RssSampler(pid)
            threads = [threading.Thread(target=client) for _ in range(16)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            self.assertEqual(errors, [])
            self.assertTrue(ok)
            self.assertTrue(all(ok))
            sampler.growth()
            # 1600 exchanges at once, each with its pipe, its queue and its session's buffers.
            assert_rss_growth_below(self, sampler.peak - before, 1600 * 256 * 1024)
            after.append(rss_bytes(pid))
        assert_rss_growth_below(self, after[2] - after[1], 64 * MIB)


def c_ended(frame, stream):
    return (isinstance(frame, (DataFrame, HeadersFrame)) and frame.stream_id == stream and
            "END_STREAM" in frame.flags) or (isinstance(frame, RstStreamFrame) and
                                             frame.stream_id == stream)


GIB = 1 << 30


class RssSampler:
    """The proxy's peak resident memory while something runs, sampled in a thread."""

    def __init__(self, pid):
        self.pid = pid
        self.base = rss_bytes(pid)
        self.peak = self.base
        self.samples = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.wait(0.02):
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
                self.samples += 1
            except (OSError, AssertionError):
                return  # the proxy is gone (a failed test's cleanup stopped it)

    def growth(self):
        self.stop.set()
        self.thread.join()
        return self.peak - self.base


class DiscardingUpstream:
    """An HTTP/1.1 upstream that reads each request body to its Content-Length (or last
    chunk), drops it, and answers 200 with the byte count."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def stop(self):
        self.listener.close()

    def accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        with conn:
            buf = bytearray()
            while b"\r\n\r\n" not in buf:
                more = conn.recv(65536)
                if not more:
                    return
                buf += more
            head, _, rest = bytes(buf).partition(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
            fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
            if b"content-length" in fields:
                left = int(fields[b"content-length"]) - len(rest)
                total = len(rest)
                while left > 0:
                    more = conn.recv(1 << 20)
                    if not more:
                        return
                    left -= len(more)
                    total += len(more)
            else:
                total = self.read_chunked(conn, bytearray(rest))
                if total is None:
                    return
            body = str(total).encode()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                         str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)

    @staticmethod
    def read_chunked(conn, buf):
        total = 0
        while True:
            while b"\r\n" not in buf:
                more = conn.recv(1 << 20)
                if not more:
                    return None
                buf += more
            line, _, rest = bytes(buf).partition(b"\r\n")
            size = int(line.split(b";")[0], 16)
            buf = bytearray(rest)
            while len(buf) < size + 2:
                more = conn.recv(1 << 20)
                if not more:
                    return None
                buf += more
            del buf[:size + 2]
            total += size
            if size == 0:
                return total


class Http2ShutWindows(unittest.TestCase):
    def test_a_whole_response_queued_behind_a_shut_window_is_reset(self):
        # github_events.json (65132 bytes) fits the stream's queue at once: no send waits, yet
        # the client's zero window must not hold the stream (and the connection) forever.
        proxy = start_proxy(self, client_write_timeout_ms=1000)
        c = RawConnection(proxy.port, preface=False)
        self.addCleanup(c.close)
        c.send(PREFACE + SettingsFrame(0, settings={0x4: 0}).serialize())
        c.send_frames(c.headers(1, request_headers()))
        out = c.outcome(until=lambda f: c_ended(f, 1) or isinstance(f, GoAwayFrame))
        self.assertEqual(out.status(1), "200")
        self.assertEqual(out.reset(1), INTERNAL_ERROR)
        self.assertEqual(out.of(DataFrame, 1), [])
        self.assertEqual(proxy.metrics()["bfast_http2_streams_open"], 0)

    def test_many_streams_with_shut_windows_hold_bounded_memory(self):
        # Clients that open every stream with a zero window: each response fills its stream's
        # queue and pipe, then its write deadline resets it.
        proxy = start_proxy(self, client_write_timeout_ms=2000)
        sampler = RssSampler(proxy.proc.pid)
        conns = []
        for _ in range(4):
            c = RawConnection(proxy.port, preface=False)
            self.addCleanup(c.close)
            c.send(PREFACE + SettingsFrame(0, settings={0x4: 0}).serialize())
            c.send_frames(*(c.headers(2 * i + 1, request_headers("/realworld/twitter.json"))
                            for i in range(100)))
            conns.append(c)
        for c in conns:
            # Streams are reset in the order their responses came, which is not their ids'.
            reset = set()

            def all_reset(f):
                if isinstance(f, RstStreamFrame):
                    reset.add(f.stream_id)
                return len(reset) == 100
            out = c.outcome(until=all_reset)
            self.assertFalse(out.closed)
            self.assertEqual(len(out.of(RstStreamFrame)), 100)
            self.assertEqual(out.of(DataFrame), [])
        growth = sampler.growth()
        assert_rss_growth_below(self, growth, 150 * MIB)
        self.assertEqual(curl(proxy.url + SMALL, "--http2-prior-knowledge").status, 200)


class Http2Volume(unittest.TestCase):
    """A gigabyte each way through one stream: the proxy's memory must stay flat, whatever the
    transfer's speed (sampled during it, never timed)."""

    def test_one_gigabyte_response_streams_with_flat_memory(self):
        port = free_port()
        # Its own directory: nginx's workers may run as nobody, and the harness's is private.
        root = tempfile.mkdtemp(prefix="bfast-h2-big-")
        self.addCleanup(shutil.rmtree, root, True)
        os.chmod(root, 0o755)
        # A sparse file: a gigabyte of zeros that costs no disk.
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.truncate(GIB)
        os.chmod(os.path.join(root, "big.bin"), 0o644)

        def big_server(_):
            return f"server {{ listen 127.0.0.1:{port}; root {root}; }}"

        big = Nginx(more_http=big_server)
        self.addCleanup(big.stop)
        proxy = start_proxy(self, upstream=f"http://127.0.0.1:{port}")
        sampler = RssSampler(proxy.proc.pid)
        p = subprocess.run(["curl", "-s", "-o", "/dev/null", "--http2-prior-knowledge",
                            "-w", "%{http_code} %{http_version} %{size_download}",
                            proxy.url + "/big.bin"], capture_output=True, text=True,
                           timeout=600)
        growth = sampler.growth()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["200", "2", str(GIB)])
        self.assertGreater(sampler.samples, 0)
        assert_rss_growth_below(self, growth, 150 * MIB)

    def test_half_gigabyte_upload_streams_with_flat_memory(self):
        sink = DiscardingUpstream()
        self.addCleanup(sink.stop)
        proxy = start_proxy(self, upstream=f"http://127.0.0.1:{sink.port}",
                            max_request_body_bytes=GIB)
        size = GIB // 2
        path = os.path.join(proxy.dir, "upload.bin")
        with open(path, "wb") as f:
            f.truncate(size)
        sampler = RssSampler(proxy.proc.pid)
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-T", path,
                            "-w", " %{http_code} %{http_version}", proxy.url + "/sink"],
                           capture_output=True, text=True, timeout=600)
        growth = sampler.growth()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), [str(size), "200", "2"])
        self.assertGreater(sampler.samples, 0)
        assert_rss_growth_below(self, growth, 150 * MIB)


def encode_int_tail(rest):
    """The continuation bytes of an HPACK integer whose prefix is full (RFC 7541 §5.1)."""
    out = bytearray()
    while rest >= 128:
        out.append((rest & 0x7F) | 0x80)
        rest >>= 7
    out.append(rest)
    return bytes(out)


if __name__ == "__main__":
    unittest.main()
