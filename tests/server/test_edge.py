"""The edge: request smuggling, header and body limits, the slowloris deadline, each with a raw
socket so nothing normalises the bytes on the way."""
import unittest

from harness import raw_request, start_nginx_and_proxy, status_of


def setUpModule():
    global nginx, proxy
    nginx, proxy = start_nginx_and_proxy("--client-header-timeout-ms", "300", "--max-request-body-bytes", "1000")


def tearDownModule():
    proxy.stop()
    nginx.stop()


class SmugglingTest(unittest.TestCase):
    VARIANTS = {
        "cl_then_te": b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_then_cl": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
        "differing_cl": b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "differing_cl_list": b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
        "te_gzip_chunked": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "te_identity": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
        "te_chunked_twice": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_http10": b"POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "te_obfuscated": b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "cl_negative": b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    }

    def test_every_variant_is_400_and_closed(self):
        before = proxy.metrics()
        for name, data in self.VARIANTS.items():
            with self.subTest(variant=name):
                # A second request follows on the same connection: it must never be answered.
                reply, closed = raw_request(proxy.port, data + b"GET /realworld/twitter.json HTTP/1.1\r\nHost: a\r\n\r\n")
                self.assertEqual(status_of(reply), 400, reply[:200])
                self.assertTrue(closed)
                self.assertEqual(reply.count(b"HTTP/1."), 1)
        after = proxy.metrics()
        total = sum(after[k] - before.get(k, 0) for k in after if k.startswith("bfast_rejected_total"))
        self.assertEqual(total, len(self.VARIANTS))

    def test_same_duplicate_content_length_is_accepted(self):
        reply, _ = raw_request(proxy.port, b"GET /semantic/deep_200.json HTTP/1.1\r\nHost: a\r\n"
                               b"Content-Length: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(reply), 200)


class LimitsTest(unittest.TestCase):
    def test_431_past_60_kib_of_header(self):
        big = b"X-Pad: " + b"a" * (61 * 1024) + b"\r\n"
        reply, closed = raw_request(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\n" + big + b"\r\n")
        self.assertEqual(status_of(reply), 431)
        self.assertTrue(closed)
        small = b"X-Pad: " + b"a" * (50 * 1024) + b"\r\n"
        reply, _ = raw_request(proxy.port, b"GET /semantic/deep_200.json HTTP/1.1\r\nHost: a\r\nConnection: close\r\n" + small + b"\r\n")
        self.assertEqual(status_of(reply), 200)

    def test_413_for_large_bodies(self):
        reply, closed = raw_request(proxy.port, b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")
        self.assertEqual(status_of(reply), 413)
        self.assertTrue(closed)
        chunk = b"800\r\n" + b"a" * 0x800 + b"\r\n"
        reply, closed = raw_request(proxy.port, b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
        self.assertEqual(status_of(reply), 413)
        self.assertTrue(closed)

    def test_slowloris_header_deadline(self):
        # Part of a header, then silence: the proxy closes the connection on its own.
        reply, closed = raw_request(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ", read_timeout=20)
        self.assertTrue(closed)
        self.assertEqual(reply, b"")

    def test_bad_request_line(self):
        reply, closed = raw_request(proxy.port, b"GARBAGE\r\n\r\n")
        self.assertEqual(status_of(reply), 400)
        self.assertTrue(closed)

    def test_expect_other_than_continue(self):
        reply, _ = raw_request(proxy.port, b"GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n")
        self.assertEqual(status_of(reply), 417)


if __name__ == "__main__":
    unittest.main()
