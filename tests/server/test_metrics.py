"""/metrics after mixed traffic (pass-through, B-FAST, a 404, the proxy's own 400, a 502, an
HTTP/2 exchange, a 100 Continue): the per-route responses and decisions, the request duration
histogram, bfast_build_info, the process metrics, and `promtool check metrics` on the whole
text when promtool is installed (Debian's prometheus package)."""
import shutil
import subprocess
import unittest

from harness import BFAST, Proxy, curl, raw_request, series_sum, status_of
from scripted_upstream import ScriptedUpstream

ROUTES = [{"prefix": "/"},
          {"prefix": "/plain/", "compress": "never"},
          {"prefix": "/packed/", "compress": "always"},
          {"prefix": "/idle/"}]


def setUpModule():
    global upstream, proxy, text, values
    upstream = ScriptedUpstream()
    try:
        proxy = Proxy(upstream.port, config={"routes": ROUTES})
    except Exception:
        upstream.stop()
        raise
    try:
        send_traffic()
        text = curl(proxy.admin_url + "/metrics").body.decode()
        values = proxy.metrics()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    proxy.stop()
    upstream.stop()


def send_traffic():
    statuses = [
        curl(proxy.url + "/plain/chunked-json").status,               # passthrough, not_acceptable
        curl(proxy.url + "/plain/chunked-json", *BFAST).status,       # transcoded, not compressed
        curl(proxy.url + "/packed/chunked-json", *BFAST).status,      # transcoded, compressed
        curl(proxy.url + "/plain/chunked-json", "--http2-prior-knowledge").status,  # HTTP/2
        curl(proxy.url + "/missing").status,                          # the upstream's 404
        curl(proxy.url + "/huge-headers").status,                     # the proxy's 502
        curl(proxy.url + "/echo", "-H", "Content-Type: application/json",
             "-H", "Expect: 100-continue", data=b'{"a":1}').status,    # 100 Continue, then 200
    ]
    assert statuses == [200, 200, 200, 200, 404, 502, 200], statuses
    # Two Host fields: refused before any route is chosen.
    reply, _ = raw_request(proxy.port, b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    assert status_of(reply) == 400, reply[:100]


def total(name, **labels):
    return series_sum(values, name, **labels)


class MetricsAfterMixedTraffic(unittest.TestCase):
    def test_responses_by_status_class_and_route(self):
        self.assertEqual(total("bfast_responses_total", code="2xx", route="/plain/"), 3)
        self.assertEqual(total("bfast_responses_total", code="2xx", route="/packed/"), 1)
        self.assertEqual(total("bfast_responses_total", code="2xx", route="/"), 1)
        self.assertEqual(total("bfast_responses_total", code="1xx", route="/"), 1)
        self.assertEqual(total("bfast_responses_total", code="4xx", route="/"), 1)
        self.assertEqual(total("bfast_responses_total", code="4xx", route="none"), 1)
        self.assertEqual(total("bfast_responses_total", code="5xx", route="/"), 1)
        self.assertEqual(total("bfast_responses_total"), 9)
        # Every class of every configured route is listed, zeros included, before any traffic.
        self.assertEqual(values['bfast_responses_total{code="3xx",route="/packed/"}'], 0)
        self.assertEqual(values['bfast_responses_total{code="2xx",route="/idle/"}'], 0)

    def test_one_decision_family_by_route(self):
        def decisions(**labels):
            return total("bfast_decisions_total", **labels)
        self.assertEqual(decisions(decision="passthrough", reason="not_acceptable", route="/plain/"), 2)
        self.assertEqual(decisions(decision="transcoded", reason="none", route="/plain/"), 1)
        self.assertEqual(decisions(decision="transcoded", route="/packed/"), 1)
        self.assertEqual(decisions(decision="transcoded", reason="none", route="/packed/"), 0)
        self.assertEqual(decisions(decision="passthrough", reason="status", route="/"), 1)
        self.assertEqual(decisions(decision="error", reason="upstream_error", route="/"), 1)
        self.assertEqual(decisions(decision="rejected", reason="bad_host", route="none"), 1)
        self.assertEqual(decisions(decision="passthrough", reason="not_acceptable", route="/"), 1)
        self.assertEqual(decisions(), 8)
        self.assertEqual(values['bfast_rejected_total{kind="bad_host"}'], 1)

    def test_request_duration_by_decision(self):
        def count(decision):
            return values[f'bfast_request_duration_seconds_count{{decision="{decision}"}}']
        self.assertEqual(count("transcoded"), 2)
        self.assertEqual(count("passthrough"), 4)
        self.assertEqual(count("error"), 1)
        self.assertEqual(count("rejected"), 1)
        self.assertEqual(count("json"), 0)
        for d in ("transcoded", "passthrough"):
            self.assertEqual(values[f'bfast_request_duration_seconds_bucket{{decision="{d}",le="+Inf"}}'],
                             count(d))

    def test_compress_seconds_observes_only_compressed_bodies(self):
        # Two transcoded, one of them on a route that never compresses.
        self.assertEqual(values["bfast_compress_seconds_count"], 1)
        self.assertEqual(values["bfast_transcode_seconds_count"], 2)

    def test_build_info(self):
        info = [k for k in values if k.startswith("bfast_build_info{")]
        self.assertEqual(len(info), 1, info)
        self.assertEqual(values[info[0]], 1)
        self.assertRegex(info[0], r'^bfast_build_info\{version="\d+\.\d+\.\d+[^"]*",'
                                  r'commit="([0-9a-f]{12}|unknown)"\}$')

    def test_process_metrics(self):
        self.assertGreater(values["process_resident_memory_bytes"], 1 << 20)
        self.assertGreater(values["process_open_fds"], 2)
        self.assertGreaterEqual(values["process_max_fds"], values["process_open_fds"])
        self.assertGreater(values["process_start_time_seconds"], 1e9)
        self.assertGreaterEqual(values["process_cpu_seconds_total"], 0)
        self.assertIn("# TYPE process_cpu_seconds_total counter\n", text)
        self.assertIn("# TYPE process_open_fds gauge\n", text)

    def test_promtool_accepts_the_text(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus, docker/install-deps.sh)")
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())


if __name__ == "__main__":
    unittest.main()
