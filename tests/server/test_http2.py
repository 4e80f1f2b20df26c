"""HTTP/2 for clients: h2c with prior knowledge on the cleartext listener and h2 by ALPN on the
TLS one, each stream one exchange through the same filter as HTTP/1.1 (the upstream stays
HTTP/1.1). curl for the plain exchanges, the h2 library (python3-h2) for what curl cannot do:
many streams on one connection, a stream whose client stops reading, resets, huge headers and
tiny windows."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

import h2.config
import h2.connection
import h2.events
import h2.settings
from hyperframe.frame import DataFrame, Frame, GoAwayFrame, WindowUpdateFrame

from harness import BFAST, CORPUS, START_TIMEOUT, Nginx, Proxy, curl, oracle_checks, wait_for
from scripted_upstream import ScriptedUpstream
from test_reload import base_config
from tls_certs import Certificates

TWITTER = "/realworld/twitter.json"
SMALL = "/realworld/github_events.json"
# Client hints that make the policy choose B-FAST whatever TCP_INFO says.
SLOW_LINK = ("-H", "RTT: 300", "-H", "Downlink: 1.6")
SLOW_LINK_H2 = [("rtt", "300"), ("downlink", "1.6")]
INTERNAL_ERROR = 2
REFUSED_STREAM = 7
ENHANCE_YOUR_CALM = 11


def setUpModule():
    global nginx
    nginx = Nginx()


def tearDownModule():
    nginx.stop()


def original(path):
    with open(CORPUS + path, "rb") as f:
        return f.read()


def start_proxy(test, **config):
    proxy = Proxy(None, config=base_config(f"http://127.0.0.1:{nginx.port}", **config))
    test.addCleanup(proxy.stop)
    return proxy


def curl_version(url, *args):
    """curl's HTTP version for one request (-w %{http_version}) and its exit code."""
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_version}", "--max-time",
                        "60", *args, url], capture_output=True, text=True)
    return p.stdout, p.returncode


class H2Client:
    """One HTTP/2 connection with prior knowledge, driven event by event."""

    def __init__(self, port, settings=None, connection_window=16 << 20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT)
        config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=config)
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        # A large connection window, so that a stream left unread does not stall the others.
        self.conn.increment_flow_control_window(connection_window)
        self.flush()
        self.streams = {}
        self.unread = set()  # streams whose data is not acknowledged (their window stays shut)
        self.goaway = None
        self.closed = False

    def close(self):
        self.sock.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, headers=(), method="GET", authority="h2.test", body=None):
        """Opens a stream; a body goes out in DATA frames as the proxy's window allows."""
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", method), (":scheme", "http"),
                                     (":authority", authority), (":path", path), *headers],
                               end_stream=body is None)
        self.streams[sid] = {"headers": None, "interim": [], "body": bytearray(), "ended": False,
                             "reset": None}
        self.flush()
        if body is not None:
            sent = 0
            while sent < len(body):
                room = min(self.conn.local_flow_control_window(sid),
                           self.conn.max_outbound_frame_size, len(body) - sent)
                if room == 0:
                    if not self.pump():
                        break
                    continue
                self.conn.send_data(sid, body[sent:sent + room])
                self.flush()
                sent += room
            self.conn.end_stream(sid)
            self.flush()
        return sid

    def pump(self):
        """Reads once and handles what came; False when the connection closed."""
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            data = b""
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(data):
            s = self.streams.get(getattr(ev, "stream_id", None) or 0)
            if isinstance(ev, h2.events.ResponseReceived):
                s["headers"] = dict(ev.headers)
            elif isinstance(ev, h2.events.InformationalResponseReceived):
                s["interim"].append(dict(ev.headers))
            elif isinstance(ev, h2.events.DataReceived):
                s["body"] += ev.data
                if ev.stream_id in self.unread:
                    # Only the connection's window: the stream's stays shut.
                    self.conn.increment_flow_control_window(ev.flow_controlled_length)
                elif ev.flow_controlled_length:
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                s["ended"] = True
            elif isinstance(ev, h2.events.StreamReset):
                if s is not None:
                    s["reset"] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev.error_code
        self.flush()
        return True

    def until(self, done):
        while not done():
            if not self.pump():
                break
        return done()

    def finished(self, sid):
        s = self.streams[sid]
        return s["ended"] or s["reset"] is not None


