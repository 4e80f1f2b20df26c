"""The process under pressure from outside the data path: a stdout nobody reads, a flood of
admin connections, a low limit on open files. Each must leave the data port serving."""
import http.client
import json
import resource
import socket
import subprocess
import time
import unittest

from harness import START_TIMEOUT, Nginx, Proxy, curl

SMALL = "/semantic/int_u64_max.json"
PIPE_BYTES = 64 * 1024           # Linux's default pipe capacity
DEFAULT_LOG_BUFFER = 1024 * 1024  # access_log_buffer_bytes


class NginxCase(unittest.TestCase):
    def setUp(self):
        self.nginx = Nginx()
        self.addCleanup(self.nginx.stop)

    def start_proxy(self, *args, **kwargs):
        proxy = Proxy(self.nginx.port, "--drain-delay-ms", "0", *args, **kwargs)
        self.addCleanup(proxy.stop)
        return proxy


class StalledStdoutTest(NginxCase):
    def test_requests_succeed_while_stdout_is_never_read(self):
        proxy = self.start_proxy("--access-log=true", stdout=subprocess.PIPE)
        self.addCleanup(proxy.proc.stdout.close)
        # Long targets make long lines: together far more than the pipe and the buffer hold.
        target = SMALL + "?pad=" + "x" * 1000
        requests = 3 * (PIPE_BYTES + DEFAULT_LOG_BUFFER) // len(target)
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        try:
            for i in range(requests):
                conn.request("GET", target)
                res = conn.getresponse()
                res.read()
                self.assertEqual(res.status, 200, f"request {i}")
        finally:
            conn.close()
        self.assertGreater(proxy.metrics()["bfast_access_log_dropped_total"], 0)
        # Shutdown gives up on the stalled pipe instead of hanging.
        proxy.stop()
        self.assertEqual(proxy.proc.returncode, 0)

    def test_queued_lines_are_written_out_at_shutdown(self):
        proxy = self.start_proxy("--access-log=true", stdout=subprocess.PIPE)
        self.addCleanup(proxy.proc.stdout.close)
        for i in range(20):
            self.assertEqual(curl(f"{proxy.url}{SMALL}?n={i}").status, 200)
        proxy.stop()
        lines = proxy.proc.stdout.read().splitlines()
        self.assertEqual([json.loads(l)["target"] for l in lines],
                         [f"{SMALL}?n={i}" for i in range(20)])


def open_files_limit(soft, hard):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


class DescriptorTest(NginxCase):
    def test_admin_flood_leaves_the_data_port_serving(self):
        proxy = self.start_proxy(preexec_fn=open_files_limit(256, 256))
        idle = []
        try:
            # More idle admin connections than the process has descriptors.
            for _ in range(300):
                idle.append(socket.create_connection(("127.0.0.1", proxy.admin_port), timeout=10))
            self.assertEqual(curl(proxy.url + SMALL, "--max-time", "10").status, 200)
        finally:
            for s in idle:
                s.close()
        self.assertGreater(scrape_when_free(proxy)["bfast_admin_connections_refused_total"], 0)

    def test_soft_limit_is_raised_to_the_hard_limit(self):
        proxy = self.start_proxy(preexec_fn=open_files_limit(256, 512))
        self.assertTrue(any("open files limit 512" in l for l in proxy.startup_lines),
                        proxy.startup_lines)


def scrape_when_free(proxy):
    """Metrics, once the admin listener has seen the idle connections close (a bounded wait)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        values = proxy.metrics()  # empty while the connection is refused
        if values or time.monotonic() > deadline:
            return values


if __name__ == "__main__":
    unittest.main()
