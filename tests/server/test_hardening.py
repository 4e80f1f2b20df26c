"""Hardening: a misbehaving upstream and hostile clients, byte for byte on raw sockets. Each class
names the rule it covers."""
import json
import resource
import os
import select
import socket
import threading
import time
import unittest

from harness import Proxy, ResponseReader, exchange, raw_request, status_of
from hostile_upstream import EARLY_BODY, JSON, HostileUpstream

GZIP_MAGIC = b"\x1f\x8b"
BOUND = 10  # seconds any single exchange may take before it counts as no answer


def get(path, method="GET", extra=b""):
    return f"{method} {path} HTTP/1.1\r\nHost: a\r\n".encode() + extra + b"\r\n"


class ProxiedUpstream:
    """A fresh hostile upstream and a proxy in front of it, per class (or per test with
    PER_TEST)."""
    PROXY_ARGS = ()
    UPSTREAM_ARGS = {}

    @classmethod
    def start(cls):
        cls.upstream = HostileUpstream(**cls.UPSTREAM_ARGS)
        try:
            cls.proxy = Proxy(cls.upstream.port, "--drain-delay-ms", "0", "--shutdown-timeout-ms", "1000", *cls.PROXY_ARGS)
        except Exception:
            cls.upstream.stop()
            raise

    @classmethod
    def stop(cls):
        cls.proxy.stop()
        cls.upstream.stop()

    @classmethod
    def setUpClass(cls):
        cls.start()

    @classmethod
    def tearDownClass(cls):
        cls.stop()


class PoolPoisoningTest(ProxiedUpstream, unittest.TestCase):
    """Item 1: an upstream connection goes back to the pool only when its response ended exactly
    at its framing and nothing more is readable; an idle pooled connection that turns readable is
    closed. After each poisoning, clients on other connections must each get their own answer."""
    PROXY_ARGS = ("--threads", "1")

    @classmethod
    def setUpClass(cls):
        pass  # one pool per case, so that one poisoned case cannot spill into the next

    @classmethod
    def tearDownClass(cls):
        pass

    def assert_private_answers(self, case):
        for n in range(4):
            path = f"/private/{case}-{n}"
            r = exchange(self.proxy.port, get(path))
            self.assertEqual((r.status, r.body), (200, path.encode()), f"request {n} after {case}")

    def poison_then_ask(self, case, method="GET"):
        for timing in ("", "/late"):
            with self.subTest(extra_bytes="after the response is relayed" if timing else "in the same write"):
                self.start()
                try:
                    exchange(self.proxy.port, get(f"/poison/{case}{timing}", method), head_request=method == "HEAD")
                    if timing:
                        self.upstream.late_go.set()
                        self.assertTrue(self.upstream.late_sent.wait(BOUND))
                    self.assert_private_answers(case + timing.replace("/", "-"))
                finally:
                    self.stop()

    def test_extra_response_after_a_complete_one(self):
        self.poison_then_ask("extra-response")

    def test_body_after_204(self):
        self.poison_then_ask("204")

    def test_body_after_304(self):
        self.poison_then_ask("304")

    def test_body_after_head_response(self):
        self.poison_then_ask("head", "HEAD")

    def test_body_longer_than_content_length(self):
        self.poison_then_ask("long-body-20")

    def test_body_far_longer_than_content_length(self):
        # More than one read of the proxy's buffer: some of it is still in the socket.
        self.poison_then_ask("long-body-1024")