def scripted(test, **config):
    """The scripted upstream, a proxy in front of it and one HTTP/2 connection to the proxy."""
    upstream = ScriptedUpstream()
    test.addCleanup(upstream.stop)
    proxy = Proxy(None, config=base_config(f"http://127.0.0.1:{upstream.port}", **config))
    test.addCleanup(proxy.stop)
    client = H2Client(proxy.port)
    test.addCleanup(client.close)
    return upstream, proxy, client


class Http2Cleartext(unittest.TestCase):
    def setUp(self):
        self.proxy = start_proxy(self)

    def get(self, path, *args):
        return curl(self.proxy.url + path, "--http2-prior-knowledge", *args)

    def test_pass_through_is_byte_identical(self):
        r = self.get(TWITTER)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))
        self.assertEqual(curl_version(self.proxy.url + TWITTER, "--http2-prior-knowledge")[0], "2")

    def test_bfast_decodes_in_both_oracles(self):
        r = self.get(TWITTER, *BFAST, *SLOW_LINK)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/x-bfast")
        self.assertTrue(r.header("bfast-status").startswith("transcoded"))
        self.assertEqual(oracle_checks(CORPUS + TWITTER, r.body), [])

    def test_not_modified_and_head(self):
        first = self.get(TWITTER, *BFAST, *SLOW_LINK)
        etag = first.header("etag")
        self.assertTrue(etag)
        again = self.get(TWITTER, *BFAST, *SLOW_LINK, "-H", f"If-None-Match: {etag}")
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        head = curl(self.proxy.url + TWITTER, "--http2-prior-knowledge", *BFAST, *SLOW_LINK,
                    head=True)
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("content-length"), first.header("content-length"))
        self.assertEqual(head.header("etag"), etag)

    def test_http11_still_served_on_the_same_listener(self):
        r = curl(self.proxy.url + SMALL)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(SMALL))
        self.assertEqual(curl_version(self.proxy.url + SMALL)[0], "1.1")

    def test_request_body_reaches_the_upstream(self):
        # nginx answers a POST to a static file with 405: the body went up and the answer back.
        r = curl(self.proxy.url + SMALL, "--http2-prior-knowledge", data=b"x" * 100_000)
        self.assertEqual(r.exit_code, 0)
        self.assertEqual(r.status, 405)

    def test_many_concurrent_streams_with_mixed_representations(self):
        c = H2Client(self.proxy.port)
        self.addCleanup(c.close)
        sids = []
        for i in range(100):
            headers = [("accept", "application/x-bfast"), *SLOW_LINK_H2] if i % 2 else []
            sids.append((c.request(SMALL, headers), bool(i % 2)))
        self.assertTrue(c.until(lambda: all(c.finished(s) for s, _ in sids)))
        plain = original(SMALL)
        for sid, bfast in sids:
            s = c.streams[sid]
            self.assertTrue(s["ended"], f"stream {sid}: reset {s['reset']}")
            self.assertEqual(s["headers"][":status"], "200")
            if bfast:
                self.assertEqual(s["headers"]["content-type"], "application/x-bfast")
            else:
                self.assertEqual(bytes(s["body"]), plain)
        self.assertEqual(oracle_checks(CORPUS + SMALL, bytes(c.streams[sids[1][0]]["body"])), [])
        m = self.proxy.metrics()
        self.assertGreaterEqual(m["bfast_http2_streams_total"], 100)
        self.assertEqual(m["bfast_http2_connections_open"], 1)
        c.close()

    def test_one_byte_window(self):
        c = H2Client(self.proxy.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1})
        self.addCleanup(c.close)
        path = "/jsontestsuite/i_structure_500_nested_arrays.json"
        sid = c.request(path)
        self.assertTrue(c.until(lambda: c.finished(sid)))
        self.assertTrue(c.streams[sid]["ended"])
        self.assertEqual(bytes(c.streams[sid]["body"]), original(path))

    def test_oversized_headers_get_431_or_reset(self):
        c = H2Client(self.proxy.port)
        self.addCleanup(c.close)
        sid = c.request(SMALL, [("x-big", "a" * 100_000)])
        c.until(lambda: c.finished(sid) or c.goaway is not None)
        s = c.streams[sid]
        self.assertTrue(s["reset"] is not None or (s["headers"] or {}).get(":status") == "431",
                        s)
        # The connection still serves the next stream.
        if c.goaway is None and not c.closed:
            ok = c.request(SMALL)
            self.assertTrue(c.until(lambda: c.finished(ok)))
            self.assertEqual(bytes(c.streams[ok]["body"]), original(SMALL))

    def test_rapid_reset_ends_with_goaway(self):
        c = H2Client(self.proxy.port)
        self.addCleanup(c.close)
        try:
            for _ in range(400):
                sid = c.request(TWITTER)
                c.conn.reset_stream(sid)
                c.flush()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the proxy closed after its GOAWAY
        c.until(lambda: c.goaway is not None)
        self.assertEqual(c.goaway, ENHANCE_YOUR_CALM)
        m = self.proxy.metrics()
        self.assertGreaterEqual(m['bfast_http2_goaway_total{code="ENHANCE_YOUR_CALM"}'], 1)
        self.assertGreaterEqual(
            m['bfast_http2_resets_total{direction="received",code="NO_ERROR"}'], 250)


