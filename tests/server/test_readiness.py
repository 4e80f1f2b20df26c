"""/readyz following the upstream (readyz_upstream_failures): connect failures in a row make it
503 until a connect succeeds; off by default, /readyz ignores the upstream."""
import socket
import threading
import unittest

from harness import Proxy, curl, wait_for

FAILURES = 3
OK_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
               b"Connection: close\r\n\r\nok\n")


class LateUpstream:
    """A port that refuses connections (bound, not listening) until serve() starts answering
    every request on it with 200: the same port, so no other process can take it meanwhile."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def serve(self):
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break  # the proxy's readiness probe: a connect, then a close
                    data += chunk
                if data:
                    conn.sendall(OK_RESPONSE)

    def stop(self):
        self.sock.close()


class ReadyzFollowsUpstreamTest(unittest.TestCase):
    def setUp(self):
        self.upstream = LateUpstream()
        self.addCleanup(self.upstream.stop)

    def start_proxy(self, *args):
        proxy = Proxy(self.upstream.port, "--drain-delay-ms", "0", *args)
        self.addCleanup(proxy.stop)
        return proxy

    def readyz(self, proxy):
        return curl(proxy.admin_url + "/readyz")

    def test_failures_in_a_row_make_readyz_503_until_a_connect_succeeds(self):
        proxy = self.start_proxy("--readyz-upstream-failures", str(FAILURES))
        self.assertEqual(self.readyz(proxy).status, 200)
        for i in range(FAILURES):
            self.assertEqual(self.readyz(proxy).status, 200, f"after {i} failure(s)")
            self.assertEqual(curl(proxy.url + "/x").status, 502)
        ready = self.readyz(proxy)
        self.assertEqual(ready.status, 503)
        self.assertEqual(ready.body, b"upstream unreachable\n")
        # Data requests still go to the upstream: the first that connects makes it ready.
        self.upstream.serve()
        served = curl(proxy.url + "/x")
        self.assertEqual((served.status, served.body), (200, b"ok\n"))
        self.assertEqual(self.readyz(proxy).status, 200)

    def test_readyz_probes_the_upstream_while_no_request_comes(self):
        # Out of the Service's endpoints, the pod gets no requests: /readyz itself connects.
        proxy = self.start_proxy("--readyz-upstream-failures", "1")
        self.assertEqual(curl(proxy.url + "/x").status, 502)
        self.assertEqual(self.readyz(proxy).status, 503)
        self.assertEqual(self.readyz(proxy).status, 503)
        self.upstream.serve()
        wait_for(lambda: self.readyz(proxy).status == 200, "/readyz 200 again")

    def test_off_by_default(self):
        proxy = self.start_proxy()
        for _ in range(FAILURES * 2):
            self.assertEqual(curl(proxy.url + "/x").status, 502)
        self.assertEqual(self.readyz(proxy).status, 200)


if __name__ == "__main__":
    unittest.main()