def stream_until_answer(port, first, piece, cap):
    """Sends first, then piece after piece until the server answers, closes, or cap bytes went
    out; then reads one response. Returns the reply and how many bytes were sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=BOUND) as s:
        s.sendall(first)
        sent = len(first)
        while sent + len(piece) <= cap:
            readable, _, _ = select.select([s], [], [], 0)
            if readable:
                break
            try:
                s.sendall(piece)
            except OSError:
                break
            sent += len(piece)
        return ResponseReader(s, BOUND).read(), sent


class UnboundedChunkLineTest(ProxiedUpstream, unittest.TestCase):
    """Item 2: a chunk-size line or trailer section that never ends is refused (400 from a client,
    502 from the upstream) long before megabytes pile up."""
    CAP = 256 * 1024 + 64 * 1024
    PIECE = 16 * 1024
    HEAD = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

    def assert_refused(self, first, piece):
        reply, sent = stream_until_answer(self.proxy.port, first, piece, self.CAP)
        self.assertEqual(reply.status, 400, f"after {sent} bytes sent, {reply.error}")
        self.assertLessEqual(sent, self.CAP)

    def test_endless_chunk_extension_from_client(self):
        self.assert_refused(self.HEAD + b"5;a=", b"b" * self.PIECE)

    def test_endless_trailer_line_from_client(self):
        self.assert_refused(self.HEAD + b"0\r\nX-T: ", b"t" * self.PIECE)

    def test_endless_trailer_section_from_client(self):
        line = b"X-T: t\r\n"
        self.assert_refused(self.HEAD + b"0\r\n", line * (self.PIECE // len(line)))

    def test_endless_chunk_extension_from_upstream(self):
        r = exchange(self.proxy.port, get("/chunk-ext-forever", extra=b"Accept: application/x-bfast\r\n"))
        self.assertEqual(r.status, 502, r.error)

    def test_endless_trailers_from_upstream(self):
        r = exchange(self.proxy.port, get("/trailer-forever", extra=b"Accept: application/x-bfast\r\n"))
        self.assertEqual(r.status, 502, r.error)


class StalePooledConnectionTest(ProxiedUpstream, unittest.TestCase):
    """Item 4: an upstream that closes idle keep-alive connections (Node's keepAliveTimeout) must
    not turn the next non-idempotent request into a 502."""
    PROXY_ARGS = ("--threads", "1")
    UPSTREAM_ARGS = {"keepalive_timeout": 0.3}

    def send_after_upstream_closed(self, method):
        r = exchange(self.proxy.port, get("/private/warm"))
        self.assertEqual(r.status, 200)
        self.assertTrue(self.upstream.idle_closed.get(timeout=BOUND))
        r = exchange(self.proxy.port, get("/echo", method, b"Content-Length: 5\r\n") + b"hello")
        self.assertEqual((r.status, r.body), (200, b"hello"))

    def test_post_after_upstream_closed_idle_connection(self):
        self.send_after_upstream_closed("POST")

    def test_patch_after_upstream_closed_idle_connection(self):
        self.send_after_upstream_closed("PATCH")


class HostValidationTest(ProxiedUpstream, unittest.TestCase):
    """Item 7: RFC 9112 section 3.2: exactly one valid Host on HTTP/1.1; an absolute-form target
    wins over Host; Connection cannot strip Host or the body's framing."""

    def seen(self, data):
        r = exchange(self.proxy.port, data)
        self.assertEqual(r.status, 200, r.body[:200])
        return json.loads(r.body)

    def test_missing_host_is_400(self):
        reply, closed = raw_request(self.proxy.port, b"GET /headers HTTP/1.1\r\n\r\n")
        self.assertEqual(status_of(reply), 400, reply[:200])

    def test_two_hosts_are_400(self):
        reply, _ = raw_request(self.proxy.port, b"GET /headers HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assertEqual(status_of(reply), 400, reply[:200])

    def test_invalid_host_is_400(self):
        for host in (b"a b", b"a/b", b"@x"):
            with self.subTest(host=host):
                reply, _ = raw_request(self.proxy.port, b"GET /headers HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
                self.assertEqual(status_of(reply), 400, reply[:200])

    def test_absolute_form_wins_over_host(self):
        seen = self.seen(b"GET http://right.example/headers HTTP/1.1\r\nHost: wrong\r\n\r\n")
        self.assertEqual(seen.get("host"), ["right.example"])
        self.assertEqual(seen.get("x-forwarded-host"), ["right.example"])

    def test_connection_cannot_strip_host(self):
        seen = self.seen(b"GET /headers HTTP/1.1\r\nHost: a\r\nConnection: Host\r\n\r\n")
        self.assertEqual(seen.get("host"), ["a"])

    def test_connection_cannot_strip_content_length(self):
        seen = self.seen(b"POST /headers HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\n"
                         b"Content-Length: 5\r\n\r\nhello")
        self.assertEqual(seen["_body"], ["hello"])

    def test_connection_cannot_strip_transfer_encoding(self):
        seen = self.seen(b"POST /headers HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        self.assertEqual(seen["_body"], ["hello"])

    def test_http10_without_host_is_fine(self):
        reply, _ = raw_request(self.proxy.port, b"GET /headers HTTP/1.0\r\n\r\n")
        self.assertEqual(status_of(reply), 200, reply[:200])


class BodyIdleTimeoutTest(ProxiedUpstream, unittest.TestCase):
    """Item 8: the client body timeout is an idle timeout, not a deadline per read of 64 KiB."""
    PROXY_ARGS = ("--client-body-idle-timeout-ms", "1000")

    def test_slow_steady_upload_is_forwarded(self):
        body = b"0123456789"
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            s.sendall(get("/echo", "POST", b"Content-Length: %d\r\n" % len(body)))
            sent = 0
            try:
                for i in range(len(body)):
                    time.sleep(0.3)  # the test's own pacing: one byte, well inside the idle timeout
                    s.sendall(body[i:i + 1])
                    sent += 1
            except OSError:
                pass  # the proxy gave up on the body; what it answered is read below
            r = ResponseReader(s, BOUND).read()
        self.assertEqual((r.status, r.body), (200, body), f"{sent} of {len(body)} bytes sent, {r.error}")


class EarlyUpstreamAnswerTest(ProxiedUpstream, unittest.TestCase):
    """Item 9: an upstream that answers (413, Connection: close) before reading the body: the
    client gets that answer, not a 502."""
    SIZE = 4 * 1024 * 1024

    def post_large(self, path):
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            s.sendall(get(path, "POST", b"Content-Length: %d\r\n" % self.SIZE))

            def send_body():
                piece = b"x" * 65536
                try:
                    for _ in range(self.SIZE // len(piece)):
                        s.sendall(piece)
                except OSError:
                    pass  # the proxy stopped reading: expected once the answer is in

            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            r = ResponseReader(s, BOUND).read()
            try:
                s.shutdown(socket.SHUT_RDWR)  # ends a sender still blocked on a full buffer
            except OSError:
                pass
            sender.join(BOUND)
        return r

    def test_answer_then_close(self):
        r = self.post_large("/early-413-close")
        self.assertEqual((r.status, r.body), (413, EARLY_BODY), r.error)

    def test_answer_then_stop_reading(self):
        r = self.post_large("/early-413-hold")
        self.assertEqual((r.status, r.body), (413, EARLY_BODY), r.error)


class EarlyAnswerWhileWaitingTest(ProxiedUpstream, unittest.TestCase):
    """Item 9, continued: the upstream answers while the proxy waits for a client that paused in
    its body, or sends an interim and its answer in one segment."""

    def test_answer_reaches_a_paused_client(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            s.sendall(get("/early-413-stop", "POST", b"Content-Length: 1000000\r\n") + b"x" * 100)
            r = ResponseReader(s, BOUND).read()  # and sends nothing more
        self.assertEqual((r.status, r.body), (413, EARLY_BODY), r.error)

    def test_interim_and_answer_in_one_segment(self):
        size = 4 * 1024 * 1024
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            s.sendall(get("/early-413-after-100", "POST", b"Content-Length: %d\r\n" % size))

            def send_body():
                try:
                    for _ in range(size // 65536):
                        s.sendall(b"x" * 65536)
                except OSError:
                    pass

            sender = threading.Thread(target=send_body, daemon=True)
            sender.start()
            r = ResponseReader(s, BOUND).read()
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sender.join(BOUND)
        self.assertEqual((r.status, r.body), (413, EARLY_BODY), r.error)


class BodyRequestPoolingTest(ProxiedUpstream, unittest.TestCase):
    """A request whose body went up whole leaves a connection the next request can reuse."""

    def test_posts_reuse_the_upstream_connection(self):
        before = self.proxy.metrics().get("bfast_upstream_reused_total", 0)
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            for i in range(3):
                s.sendall(get("/echo", "POST", b"Content-Length: 5\r\n") + b"hello")
                r = ResponseReader(s, BOUND).read()
                self.assertEqual((r.status, r.body), (200, b"hello"), r.error)
        self.assertGreaterEqual(self.proxy.metrics().get("bfast_upstream_reused_total", 0) - before, 2)


class DeadUpstreamTest(unittest.TestCase):
    """An unread request body is never taken for the next request when the upstream cannot be
    reached: the 502 closes the connection."""

    def test_body_is_not_read_as_a_request(self):
        with socket.socket() as placeholder:
            placeholder.bind(("127.0.0.1", 0))
            dead_port = placeholder.getsockname()[1]  # bound, never listening: refused
            proxy = Proxy(dead_port, "--drain-delay-ms", "0", "--shutdown-timeout-ms", "1000")
            try:
                smuggled = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n"
                reply, closed = raw_request(
                    proxy.port, get("/x", "POST", b"Content-Length: %d\r\n" % len(smuggled)) + smuggled)
                self.assertEqual(status_of(reply), 502, reply[:200])
                self.assertEqual(reply.count(b"HTTP/1.1 "), 1, reply)
                self.assertTrue(closed)
                self.assertEqual(proxy.metrics().get("bfast_requests_total"), 1)
            finally:
                proxy.stop()


class Http10ExpectTest(ProxiedUpstream, unittest.TestCase):
    """Item 10: RFC 9110 section 10.1.1: no 100 Continue to an HTTP/1.0 client."""

    def test_no_100_continue(self):
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND) as s:
            s.sendall(b"POST /echo HTTP/1.0\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
            # A proxy that sends 100 does so at once; one that does not just waits for the body.
            select.select([s], [], [], 1)
            s.sendall(b"hello")
            reply, closed = b"", False
            while not closed:
                c = s.recv(65536)
                closed = not c
                reply += c
        self.assertNotRegex(reply, rb"HTTP/1\.\d 1\d\d ")
        self.assertEqual(status_of(reply), 200, reply[:200])
        self.assertTrue(reply.endswith(b"\r\n\r\nhello"), reply[:200])


class TransferCodingTest(ProxiedUpstream, unittest.TestCase):
    """Item 11: Transfer-Encoding: gzip, chunked: never gzip bytes labelled as identity."""

    def test_gzip_chunked_is_decoded_or_502(self):
        r = exchange(self.proxy.port, get("/te-gzip-chunked"))
        self.assertTrue(r.status == 502 or (r.status == 200 and r.body == JSON),
                        f"status {r.status}, gzip magic in body: {r.body[:2] == GZIP_MAGIC}")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class IdleConnectionMemoryTest(ProxiedUpstream, unittest.TestCase):
    """Item 12: an idle kept-alive connection costs at most 8 KiB, and closing it gives the
    memory back."""
    N = 2000
    PER_CONNECTION = 8 * 1024
    RETURN_MARGIN = 4 * 1024 * 1024

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = cls.N + 512
        if soft < want:
            # Raised before the proxy starts, so that it inherits the limit too.
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        super().setUpClass()

    def wait_for_open_connections(self, n):
        deadline = time.monotonic() + 30
        while self.proxy.metrics().get("bfast_open_connections") != n:
            if time.monotonic() > deadline:
                self.fail(f"open connections never reached {n}")
            threading.Event().wait(0.05)

    def served_connection(self, i):
        s = socket.create_connection(("127.0.0.1", self.proxy.port), timeout=BOUND)
        s.sendall(get(f"/private/{i}"))
        r = ResponseReader(s, BOUND).read()
        self.assertEqual(r.status, 200)
        return s

    @unittest.skipIf(os.environ.get("BFAST_SANITIZE", "OFF").upper() not in ("", "OFF", "0", "FALSE"),
                     "a sanitizer's shadow memory and quarantine are not the proxy's memory")
    def test_rss_per_idle_connection(self):
        pid = self.proxy.proc.pid
        for i in range(50):  # warm the allocator and the pool before the baseline
            self.served_connection(i).close()
        self.wait_for_open_connections(0)
        baseline = rss_bytes(pid)
        socks = []
        try:
            for i in range(self.N):
                socks.append(self.served_connection(i))
            self.wait_for_open_connections(self.N)
            loaded = rss_bytes(pid)
        finally:
            for s in socks:
                s.close()
        self.wait_for_open_connections(0)
        after = rss_bytes(pid)
        per = (loaded - baseline) / self.N
        print(f"\nRSS baseline {baseline >> 10} KiB, {self.N} idle {loaded >> 10} KiB "
              f"({per:.0f} B each), after close {after >> 10} KiB")
        self.assertLessEqual(per, self.PER_CONNECTION)
        self.assertLessEqual(after, baseline + self.RETURN_MARGIN)


class InvalidUpstreamStatusTest(ProxiedUpstream, unittest.TestCase):
    """Item 13: a status code outside 100..599 (or not three digits) is a bad gateway."""

    def test_out_of_range_status_is_502(self):
        for code in ("000", "099", "600", "999"):
            with self.subTest(code=code):
                r = exchange(self.proxy.port, get(f"/status/{code}"))
                self.assertEqual(r.status, 502, r.error)


class MalformedChunkedRequestTest(ProxiedUpstream, unittest.TestCase):
    """Item 14: a malformed chunked request body gets 400, then the connection closes."""
    HEAD = b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

    def test_malformed_chunks_are_400(self):
        for name, body in (("bad_size", b"zz\r\nhello\r\n0\r\n\r\n"),
                           ("no_crlf_after_data", b"5\r\nhelloXX0\r\n\r\n")):
            with self.subTest(variant=name):
                reply, closed = raw_request(self.proxy.port, self.HEAD + body)
                self.assertEqual(status_of(reply), 400, reply[:200])
                self.assertTrue(closed)


class InterimDripTest(ProxiedUpstream, unittest.TestCase):
    """Item 15: 100 Continue every 0.2 s forever must not keep the header timeout from firing."""
    PROXY_ARGS = ("--upstream-header-timeout-ms", "1000")

    def test_drip_of_100_ends_in_504(self):
        r = exchange(self.proxy.port, get("/drip-100"))
        self.assertEqual(r.status, 504, f"interim responses relayed: {len(r.interim)}, {r.error}")


if __name__ == "__main__":
    unittest.main()