class Http2Scripted(unittest.TestCase):
    """Against the scripted upstream: what the upstream sees, and what it does wrong."""

    def setUp(self):
        self.upstream, self.proxy, self.c = scripted(self)

    def fetch(self, path, **kw):
        sid = self.c.request(path, **kw)
        self.assertTrue(self.c.until(lambda: self.c.finished(sid)))
        return self.c.streams[sid]

    def test_request_head_becomes_http11(self):
        s = self.fetch("/headers", authority="api.test:8080",
                       headers=[("cookie", "a=1"), ("cookie", "b=2"), ("te", "trailers"),
                                ("x-custom", "v")])
        seen = json.loads(bytes(s["body"]))
        self.assertEqual(seen["host"], ["api.test:8080"])
        self.assertEqual(seen["cookie"], ["a=1; b=2"])
        self.assertEqual(seen["x-custom"], ["v"])
        self.assertNotIn("te", seen)
        self.assertEqual(seen["x-forwarded-proto"], ["http"])

    def test_body_without_length_is_relayed_whole(self):
        body = bytes(range(256)) * 1000  # past the stream window and the pipe: flow control
        s = self.fetch("/echo", method="POST", body=body,
                       headers=[("content-type", "application/octet-stream")])
        self.assertTrue(s["ended"], s["reset"])
        self.assertEqual(s["headers"][":status"], "200")
        self.assertEqual(bytes(s["body"]), body)

    def test_chunked_upstream_response(self):
        s = self.fetch("/chunked-json")
        self.assertTrue(s["ended"])
        self.assertTrue(json.loads(bytes(s["body"]))["items"])

    def test_expect_continue_gets_100_before_the_body(self):
        c = self.c
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                                  (":authority", "h2.test"), (":path", "/echo"),
                                  ("expect", "100-continue"), ("content-length", "5"),
                                  ("content-type", "text/plain")])
        c.streams[sid] = {"headers": None, "interim": [], "body": bytearray(), "ended": False,
                          "reset": None}
        c.flush()
        # The client holds its body until the 100: without it, this would wait forever.
        self.assertTrue(c.until(lambda: c.streams[sid]["interim"] or c.finished(sid)))
        self.assertEqual(c.streams[sid]["interim"][0][":status"], "100")
        self.assertIsNone(c.streams[sid]["headers"])
        c.conn.send_data(sid, b"hello", end_stream=True)
        c.flush()
        self.assertTrue(c.until(lambda: c.finished(sid)))
        s = c.streams[sid]
        self.assertEqual(s["headers"][":status"], "200")
        self.assertEqual(bytes(s["body"]), b"hello")

    def test_connect_gets_405_as_over_http11(self):
        c = self.c
        # python3-h2 would refuse to send a CONNECT, which has no :path.
        c.conn.config.validate_outbound_headers = False
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "CONNECT"), (":authority", "api.test:443")],
                            end_stream=True)
        c.streams[sid] = {"headers": None, "interim": [], "body": bytearray(), "ended": False,
                          "reset": None}
        c.flush()
        self.assertTrue(c.until(lambda: c.finished(sid)))
        self.assertEqual(c.streams[sid]["headers"][":status"], "405")
        self.assertEqual(self.upstream.requests, [])

    def test_truncated_upstream_body_is_a_reset_never_an_end(self):
        s = self.fetch("/reset-mid-body")
        self.assertFalse(s["ended"])
        self.assertEqual(s["reset"], INTERNAL_ERROR)
        # The connection goes on.
        ok = self.fetch("/chunked-json")
        self.assertTrue(ok["ended"])


