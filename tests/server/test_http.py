"""HTTP semantics through the proxy: Vary, ETag/304, HEAD, keep-alive, POST echo, the scripted
upstream's misbehaviour, 502/504, and the metrics that count what happened."""
import gzip
import json
import os
import unittest

from harness import (BFAST, CORPUS, Nginx, Proxy, curl, oracle_checks, raw_request, free_port,
                     series_sum)
from scripted_upstream import ScriptedUpstream


def setUpModule():
    global nginx, proxy, scripted, scripted_proxy
    nginx = scripted = None
    started = []
    try:
        nginx = Nginx()
        started.append(nginx)
        proxy = Proxy(nginx.port)
        started.append(proxy)
        scripted = ScriptedUpstream()
        started.append(scripted)
        scripted_proxy = Proxy(scripted.port, "--upstream-header-timeout-ms", "500",
                               "--upstream-body-idle-timeout-ms", "2000",
                               config={"routes": [{"prefix": "/", "max_body_bytes": 67108864},
                                                  {"prefix": "/small/", "max_body_bytes": 1000}]})
        started.append(scripted_proxy)
    except Exception:
        for s in reversed(started):
            s.stop()
        raise


def tearDownModule():
    for s in (scripted_proxy, scripted, proxy, nginx):
        s.stop()


TWITTER = "/realworld/twitter.json"


class NegotiationTest(unittest.TestCase):
    def test_vary_and_status_on_both_variants(self):
        plain = curl(proxy.url + TWITTER)
        b = curl(proxy.url + TWITTER, *BFAST)
        self.assertEqual(plain.header("vary"), "Accept, Accept-Encoding")
        self.assertEqual(b.header("vary"), "Accept, Accept-Encoding")
        self.assertTrue(b.header("bfast-status").startswith("transcoded; compress="))
        self.assertEqual(plain.header("bfast-status"), "passthrough; reason=not_acceptable")
        self.assertIsNone(b.header("accept-ranges"))
        self.assertEqual(plain.header("accept-ranges"), "bytes")

    def test_wildcards_and_q_zero_do_not_select(self):
        # A lower q is still acceptable: the time decides then (test_negotiation).
        for accept in ("*/*", "application/*", "application/x-bfast;q=0"):
            with self.subTest(accept=accept):
                r = curl(proxy.url + TWITTER, "-H", f"Accept: {accept}")
                self.assertEqual(r.header("content-type"), "application/json")
                self.assertEqual(r.body, open(CORPUS + TWITTER, "rb").read())

    def test_upstream_sees_json_and_identity(self):
        r = curl(scripted_proxy.url + "/headers", "-H", "Accept: application/x-bfast, text/html;q=0.1",
                 "-H", "Accept-Encoding: gzip", "-H", "Connection: keep-alive, X-Hop", "-H", "X-Hop: 1")
        self.assertTrue(r.header("bfast-status").startswith("transcoded"))
        # q=0: not a candidate, so the proxy does not choose, and the element is removed.
        plain = curl(scripted_proxy.url + "/headers", "-H", "Accept: application/x-bfast;q=0, application/json",
                     "-H", "X-Hop: 2", "-H", "Connection: X-Hop")
        seen = json.loads(plain.body)
        self.assertEqual(seen["accept"], ["application/json"])  # the x-bfast element removed
        self.assertNotIn("x-hop", seen)
        self.assertEqual(seen["x-forwarded-for"], ["127.0.0.1"])
        self.assertEqual(seen["x-forwarded-proto"], ["http"])
        self.assertIn("x-forwarded-host", seen)
        # The negotiated request: the upstream's view, read back through the scripted log.
        method, target, headers, _ = [q for q in scripted.requests if q[1] == "/headers"][0]
        self.assertEqual(headers["accept"], ["application/json"])
        self.assertEqual(headers["accept-encoding"], ["identity"])
        self.assertNotIn("x-hop", headers)


