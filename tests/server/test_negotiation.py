"""Choosing the representation by the client's time to a decoded value: JSON as it is, JSON under
the proxy's gzip or zstd, or B-FAST, for clients that accept both; the header, the metric and the
access log agree on what was sent; prefer_bfast and compress_json routes. Real nginx upstream,
curl as the client."""
import gzip
import json
import os
import subprocess
import tempfile
import unittest

from harness import (CORPUS, Nginx, Proxy, access_log_entry, curl, oracle_checks, raw_request,
                     series_sum)

TWITTER = "/realworld/twitter.json"
TINY = "/jsontestsuite/y_object.json"  # 26 bytes of JSON; its B-FAST message is 40
BOTH = ("-H", "Accept: application/x-bfast, application/json;q=0.9")
CODINGS = ("-H", "Accept-Encoding: gzip, zstd")
GZIP_ONLY = ("-H", "Accept-Encoding: gzip")
# Client Hints for the links the policy plans for (Downlink in Mbit/s, RTT in ms).
FAST = ("-H", "RTT: 0", "-H", "Downlink: 10000")
SLOW = ("-H", "RTT: 300", "-H", "Downlink: 1.6")
# Decoders named with speeds so extreme that the choice does not depend on this machine.
BFAST_FAST = ("-H", "BFast-Decoder: native; bfast=100000; json=1; lz4=100000")
JSON_FAST = ("-H", "BFast-Decoder: ts; bfast=1; json=100000")


def setUpModule():
    global nginx, proxy, routes_proxy, log_path, log_file
    nginx = Nginx()
    log_dir = tempfile.mkdtemp(prefix="bfast-negotiation-")
    log_path = os.path.join(log_dir, "access.log")
    log_file = open(log_path, "w")
    try:
        proxy = Proxy(nginx.port, "--access-log=true", stdout=log_file)
        routes_proxy = Proxy(nginx.port, config={"routes": [
            {"prefix": "/"},
            {"prefix": "/realworld/", "negotiation": "prefer_bfast", "compress_json": True},
            {"prefix": "/jsontestsuite/", "negotiation": "prefer_bfast"}]})
    except Exception:
        nginx.stop()
        raise


def tearDownModule():
    for s in (routes_proxy, proxy, nginx):
        s.stop()
    log_file.close()


def original(path):
    with open(CORPUS + path, "rb") as f:
        return f.read()


def unzip(r):
    coding = r.header("content-encoding")
    if coding == "gzip":
        return gzip.decompress(r.body)
    if coding == "zstd":
        return subprocess.run(["zstd", "-dc"], input=r.body, capture_output=True, check=True).stdout
    return r.body


def status_fields(r):
    head, *rest = [p.strip() for p in r.header("bfast-status").split(";")]
    return head, dict(p.split("=", 1) for p in rest)