class Http2Idle(unittest.TestCase):
    def test_idle_connection_gets_goaway_and_is_closed(self):
        proxy = start_proxy(self, keepalive_idle_timeout_ms=200)
        c = H2Client(proxy.port)
        self.addCleanup(c.close)
        sid = c.request(SMALL)
        self.assertTrue(c.until(lambda: c.finished(sid)))
        self.assertTrue(c.until(lambda: c.goaway is not None))
        self.assertEqual(c.goaway, 0)
        c.until(lambda: c.closed)
        self.assertTrue(c.closed)


class Http2SlowReader(unittest.TestCase):
    def test_slow_stream_does_not_stall_the_others_and_is_reset(self):
        proxy = start_proxy(self, client_write_timeout_ms=1000)
        c = H2Client(proxy.port)
        self.addCleanup(c.close)
        slow = c.request(TWITTER)
        c.unread.add(slow)
        # The slow stream's window (64 KiB) fills first; the fast ones run beside it.
        c.until(lambda: len(c.streams[slow]["body"]) >= 65535)
        fast = [c.request(TWITTER) for _ in range(4)]
        self.assertTrue(c.until(lambda: all(c.finished(s) for s in fast)))
        for sid in fast:
            self.assertTrue(c.streams[sid]["ended"])
            self.assertEqual(bytes(c.streams[sid]["body"]), original(TWITTER))
        # Never a clean end for the stalled one: its write deadline resets it.
        self.assertTrue(c.until(lambda: c.finished(slow)))
        self.assertFalse(c.streams[slow]["ended"])
        self.assertIsNotNone(c.streams[slow]["reset"])
        m = proxy.metrics()
        self.assertGreaterEqual(
            m['bfast_http2_resets_total{direction="sent",code="INTERNAL_ERROR"}'], 1)
        self.assertEqual(m["bfast_http2_streams_open"], 0)


class Http2Limits(unittest.TestCase):
    def test_streams_count_with_connections_toward_max_connections(self):
        # The HTTP/2 connection and two streams in flight make three.
        upstream, proxy, c = scripted(self, max_connections=3)
        held = [c.request("/slow-headers") for _ in range(2)]
        wait_for(lambda: len(upstream.requests) == 2, "two streams at the upstream")
        refused = c.request(SMALL)
        self.assertTrue(c.until(lambda: c.finished(refused)))
        self.assertEqual(c.streams[refused]["reset"], REFUSED_STREAM)
        # A new connection is closed at once as well.
        self.assertNotEqual(curl_version(proxy.url + SMALL)[1], 0)
        m = proxy.metrics()
        self.assertEqual(m["bfast_http2_streams_refused_total"], 1)
        self.assertEqual(m["bfast_connections_refused_total"], 1)
        self.assertEqual(m["bfast_http2_streams_open"], 2)
        # Once the held streams end, streams are taken again.
        for sid in held:
            c.conn.reset_stream(sid)
        c.flush()
        wait_for(lambda: proxy.metrics()["bfast_http2_streams_open"] == 0, "the streams closed")
        ok = c.request(SMALL, authority="h2.test")
        self.assertTrue(c.until(lambda: c.finished(ok)))
        self.assertEqual(c.streams[ok]["headers"][":status"], "404")


