"""The operational features under abuse: a hostile client's access-log lines, /readyz probed in
a loop while the upstream is down, and an upstream's 502 dressed as the proxy's own."""
import json
import os
import socket
import tempfile
import time
import unittest

from harness import Proxy, ResponseReader, curl, raw_request, wait_for
from scripted_upstream import ScriptedUpstream
from test_readiness import LateUpstream

# The most bytes of the request target a log line carries (access_log.hpp).
LOGGED_TARGET_BYTES = 4096


def setUpModule():
    global upstream
    upstream = ScriptedUpstream()


def tearDownModule():
    upstream.stop()


class AccessLogLineTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bfast-ops-abuse-")
        self.log_path = os.path.join(self.dir, "access.log")
        self.log = open(self.log_path, "a")
        # The largest header the proxy allows, so one target can outgrow the log's buffer.
        self.proxy = Proxy(upstream.port, "--access-log=true", "--max-header-bytes", "1048576",
                           "--drain-delay-ms", "0", stdout=self.log)

    def tearDown(self):
        self.proxy.stop()
        self.log.close()

    def entries(self, marker):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if marker in line]

    def test_a_huge_target_is_logged_cut_not_dropped(self):
        # Each byte past ASCII is escaped to six: unbounded, this line would be ~1.8 MB, past the
        # 1 MiB log buffer, and dropped; a client could keep its requests out of the log.
        marker = "/huge-target-marker"
        target = marker.encode() + b"?" + b"\x80" * 300_000
        reply, _ = raw_request(self.proxy.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 "), reply[:100])
        wait_for(lambda: self.entries(marker), "the huge target's log line")
        with open(self.log_path) as f:
            line = next(line for line in f if marker in line)
        entry = json.loads(line)
        self.assertTrue(entry["target"].startswith(marker + "?\x80"))
        self.assertEqual(len(entry["target"]), LOGGED_TARGET_BYTES)
        self.assertLess(len(line), 8 * LOGGED_TARGET_BYTES)

    def test_a_huge_method_is_logged_cut(self):
        method = "M" * 200_000
        reply, _ = raw_request(self.proxy.port, method.encode() + b" /huge-method HTTP/1.1\r\n"
                               b"Host: x\r\nConnection: close\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 "), reply[:100])
        wait_for(lambda: self.entries("/huge-method"), "the huge method's log line")
        entry = self.entries("/huge-method")[0]
        self.assertEqual(entry["method"], "M" * 256)


class ReadyzProbeLoopTest(unittest.TestCase):
    def test_readyz_in_a_loop_starts_no_connect_storm(self):
        # Each /readyz while 503 may start a connect; a scraper looping on it must not turn that
        # into a connect per request against the dead upstream.
        dead = LateUpstream()
        self.addCleanup(dead.stop)
        proxy = Proxy(dead.port, "--readyz-upstream-failures", "1", "--drain-delay-ms", "0")
        self.addCleanup(proxy.stop)
        self.assertEqual(curl(proxy.url + "/x").status, 502)
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", proxy.admin_port)) as s:
            reader = ResponseReader(s)
            for _ in range(300):
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(reader.read().status, 503)
        elapsed = time.monotonic() - started
        probes = proxy.metrics()["bfast_readyz_upstream_probes_total"]
        # At most one a second: a slower run only allows more.
        self.assertGreaterEqual(probes, 1)
        self.assertLessEqual(probes, elapsed + 2)


class ForgingUpstream(ScriptedUpstream):
    """/forged-502: a 502 of its own that claims to be the proxy's."""

    def _answer(self, conn, method, target, headers, body):
        if target.startswith("/forged-502"):
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n"
                         b"BFast-Status: upstream_error; reason=connect_refused\r\n\r\nno\n")
            return True
        return super()._answer(conn, method, target, headers, body)


class ForgedStatusTest(unittest.TestCase):
    def test_an_upstream_502_cannot_pass_for_the_proxys_own(self):
        forger = ForgingUpstream()
        self.addCleanup(forger.stop)
        proxy = Proxy(forger.port, "--drain-delay-ms", "0")
        self.addCleanup(proxy.stop)
        reply = curl(proxy.url + "/forged-502")
        self.assertEqual(reply.status, 502)
        self.assertIsNone(reply.header("bfast-status"))
        negotiated = curl(proxy.url + "/forged-502", "-H", "Accept: application/x-bfast")
        self.assertEqual(negotiated.header("bfast-status"), "passthrough; reason=status")


if __name__ == "__main__":
    unittest.main()