class ValidatorTest(unittest.TestCase):
    def test_etag_304_round_trip(self):
        first = curl(proxy.url + TWITTER, *BFAST)
        etag = first.header("etag")
        self.assertTrue(etag.startswith('W/"') and etag.endswith('-bfast"'), etag)
        again = curl(proxy.url + TWITTER, *BFAST, "-H", f"If-None-Match: {etag}")
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        self.assertEqual(again.header("etag"), etag)
        self.assertIn("Accept", again.header("vary"))
        # The JSON variant's ETag does not validate the B-FAST variant.
        json_etag = curl(proxy.url + TWITTER).header("etag")
        other = curl(proxy.url + TWITTER, *BFAST, "-H", f"If-None-Match: {json_etag}")
        self.assertEqual(other.status, 200)
        self.assertEqual(other.header("content-type"), "application/x-bfast")

    def test_head_matches_get(self):
        get = curl(proxy.url + TWITTER, *BFAST)
        head = curl(proxy.url + TWITTER, *BFAST, head=True)
        self.assertEqual(head.status, 200)
        # No body on the wire: the connection ends right after the header.
        reply, closed = raw_request(proxy.port, b"HEAD " + TWITTER.encode() + b" HTTP/1.1\r\nHost: a\r\n"
                                    b"Accept: application/x-bfast\r\nConnection: close\r\n\r\n")
        self.assertTrue(closed)
        self.assertTrue(reply.endswith(b"\r\n\r\n"), reply[-100:])
        self.assertIn(b"Content-Length: " + get.header("content-length").encode(), reply)
        for h in ("content-type", "content-length", "vary", "etag", "bfast-status"):
            self.assertEqual(head.header(h), get.header(h), h)
        plain_head = curl(proxy.url + TWITTER, head=True)
        self.assertEqual(plain_head.header("content-length"), str(os.path.getsize(CORPUS + TWITTER)))


class ProxyCoreTest(unittest.TestCase):
    def test_keep_alive_reuse(self):
        before = proxy.metrics()
        r = curl(proxy.url + TWITTER, "-v", "-o", "/dev/null", proxy.url + TWITTER)
        after = proxy.metrics()
        self.assertEqual(after["bfast_connections_accepted_total"] - before["bfast_connections_accepted_total"], 1)
        self.assertGreaterEqual(after["bfast_upstream_reused_total"] - before["bfast_upstream_reused_total"], 1)
        self.assertEqual(r.status, 200)

    def test_post_echo_content_length_chunked_and_expect(self):
        body = json.dumps({"k": list(range(5000))}).encode()
        r = curl(scripted_proxy.url + "/echo", "-H", "Content-Type: application/json", data=body)
        self.assertEqual(r.body, body)
        r = curl(scripted_proxy.url + "/echo", "-H", "Content-Type: application/json",
                 "-H", "Transfer-Encoding: chunked", data=body)
        self.assertEqual(r.body, body)
        r = curl(scripted_proxy.url + "/echo", "-H", "Content-Type: text/plain",
                 "-H", "Expect: 100-continue", data=body)
        self.assertEqual(r.body, body)
        self.assertEqual(r.header("x-seen-expect"), "none")  # the proxy answered 100 itself
        r = curl(scripted_proxy.url + "/echo", *BFAST, "-H", "Content-Type: application/json", data=body)
        self.assertTrue(r.header("bfast-status").startswith("transcoded"))

    def test_chunked_json_is_transformed(self):
        r = curl(scripted_proxy.url + "/chunked-json", *BFAST)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("bfast-status").startswith("transcoded"))
        self.assertEqual(int(r.header("content-length")), len(r.body))
        plain = curl(scripted_proxy.url + "/chunked-json")
        self.assertEqual(plain.header("transfer-encoding"), "chunked")
        self.assertTrue(plain.body.startswith(b'{"items":['))

    def test_close_delimited_upstream(self):
        r = curl(scripted_proxy.url + "/close-delimited", *BFAST)
        self.assertTrue(r.header("bfast-status").startswith("transcoded"))
        plain = curl(scripted_proxy.url + "/close-delimited")
        self.assertTrue(plain.body.endswith(b"]}"))

    def test_passthrough_reasons(self):
        cases = {"/invalid-json": "invalid_json", "/proto": "proto_key", "/gzip-json": "encoded",
                 "/no-transform": "no_transform", "/sse": "not_json", "/small/chunked-json": "too_large"}
        for path, token in cases.items():
            with self.subTest(path=path):
                # curl undoes the chunked framing (where chunks break is the transport's choice)
                # but no Content-Encoding: the body bytes are compared as sent.
                plain = curl(scripted_proxy.url + path)
                r = curl(scripted_proxy.url + path, *BFAST)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.header("bfast-status"), f"passthrough; reason={token}")
                self.assertEqual(r.body, plain.body, "the original bytes, byte for byte")
        self.assertEqual(curl(scripted_proxy.url + "/invalid-json", *BFAST).body, b'{"a": [1, 2, oops]}')
        self.assertEqual(gzip.decompress(curl(scripted_proxy.url + "/gzip-json", *BFAST, "--raw").body)[:10],
                         b'{"items":[')

    def test_oversize_streams_through(self):
        r = curl(scripted_proxy.url + "/small/chunked-json", *BFAST)
        self.assertEqual(r.header("bfast-status"), "passthrough; reason=too_large")
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertEqual(json.loads(r.body)["items"][199]["id"], 199)

    def test_204_and_304(self):
        r = curl(scripted_proxy.url + "/204", *BFAST)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        r = curl(scripted_proxy.url + "/304", *BFAST)
        self.assertEqual(r.status, 304)


