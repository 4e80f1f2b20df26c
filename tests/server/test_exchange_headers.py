"""What every exchange carries besides its body: X-Request-Id (made, kept or replaced, sent up and
back, over HTTP/1.1 and HTTP/2), trace context passed through, the access log's fields (the client
behind trusted proxies, user agent, request id, the upstream's error, the chosen body's bytes),
Accept-CH merged with the upstream's, and the proxy's own 502/504 told apart by BFast-Status."""
import json
import os
import re
import tempfile
import unittest

from harness import Proxy, access_log_entry, curl, free_port, raw_request
from scripted_upstream import ScriptedUpstream, _response

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
BFAST = ("-H", "Accept: application/x-bfast")
JSON_ONLY = ("-H", "Accept: application/json")
HINTS = "RTT, Downlink, ECT, Save-Data"


class Upstream(ScriptedUpstream):
    """/accept-ch: JSON with the upstream's own client hints; the rest as ScriptedUpstream."""

    def _answer(self, conn, method, target, headers, body):
        if target.split("?")[0].endswith("/accept-ch"):
            js = b'{"items":[' + b",".join(b'{"id":%d}' % i for i in range(300)) + b"]}"
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"),
                                              ("Accept-CH", "Sec-CH-UA-Model, rtt"),
                                              ("Content-Length", str(len(js)))], js))
            return True
        return super()._answer(conn, method, target, headers, body)


def setUpModule():
    global upstream, proxy, plain, dead, log_path, log_file
    upstream = Upstream()
    log_dir = tempfile.mkdtemp(prefix="bfast-exchange-")
    log_path = os.path.join(log_dir, "access.log")
    # Appending: the proxies share the file, and each line is one write.
    log_file = open(log_path, "a")
    proxy = plain = dead = None
    try:
        proxy = Proxy(upstream.port, "--access-log=true", stdout=log_file, config={
            "trusted_proxies": ["127.0.0.1/32"], "upstream_header_timeout_ms": 300})
        plain = Proxy(upstream.port, "--access-log=true", stdout=log_file,
                      config={"request_id": False})
        # Nothing listens on a port just found free: every connect is refused.
        dead = Proxy(free_port(), "--access-log=true", stdout=log_file)
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    for p in (proxy, plain, dead):
        if p:
            p.stop()
    upstream.stop()
    log_file.close()


def log_line(target):
    return access_log_entry(log_path, target)


def seen_upstream(r):
    """The headers /headers saw, from its JSON body."""
    return json.loads(r.body)


def status_fields(r):
    parts = [p.strip() for p in r.header("bfast-status").split(";")]
    return parts[0], dict(p.split("=", 1) for p in parts[1:])


