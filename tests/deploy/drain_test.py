"""The SIGTERM drain under load, against a real bfast-proxy process and a held upstream.

The upstream holds every /big response until the test releases it, so requests are provably
in flight when SIGTERM arrives, and still in flight after the listener has closed. No step
waits on the wall clock: each one waits for an observable state (a request reaching the
upstream, /readyz turning 503, a refused connection, the process exiting).

usage: drain_test.py PROXY_BINARY ORACLE_CHECK_PY
"""
import errno
import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import unittest

PROXY = None
ORACLE = None

IN_FLIGHT = 6           # requests held at the upstream when SIGTERM arrives
BIG_RECORDS = 40_000    # records per /big document (several MB of JSON)
STATE_WAIT_S = 60       # upper bound for any awaited state; a hang fails instead of blocking


def users_document(seed, n):
    return {"seed": seed, "users": [
        {"id": i, "name": f"user {seed}-{i}", "email": f"u{i}@example.com",
         "active": i % 3 == 0, "score": i * 0.25 + seed, "joined": "2024-05-17T10:20:30Z",
         "tags": ["a", "b"] if i % 2 else []}
        for i in range(n)]}


class HeldUpstream:
    """An HTTP/1.1 JSON API whose /big responses wait for release(); /small answers at once."""

    def __init__(self):
        self.release_event = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.bodies = {}
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path, _, query = self.path.partition("?")
                if path == "/big":
                    seed = int(query.split("=")[1])
                    body = upstream.body_for(seed)
                    upstream.arrived.release()
                    upstream.release_event.wait(STATE_WAIT_S)
                else:
                    body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the proxy cut this one on purpose (shutdown timeout, second signal)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def body_for(self, seed):
        if seed not in self.bodies:
            doc = users_document(seed, BIG_RECORDS)
            self.bodies[seed] = json.dumps(doc, separators=(",", ":")).encode()
        return self.bodies[seed]

    def wait_arrivals(self, n):
        for _ in range(n):
            if not self.arrived.acquire(timeout=STATE_WAIT_S):
                raise AssertionError("requests did not reach the upstream")

    def release(self):
        self.release_event.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, headers=None, conn=None):
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=STATE_WAIT_S)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        if own:
            conn.close()


def connection_refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except OSError as e:
        return e.errno == errno.ECONNREFUSED or isinstance(e, ConnectionRefusedError)