class Http2ResetWhileWaiting(unittest.TestCase):
    def test_a_reset_stream_lets_go_of_its_upstream_at_once(self):
        upstream, proxy, c = scripted(self, upstream_header_timeout_ms=120_000)
        sids = [c.request("/slow-headers") for _ in range(10)]
        wait_for(lambda: len(upstream.held) == 10, "ten requests held at the upstream")
        for sid in sids:
            c.conn.reset_stream(sid)
        c.flush()
        # Each upstream connection closes now, not at the header deadline two minutes away.
        for conn in upstream.held:
            conn.settimeout(START_TIMEOUT)
            try:
                self.assertEqual(conn.recv(1), b"")
            except ConnectionResetError:
                pass
        m = proxy.metrics()
        self.assertEqual(sum(v for k, v in m.items()
                             if k.startswith("bfast_upstream_errors_total")), 0)
        self.assertEqual(m["bfast_http2_streams_open"], 0)
        # The connection still serves.
        ok = c.request("/chunked-json")
        self.assertTrue(c.until(lambda: c.finished(ok)))
        self.assertTrue(c.streams[ok]["ended"])


class Http2AccessLog(unittest.TestCase):
    def test_the_line_names_the_protocol(self):
        log_dir = tempfile.mkdtemp(prefix="bfast-h2-log-")
        self.addCleanup(shutil.rmtree, log_dir, True)
        path = os.path.join(log_dir, "access.log")
        with open(path, "w") as log:
            proxy = Proxy(None, config=base_config(f"http://127.0.0.1:{nginx.port}",
                                                   access_log=True), stdout=log)
        self.addCleanup(proxy.stop)
        self.assertEqual(curl(proxy.url + SMALL + "?v=2", "--http2-prior-knowledge").status, 200)
        self.assertEqual(curl(proxy.url + SMALL + "?v=1.1").status, 200)
        self.assertEqual(curl(proxy.url + SMALL + "?v=1.0", "--http1.0").status, 200)

        def entries():
            with open(path) as f:
                return {e["target"]: e for e in map(json.loads, f)}
        wait_for(lambda: len(entries()) == 3, "three access log lines")
        protocols = {t: e["protocol"] for t, e in entries().items()}
        self.assertEqual(protocols, {SMALL + "?v=2": "HTTP/2.0", SMALL + "?v=1.1": "HTTP/1.1",
                                     SMALL + "?v=1.0": "HTTP/1.0"})


class Http2ManyUnread(unittest.TestCase):
    def test_a_client_acknowledging_every_frame_of_full_streams_is_not_a_flood(self):
        """Every stream window full, and the client still acknowledging the backlog on the
        connection's window: many WINDOW_UPDATEs while no DATA can go out, which is legitimate."""
        proxy = start_proxy(self)
        c = H2Client(proxy.port)
        self.addCleanup(c.close)
        sids = [c.request(TWITTER) for _ in range(100)]
        c.unread.update(sids)
        self.assertTrue(c.until(lambda: all(len(c.streams[s]["body"]) >= 65535 for s in sids)))
        self.assertIsNone(c.goaway)
        # Then the streams are read: each finishes whole.
        c.unread.clear()
        for sid in sids:
            c.conn.increment_flow_control_window(1 << 24, sid)
        c.flush()
        self.assertTrue(c.until(lambda: all(c.finished(s) for s in sids)))
        for sid in sids:
            self.assertTrue(c.streams[sid]["ended"], c.streams[sid]["reset"])
            self.assertEqual(bytes(c.streams[sid]["body"]), original(TWITTER))
        self.assertNotIn('bfast_http2_goaway_total{code="ENHANCE_YOUR_CALM"}',
                         {k for k, v in proxy.metrics().items() if v})


def raw_frames(sock):
    """The frames that come next, parsed without the client's state machine (python3-h2 takes
    nothing more once a GOAWAY arrived, while the server may still finish streams)."""
    buf = bytearray()

    def fill(n):
        while len(buf) < n:
            more = sock.recv(65536)
            if not more:
                return False
            buf.extend(more)
        return True

    while fill(9):
        frame, length = Frame.parse_frame_header(memoryview(bytes(buf[:9])))
        if not fill(9 + length):
            return
        frame.parse_body(memoryview(bytes(buf[9:9 + length])))
        del buf[:9 + length]
        yield frame