class ChoiceTest(unittest.TestCase):
    def assert_same_value(self, path, r):
        """Whatever came back holds the upstream's value: JSON parsed, B-FAST in both oracles."""
        body = unzip(r)
        if r.header("content-type") == "application/x-bfast":
            self.assertEqual(oracle_checks(CORPUS + path, body), [])
        else:
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertEqual(body, original(path))

    def test_a_fast_parser_gets_json_as_the_upstream_sent_it(self):
        r = curl(proxy.url + TWITTER, *BOTH, *CODINGS, *FAST, *JSON_FAST)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "application/json")
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, original(TWITTER))
        head, fields = status_fields(r)
        self.assertEqual((head, fields["coding"], fields["reason"]), ("json", "identity", "min_time_json"))
        self.assertEqual(fields["in"], fields["out"])
        self.assertEqual(r.header("vary"), "Accept, Accept-Encoding")
        self.assertFalse(r.header("etag").startswith("W/"))  # the upstream's bytes, its validator

    def test_a_fast_decoder_gets_bfast(self):
        r = curl(proxy.url + TWITTER, *BOTH, *CODINGS, *FAST, *BFAST_FAST)
        self.assertEqual(r.header("content-type"), "application/x-bfast")
        self.assertEqual(status_fields(r)[0], "transcoded")
        self.assert_same_value(TWITTER, r)

    def test_a_slow_link_gets_a_coded_body_either_way(self):
        for decoder in (BFAST_FAST, JSON_FAST):
            with self.subTest(decoder=decoder[1]):
                r = curl(proxy.url + TWITTER, *BOTH, *GZIP_ONLY, *SLOW, *decoder)
                self.assertEqual(r.header("content-encoding"), "gzip")
                self.assertLess(len(r.body), len(original(TWITTER)) // 4)
                self.assert_same_value(TWITTER, r)
                head, fields = status_fields(r)
                self.assertEqual(head, "json" if decoder is JSON_FAST else "transcoded")
                self.assertEqual(fields["coding" if head == "json" else "compress"], "gzip")
                self.assertEqual(int(fields["out"]), len(r.body))

    def test_proxy_zstd_json_decodes_to_the_upstream_bytes(self):
        r = curl(proxy.url + TWITTER, *BOTH, "-H", "Accept-Encoding: zstd", *SLOW, *JSON_FAST)
        self.assertEqual(r.header("content-encoding"), "zstd")
        self.assertEqual(unzip(r), original(TWITTER))
        self.assertTrue(r.header("etag").startswith("W/"))  # coded bytes: a weak validator
        self.assertEqual(status_fields(r)[1]["coding"], "zstd")

    def test_bfast_larger_than_the_json_is_not_sent_to_a_client_that_takes_json(self):
        for decoder in ((), BFAST_FAST):
            r = curl(proxy.url + TINY, *BOTH, *CODINGS, *SLOW, *decoder)
            self.assertEqual(r.header("content-type"), "application/json")
            self.assertEqual(r.body, original(TINY))
            head, fields = status_fields(r)
            self.assertEqual((head, fields["coding"]), ("json", "identity"))
        # A client that takes only B-FAST still gets B-FAST.
        only = curl(proxy.url + TINY, "-H", "Accept: application/x-bfast", *SLOW)
        self.assertEqual(only.header("content-type"), "application/x-bfast")
        self.assert_same_value(TINY, only)

    def test_wildcards_admit_json_but_never_select_bfast(self):
        r = curl(proxy.url + TWITTER, "-H", "Accept: */*", *CODINGS, *SLOW, *BFAST_FAST)
        self.assertEqual(r.body, original(TWITTER))  # not a client of the proxy's choice
        r = curl(proxy.url + TWITTER, "-H", "Accept: application/x-bfast, */*;q=0.1", *FAST,
                 *JSON_FAST)
        self.assertEqual(status_fields(r)[0], "json")

    def test_head_and_get_carry_the_same_representation_headers(self):
        args = (*BOTH, *GZIP_ONLY, *SLOW, *JSON_FAST)
        get = curl(proxy.url + TWITTER, *args)
        head = curl(proxy.url + TWITTER, *args, head=True)
        self.assertEqual(head.status, 200)
        for h in ("content-type", "content-length", "content-encoding", "etag", "vary", "bfast-status"):
            self.assertEqual(head.header(h), get.header(h), h)
        # No body on the wire: the connection ends right after the header.
        hints = "".join(f"{v}\r\n" for v in args[1::2])
        reply, closed = raw_request(proxy.port, f"HEAD {TWITTER} HTTP/1.1\r\nHost: a\r\n{hints}"
                                    "Connection: close\r\n\r\n".encode())
        self.assertTrue(closed)
        self.assertTrue(reply.endswith(b"\r\n\r\n"), reply[-100:])
        self.assertIn(b"Content-Encoding: gzip", reply)

    def test_revalidation_answers_for_the_variant_the_client_holds(self):
        for decoder, head in ((JSON_FAST, "json"), (BFAST_FAST, "transcoded")):
            with self.subTest(held=head):
                args = (*BOTH, *FAST, *decoder)
                first = curl(proxy.url + TWITTER, *args)
                self.assertEqual(status_fields(first)[0], head)
                tag = first.header("etag")
                again = curl(proxy.url + TWITTER, *args, "-H", f"If-None-Match: {tag}")
                self.assertEqual(again.status, 304)
                self.assertEqual(again.header("etag"), tag)


class AgreementTest(unittest.TestCase):
    """BFast-Status, the metrics and the access log name the same representation and coding."""

    def test_header_metric_and_log_agree(self):
        cases = [(*FAST, *JSON_FAST), (*SLOW, *JSON_FAST), (*SLOW, *BFAST_FAST), (*FAST, *BFAST_FAST)]
        for i, hints in enumerate(cases):
            with self.subTest(hints=hints):
                before = proxy.metrics()
                target = f"{TWITTER}?agree={i}"
                r = curl(proxy.url + target, *BOTH, *GZIP_ONLY, *hints)
                head, fields = status_fields(r)
                after = proxy.metrics()
                if head == "json":
                    key = f'bfast_json_chosen_total{{coding="{fields["coding"]}"}}'
                    decision = "json"
                    coding = fields["coding"]
                else:
                    key = f'bfast_transcoded_total{{compress="{fields["compress"]}"}}'
                    decision = "transcoded"
                    coding = fields["compress"]
                self.assertEqual(after[key] - before.get(key, 0), 1, key)
                self.assertEqual(series_sum(after, "bfast_decisions_total", decision=decision,
                                            reason=coding)
                                 - series_sum(before, "bfast_decisions_total", decision=decision,
                                              reason=coding), 1)
                self.assertEqual(r.header("content-encoding") or "identity",
                                 coding if coding in ("gzip", "zstd") else "identity")
                line = self.log_line(target)
                self.assertEqual(line["decision"], "json" if head == "json" else "transcoded")
                self.assertEqual(line["compress"], coding)
                self.assertEqual(line["reason"], fields["reason"])

    def log_line(self, target):
        log_file.flush()
        return access_log_entry(log_path, target)


class RouteRuleTest(unittest.TestCase):
    def test_prefer_bfast_sends_bfast_even_where_json_is_faster(self):
        r = curl(routes_proxy.url + TWITTER, *BOTH, *FAST, *JSON_FAST)
        self.assertEqual(r.header("content-type"), "application/x-bfast")
        self.assert_bfast(r)
        # ... but never B-FAST that is larger and no faster.
        tiny = curl(routes_proxy.url + TINY, *BOTH, *FAST)
        self.assertEqual(tiny.body, original(TINY))
        head, fields = status_fields(tiny)
        self.assertEqual((head, fields["reason"]), ("json", "bfast_larger"))

    def assert_bfast(self, r):
        self.assertEqual(oracle_checks(CORPUS + TWITTER, unzip(r)), [])

    def test_compress_json_codes_for_json_only_clients(self):
        r = curl(routes_proxy.url + TWITTER, "-H", "Accept: application/json", *GZIP_ONLY, *SLOW)
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), original(TWITTER))
        self.assertEqual(status_fields(r)[0], "json")
        self.assertIn("Accept-Encoding", r.header("vary"))
        # Without a coding it accepts, the body streams through untouched.
        plain = curl(routes_proxy.url + TWITTER, "-H", "Accept: application/json", *SLOW)
        self.assertIsNone(plain.header("content-encoding"))
        self.assertEqual(plain.body, original(TWITTER))
        # The default route does not code JSON for JSON-only clients (nginx's gzip off).
        other = curl(routes_proxy.url + TINY, "-H", "Accept: application/json", *GZIP_ONLY, *SLOW)
        self.assertIsNone(other.header("content-encoding"))


if __name__ == "__main__":
    unittest.main()