class Proxy:
    def __init__(self, upstream_port, drain_delay_ms, shutdown_timeout_ms):
        self.port = free_port()
        self.admin = free_port()
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [PROXY, "--listen", f"127.0.0.1:{self.port}",
             "--admin-listen", f"127.0.0.1:{self.admin}",
             "--upstream", f"http://127.0.0.1:{upstream_port}",
             "--drain-delay-ms", str(drain_delay_ms),
             "--shutdown-timeout-ms", str(shutdown_timeout_ms),
             # Room for every held transform at once: this test is about the drain, not the
             # memory budget (a transform leases about 45x its JSON).
             "--transform-memory-budget-bytes", str(4 << 30),
             "--threads", "2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until(lambda: self.admin_status("/healthz") == 200, "the proxy did not start")

    def admin_status(self, path):
        try:
            return get(self.admin, path)[0]
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError(f"the proxy exited with {self.proc.returncode}: {self.output()}")
            return None

    def wait_until(self, predicate, what):
        # Each probe is a round trip to the proxy, so this loop is paced by the proxy itself;
        # the count bounds it.
        for _ in range(200_000):
            if predicate():
                return
        raise AssertionError(what)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Drain(unittest.TestCase):
    def setUp(self):
        self.upstream = HeldUpstream()
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.upstream.close()
        self.tmp.cleanup()

    def start_in_flight(self, proxy):
        results = {}

        def client(seed):
            headers = {"Accept": "application/x-bfast"} if seed % 2 == 0 else {}
            try:
                results[seed] = get(proxy.port, f"/big?seed={seed}", headers)
            except Exception as e:  # recorded and reported by the checks
                results[seed] = e

        threads = [threading.Thread(target=client, args=(seed,)) for seed in range(IN_FLIGHT)]
        for t in threads:
            t.start()
        self.upstream.wait_arrivals(IN_FLIGHT)
        return threads, results

    def oracle_check(self, seed, bfast_body):
        json_path = os.path.join(self.tmp.name, f"{seed}.json")
        bfast_path = os.path.join(self.tmp.name, f"{seed}.bfast")
        with open(json_path, "wb") as f:
            f.write(self.upstream.body_for(seed))
        with open(bfast_path, "wb") as f:
            f.write(bfast_body)
        run = subprocess.run([sys.executable, ORACLE, json_path, bfast_path],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, f"seed {seed}: {run.stdout}{run.stderr}")

    def test_sigterm_drains_in_flight_requests(self):
        proxy = Proxy(self.upstream.port, drain_delay_ms=1500, shutdown_timeout_ms=60_000)
        try:
            # A kept-alive client connection, used again during the drain delay.
            kept = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=STATE_WAIT_S)
            self.assertEqual(get(proxy.port, "/small", conn=kept)[0], 200)
            threads, results = self.start_in_flight(proxy)

            proxy.proc.send_signal(signal.SIGTERM)
            proxy.wait_until(lambda: proxy.admin_status("/readyz") == 503,
                             "/readyz did not turn 503 after SIGTERM")
            # Still accepting during the delay, and telling kept-alive clients to go.
            self.assertIsNone(proxy.proc.poll())
            status, headers, _ = get(proxy.port, "/small")
            self.assertEqual(status, 200)
            status, headers, _ = get(proxy.port, "/small", conn=kept)
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("connection", "").lower(), "close")
            kept.close()

            # After the delay the listener closes, with every /big request still held.
            proxy.wait_until(lambda: connection_refused(proxy.port),
                             "new connections were still accepted after the drain delay")
            self.assertIsNone(proxy.proc.poll(), "exited with requests in flight")
            self.assertEqual(results, {}, "a held request finished early")

            self.upstream.release()
            for t in threads:
                t.join(STATE_WAIT_S)
            for seed in range(IN_FLIGHT):
                with self.subTest(seed=seed):
                    result = results.get(seed)
                    self.assertNotIsInstance(result, Exception, repr(result))
                    status, headers, body = result
                    self.assertEqual(status, 200)
                    self.assertEqual(int(headers["content-length"]), len(body))
                    if seed % 2 == 0:
                        self.assertEqual(headers["content-type"], "application/x-bfast")
                        self.oracle_check(seed, body)
                    else:
                        self.assertEqual(body, self.upstream.body_for(seed))

            self.assertEqual(proxy.proc.wait(STATE_WAIT_S), 0, proxy.output())
        finally:
            proxy.stop()

    def test_shutdown_timeout_cuts_and_counts(self):
        proxy = Proxy(self.upstream.port, drain_delay_ms=0, shutdown_timeout_ms=500)
        try:
            threads, results = self.start_in_flight(proxy)
            proxy.proc.send_signal(signal.SIGTERM)
            # The upstream is never released: the proxy must give up at shutdown_timeout.
            proxy.proc.wait(STATE_WAIT_S)
            self.assertRegex(proxy.output(), rf"\b{IN_FLIGHT}\b")
            for t in threads:
                t.join(STATE_WAIT_S)
            for seed in range(IN_FLIGHT):
                with self.subTest(seed=seed):
                    # Cut, never presented as complete.
                    result = results[seed]
                    if not isinstance(result, Exception):
                        status, headers, body = result
                        self.assertNotEqual(int(headers.get("content-length", -1)), len(body))
        finally:
            proxy.stop()

    def test_second_signal_exits_at_once(self):
        proxy = Proxy(self.upstream.port, drain_delay_ms=600_000, shutdown_timeout_ms=600_000)
        try:
            threads, _ = self.start_in_flight(proxy)
            proxy.proc.send_signal(signal.SIGTERM)
            proxy.wait_until(lambda: proxy.admin_status("/readyz") == 503,
                             "/readyz did not turn 503 after SIGTERM")
            proxy.proc.send_signal(signal.SIGTERM)
            # Both timings are ten minutes; exiting within STATE_WAIT_S shows neither was waited.
            proxy.proc.wait(STATE_WAIT_S)
            self.upstream.release()
            for t in threads:
                t.join(STATE_WAIT_S)
        finally:
            proxy.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    PROXY, ORACLE = sys.argv[1], sys.argv[2]
    unittest.main(argv=[sys.argv[0], "-v"])