class Http2Drain(unittest.TestCase):
    def test_sigterm_sends_goaway_and_lets_the_stream_in_flight_finish(self):
        proxy = start_proxy(self)
        c = H2Client(proxy.port)
        self.addCleanup(c.close)
        sid = c.request(TWITTER)
        c.unread.add(sid)
        c.until(lambda: len(c.streams[sid]["body"]) >= 65535)
        proxy.proc.terminate()
        body = bytearray(c.streams[sid]["body"])
        goaway, ended = None, False
        for frame in raw_frames(c.sock):
            if isinstance(frame, GoAwayFrame):
                goaway = frame.error_code
                # The stream in flight goes on once its window opens.
                c.sock.sendall(WindowUpdateFrame(sid, window_increment=1 << 30).serialize())
            elif isinstance(frame, DataFrame) and frame.stream_id == sid:
                body += frame.data
                if "END_STREAM" in frame.flags:
                    ended = True
                    break
        self.assertEqual(goaway, 0)
        self.assertTrue(ended)
        self.assertEqual(bytes(body), original(TWITTER))
        self.assertEqual(proxy.proc.wait(timeout=START_TIMEOUT), 0)


class Http2Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = Certificates()

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()

    def start(self, **config):
        return start_proxy(self, tls_certificate=self.certs.server.chain,
                           tls_certificate_key=self.certs.server.key, **config)

    def https(self, proxy, path):
        return f"https://localhost:{proxy.port}{path}"

    def test_h2_by_alpn(self):
        proxy = self.start()
        args = ("--http2", "--cacert", self.certs.ca.cert)
        self.assertEqual(curl_version(self.https(proxy, TWITTER), *args), ("2", 0))
        r = curl(self.https(proxy, TWITTER), *args)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))
        b = curl(self.https(proxy, TWITTER), *args, *BFAST, *SLOW_LINK)
        self.assertEqual(b.header("content-type"), "application/x-bfast")
        self.assertEqual(oracle_checks(CORPUS + TWITTER, b.body), [])
        head = curl(self.https(proxy, TWITTER), *args, *BFAST, *SLOW_LINK, head=True)
        self.assertEqual(head.status, 200)
        self.assertEqual(head.header("etag"), b.header("etag"))
        nm = curl(self.https(proxy, TWITTER), *args, *BFAST, *SLOW_LINK, "-H",
                  f"If-None-Match: {b.header('etag')}")
        self.assertEqual(nm.status, 304)

    def test_the_upstream_is_told_https_over_both_protocols(self):
        upstream = ScriptedUpstream()
        self.addCleanup(upstream.stop)
        proxy = Proxy(None, config=base_config(
            f"http://127.0.0.1:{upstream.port}", tls_certificate=self.certs.server.chain,
            tls_certificate_key=self.certs.server.key))
        self.addCleanup(proxy.stop)
        for version in ("--http2", "--http1.1"):
            r = curl(self.https(proxy, "/headers"), version, "--cacert", self.certs.ca.cert)
            self.assertEqual(r.status, 200, version)
            self.assertEqual(json.loads(r.body)["x-forwarded-proto"], ["https"], version)

    def test_http2_off_serves_http11(self):
        proxy = self.start(http2=False)
        args = ("--http2", "--cacert", self.certs.ca.cert)
        self.assertEqual(curl_version(self.https(proxy, SMALL), *args), ("1.1", 0))
        p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{proxy.port}",
                            "-servername", "localhost", "-CAfile", self.certs.ca.cert,
                            "-alpn", "h2"], input="", capture_output=True, text=True,
                           timeout=START_TIMEOUT)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no application protocol", p.stderr)


class Http2Off(unittest.TestCase):
    def test_prior_knowledge_is_not_http11(self):
        proxy = start_proxy(self, http2=False)
        _, code = curl_version(proxy.url + SMALL, "--http2-prior-knowledge")
        self.assertNotEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