class RequestIdTest(unittest.TestCase):
    def test_made_when_the_client_sent_none_and_sent_both_ways(self):
        r = curl(proxy.url + "/headers?id=made")
        self.assertEqual(r.status, 200)
        rid = r.header("x-request-id")
        self.assertRegex(rid, UUID4)
        self.assertEqual(seen_upstream(r)["x-request-id"], [rid])
        self.assertEqual(log_line("/headers?id=made")["request_id"], rid)
        self.assertNotEqual(curl(proxy.url + "/headers?id=made2").header("x-request-id"), rid)

    def test_a_clients_id_is_kept(self):
        r = curl(proxy.url + "/headers?id=kept", "-H", "X-Request-Id: client-id.42")
        self.assertEqual(r.header("x-request-id"), "client-id.42")
        self.assertEqual(seen_upstream(r)["x-request-id"], ["client-id.42"])
        self.assertEqual(log_line("/headers?id=kept")["request_id"], "client-id.42")

    def test_an_id_too_long_or_not_visible_ascii_is_replaced(self):
        for i, bad in enumerate(["a" * 201, "two words", "caf\xe9"]):
            with self.subTest(bad=bad[:20]):
                reply, _ = raw_request(proxy.port, (
                    f"GET /headers?id=bad{i} HTTP/1.1\r\nHost: x\r\nX-Request-Id: {bad}\r\n"
                    "Connection: close\r\n\r\n").encode("latin-1"))
                head, body = reply.split(b"\r\n\r\n", 1)
                rid = re.search(rb"\r\nX-Request-Id: ([^\r]*)", head).group(1).decode()
                self.assertRegex(rid, UUID4)
                self.assertEqual(json.loads(body)["x-request-id"], [rid])
        r = curl(proxy.url + "/headers?id=fits", "-H", "X-Request-Id: " + "b" * 200)
        self.assertEqual(r.header("x-request-id"), "b" * 200)

    def test_two_ids_are_replaced_by_one(self):
        r = curl(proxy.url + "/headers?id=two", "-H", "X-Request-Id: a", "-H", "X-Request-Id: b")
        self.assertRegex(r.header("x-request-id"), UUID4)
        self.assertEqual(seen_upstream(r)["x-request-id"], [r.header("x-request-id")])

    def test_trace_context_goes_up_untouched(self):
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ts = "congo=t61rcWkgMzE, rojo=00f067aa0ba902b7"
        seen = seen_upstream(curl(proxy.url + "/headers?trace", "-H", f"traceparent: {tp}",
                                  "-H", f"tracestate: {ts}"))
        self.assertEqual(seen["traceparent"], [tp])
        self.assertEqual(seen["tracestate"], [ts])

    def test_over_http2(self):
        r = curl(proxy.url + "/headers?id=h2", "--http2-prior-knowledge")
        self.assertEqual(r.status, 200)
        rid = r.header("x-request-id")
        self.assertRegex(rid, UUID4)
        self.assertEqual(seen_upstream(r)["x-request-id"], [rid])
        line = log_line("/headers?id=h2")
        self.assertEqual((line["protocol"], line["request_id"]), ("HTTP/2.0", rid))
        kept = curl(proxy.url + "/headers?id=h2kept", "--http2-prior-knowledge",
                    "-H", "X-Request-Id: from-h2")
        self.assertEqual(kept.header("x-request-id"), "from-h2")
        self.assertEqual(seen_upstream(kept)["x-request-id"], ["from-h2"])

    def test_the_proxys_own_answers_carry_one(self):
        reply, _ = raw_request(proxy.port, b"GET /x HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Length: 1\r\nContent-Length: 2\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply[:40])
        self.assertRegex(re.search(rb"\r\nX-Request-Id: ([^\r]*)", reply).group(1).decode(), UUID4)

    def test_the_setting_turns_it_off(self):
        r = curl(plain.url + "/headers?id=off")
        self.assertIsNone(r.header("x-request-id"))
        self.assertNotIn("x-request-id", seen_upstream(r))
        self.assertNotIn("request_id", log_line("/headers?id=off"))
        kept = curl(plain.url + "/headers?id=off2", "-H", "X-Request-Id: as-sent")
        self.assertEqual(seen_upstream(kept)["x-request-id"], ["as-sent"])


class AccessLogTest(unittest.TestCase):
    def test_the_client_behind_trusted_proxies(self):
        xff = "6.6.6.6, 198.51.100.7, 127.0.0.1"
        curl(proxy.url + "/headers?realip", "-H", f"X-Forwarded-For: {xff}")
        line = log_line("/headers?realip")
        self.assertEqual((line["client"], line["real_client"]), ("127.0.0.1", "198.51.100.7"))
        # An untrusted peer's X-Forwarded-For is only its word: not logged as the client.
        curl(plain.url + "/headers?realip-untrusted", "-H", f"X-Forwarded-For: {xff}")
        self.assertNotIn("real_client", log_line("/headers?realip-untrusted"))

    def test_user_agent_escaped_and_bounded(self):
        curl(proxy.url + "/headers?ua", "-A", 'probe "quoted" \\ agent')
        self.assertEqual(log_line("/headers?ua")["user_agent"], 'probe "quoted" \\ agent')
        curl(proxy.url + "/headers?ua-long", "-A", "u" * 1000)
        self.assertEqual(log_line("/headers?ua-long")["user_agent"], "u" * 256)

    def test_the_upstreams_error_kind(self):
        r = curl(dead.url + "/refused")
        self.assertEqual(r.status, 502)
        line = log_line("/refused")
        self.assertEqual((line["reason"], line["upstream_error"]),
                         ("upstream_error", "connect_refused"))
        r = curl(proxy.url + "/slow-headers")
        self.assertEqual(r.status, 504)
        self.assertEqual(log_line("/slow-headers")["upstream_error"], "header_timeout")
        curl(proxy.url + "/headers?no-error")
        self.assertNotIn("upstream_error", log_line("/headers?no-error"))

    def test_a_chosen_bodys_bytes_and_the_policys_reason(self):
        r = curl(proxy.url + "/chunked-json?bytes", *BFAST)
        head, fields = status_fields(r)
        self.assertEqual(head, "transcoded")
        line = log_line("/chunked-json?bytes")
        self.assertEqual(line["decision"], "transcoded")
        self.assertEqual((line["response_in"], line["response_out"]),
                         (int(fields["in"]), int(fields["out"])))
        self.assertEqual(line["response_out"], len(r.body))
        self.assertEqual(line["reason"], fields["reason"])
        self.assertNotEqual(line["reason"], "transcoded")


class ResponseHeadersTest(unittest.TestCase):
    def test_accept_ch_keeps_the_upstreams_hints(self):
        for name, args in (("transcoded", BFAST), ("json", JSON_ONLY)):
            with self.subTest(name):
                r = curl(proxy.url + f"/accept-ch?{name}", *args)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers["accept-ch"],
                                 ["Sec-CH-UA-Model, rtt, Downlink, ECT, Save-Data"])
        r = curl(proxy.url + "/chunked-json?hints", *BFAST)
        self.assertEqual(r.header("accept-ch"), HINTS)

    def test_the_proxys_502_and_504_say_they_are_its_own(self):
        r = curl(dead.url + "/own-502")
        self.assertEqual(r.status, 502)
        self.assertEqual(r.header("bfast-status"), "upstream_error; reason=connect_refused")
        self.assertIsNotNone(r.header("date"))
        self.assertRegex(r.header("x-request-id"), UUID4)
        r = curl(proxy.url + "/slow-headers?own-504")
        self.assertEqual(r.status, 504)
        self.assertEqual(r.header("bfast-status"), "upstream_error; reason=header_timeout")

    def test_a_date_when_the_upstream_sent_none(self):
        r = curl(proxy.url + "/headers?date")
        self.assertEqual(len(r.headers["date"]), 1)
        self.assertRegex(r.header("date"),
                         r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} "
                         r"\d\d:\d\d:\d\d GMT$")

    def test_a_304_for_json_varies_as_its_200(self):
        ok = curl(proxy.url + "/chunked-json?v", *JSON_ONLY)
        for args in (JSON_ONLY, ("-H", "Accept: application/x-bfast, application/json;q=0.9")):
            with self.subTest(args=args):
                r = curl(proxy.url + "/304", *args, "-H", 'If-None-Match: "e1"')
                self.assertEqual(r.status, 304)
                self.assertEqual(r.header("vary"), ok.header("vary"))
                self.assertEqual(r.header("vary"), "Accept, Accept-Encoding")


if __name__ == "__main__":
    unittest.main()