class UpstreamFailureTest(unittest.TestCase):
    def test_502_when_upstream_down(self):
        down = Proxy(free_port())
        try:
            r = curl(down.url + "/x", *BFAST)
            self.assertEqual(r.status, 502)
            self.assertEqual(down.metrics()['bfast_upstream_errors_total{kind="connect_refused"}'], 1)
        finally:
            down.stop()

    def test_504_on_slow_headers(self):
        r = curl(scripted_proxy.url + "/slow-headers")
        self.assertEqual(r.status, 504)

    def test_502_on_huge_upstream_headers(self):
        r = curl(scripted_proxy.url + "/huge-headers")
        self.assertEqual(r.status, 502)

    def test_reset_mid_body_aborts_client(self):
        # Passthrough: headers were sent, so the client connection is reset, never finished.
        r = curl(scripted_proxy.url + "/reset-mid-body")
        self.assertNotEqual(r.exit_code, 0)
        self.assertLess(len(r.body), 100000)
        # Transform: nothing was sent yet, so the client gets a 502.
        r = curl(scripted_proxy.url + "/reset-mid-body?json", *BFAST)
        self.assertEqual(r.status, 502)
        m = scripted_proxy.metrics()
        self.assertGreaterEqual(m["bfast_responses_aborted_total"], 1)
        self.assertGreaterEqual(m['bfast_upstream_errors_total{kind="body_reset"}'], 2)


class MetricsTest(unittest.TestCase):
    def test_admin_endpoints_and_counters(self):
        self.assertEqual(curl(proxy.admin_url + "/healthz").status, 200)
        self.assertEqual(curl(proxy.admin_url + "/readyz").status, 200)
        before = proxy.metrics()
        curl(proxy.url + "/realworld/canada.json", *BFAST)
        curl(proxy.url + "/jsontestsuite/n_array_extra_comma.json", *BFAST)
        curl(proxy.url + "/realworld/canada.json")
        after = proxy.metrics()

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)

        def decisions(**labels):
            return (series_sum(after, "bfast_decisions_total", **labels)
                    - series_sum(before, "bfast_decisions_total", **labels))
        self.assertEqual(decisions(decision="transcoded"), 1)
        self.assertEqual(decisions(decision="passthrough", reason="invalid_json"), 1)
        self.assertEqual(decisions(decision="passthrough", reason="not_acceptable"), 1)
        self.assertEqual(delta("bfast_requests_total"), 3)
        self.assertGreater(delta("bfast_transform_in_bytes_total"), 2_000_000)
        self.assertEqual(delta("bfast_transcode_seconds_count"), 1)
        self.assertEqual(delta("bfast_upstream_latency_seconds_count"), 3)
        self.assertIn("bfast_open_connections", after)
        self.assertIn("bfast_transforms_in_flight", after)


if __name__ == "__main__":
    unittest.main()
