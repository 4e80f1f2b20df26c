"""SIGHUP reloads the configuration without dropping a connection, and the upstream's name is
resolved again while the proxy runs. The DNS tests run the proxy in a mount namespace of its own
where /etc/hosts is a file the test rewrites, so resolution goes through the real resolver."""
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import unittest

from harness import (PROXY, START_TIMEOUT, Nginx, Proxy, ResponseReader, curl, free_port,
                     series_sum)

TWITTER = "/realworld/twitter.json"
ACCEPT_BFAST = "Accept: application/x-bfast"
UPSTREAM_NAME = "upstream.test"


def base_config(upstream, **more):
    config = {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0", "upstream": upstream,
              "threads": 2, "transform_threads": 2, "access_log": False, "drain_delay_ms": 0,
              "routes": [{"prefix": "/"}]}
    config.update(more)
    return config


class KeepAliveClient:
    """One client connection carrying request after request."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT)

    def get(self, target, *headers):
        head = f"GET {target} HTTP/1.1\r\nHost: reload.test\r\n"
        head += "".join(h + "\r\n" for h in headers) + "\r\n"
        self.sock.sendall(head.encode())
        return ResponseReader(self.sock, START_TIMEOUT).read()

    def server(self, target="/x"):
        """Which upstream answered."""
        r = self.get(target)
        if not r.complete or r.status != 200:
            raise AssertionError(f"status {r.status}, error {r.error}")
        return json.loads(r.body)["server"]

    def close(self):
        self.sock.close()


class NamedUpstream:
    """An HTTP/1.1 upstream that answers {"server": name} and keeps connections alive (a target
    starting /close closes after its response). It counts the connections open to it."""

    def __init__(self, name, host, port=0):
        self.open = 0
        self.cond = threading.Condition()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                upstream._count(+1)

            def finish(self):
                try:
                    super().finish()
                finally:
                    upstream._count(-1)

            def do_GET(self):
                body = json.dumps({"server": name}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if self.path.startswith("/close"):
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _count(self, delta):
        with self.cond:
            self.open += delta
            self.cond.notify_all()

    def wait_open(self, n):
        """Whether the count of open connections reaches n (bounded wait)."""
        with self.cond:
            return self.cond.wait_for(lambda: self.open == n, timeout=START_TIMEOUT)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def reload(proxy, expect="reload ok"):
    """Sends SIGHUP; returns the proxy's stderr lines up to the one that says how it went."""
    proxy.proc.send_signal(signal.SIGHUP)
    return proxy.wait_for_line(expect)


def check_config(config_path, wrapper=()):
    return subprocess.run([*wrapper, PROXY, "--check-config", "--config", config_path],
                          capture_output=True, text=True, timeout=START_TIMEOUT)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.nginx = Nginx()
        self.addCleanup(self.nginx.stop)
        self.config = base_config(f"http://127.0.0.1:{self.nginx.port}")
        self.proxy = Proxy(None, config=self.config)
        self.addCleanup(self.proxy.stop)

    def test_every_request_completes_while_reloads_come(self):
        statuses, cond, stop = [], threading.Condition(), threading.Event()

        def client_loop():
            c = KeepAliveClient(self.proxy.port)
            try:
                while not stop.is_set():
                    r = c.get(TWITTER, ACCEPT_BFAST)
                    with cond:
                        statuses.append(r.status if r.complete else f"{r.status} {r.error}")
                        cond.notify_all()
                    if not r.complete:
                        return
            finally:
                c.close()

        clients = [threading.Thread(target=client_loop) for _ in range(2)]
        for t in clients:
            t.start()
        try:
            for i in range(5):
                with cond:
                    # Traffic between every two reloads, on the same kept-alive connections.
                    target = len(statuses) + 4
                    self.assertTrue(cond.wait_for(lambda: len(statuses) >= target,
                                                  timeout=START_TIMEOUT))
                self.config["routes"] = [{"prefix": "/", "enabled": i % 2 == 0}]
                self.config["keepalive_idle_timeout_ms"] = 60_000 + i
                self.proxy.write_config(self.config)
                reload(self.proxy)
            with cond:
                target = len(statuses) + 4
                self.assertTrue(cond.wait_for(lambda: len(statuses) >= target,
                                              timeout=START_TIMEOUT))
        finally:
            stop.set()
            for t in clients:
                t.join(START_TIMEOUT)
        self.assertEqual([s for s in statuses if s != 200], [])
        m = self.proxy.metrics()
        self.assertEqual(m['bfast_config_reloads_total{result="ok"}'], 5)
        self.assertEqual(m['bfast_config_reloads_total{result="invalid"}'], 0)
        self.assertEqual(m["bfast_config_generation"], 6)
        self.assertEqual(m["bfast_config_last_reload_success"], 1)
        self.assertEqual(m["bfast_connections_accepted_total"], 2)  # no client had to reconnect

    def test_new_route_rules_apply_to_the_next_request(self):
        c = KeepAliveClient(self.proxy.port)
        self.addCleanup(c.close)
        self.assertEqual(c.get(TWITTER, ACCEPT_BFAST).header("content-type"),
                         "application/x-bfast")
        self.config["routes"] = [{"prefix": "/", "enabled": False}]
        self.proxy.write_config(self.config)
        reload(self.proxy)
        # The same connection, and a new one: both under the new rules.
        same = c.get(TWITTER, ACCEPT_BFAST)
        self.assertEqual(same.status, 200)
        self.assertEqual(same.header("content-type"), "application/json")
        self.assertEqual(curl(self.proxy.url + TWITTER, "-H", ACCEPT_BFAST).header("content-type"),
                         "application/json")
        m = self.proxy.metrics()
        self.assertEqual(series_sum(m, "bfast_decisions_total", decision="passthrough",
                                    reason="route_disabled"), 2)

    def test_a_broken_config_is_refused_and_the_old_one_kept(self):
        broken = dict(self.config, routes=[{"prefix": "/", "compress": "sometimes"}])
        self.proxy.write_config(broken)
        checked = check_config(self.proxy.config_path)
        self.assertEqual(checked.returncode, 2)
        error = checked.stderr.strip().split("config error: ", 1)[1]
        self.assertIn("routes[0].compress", error)
        lines = reload(self.proxy, "reload refused")
        self.assertIn(f"bfast-proxy: reload: config error: {error}\n", lines)
        m = self.proxy.metrics()
        self.assertEqual(m['bfast_config_reloads_total{result="invalid"}'], 1)
        self.assertEqual(m["bfast_config_last_reload_success"], 0)
        self.assertEqual(m["bfast_config_generation"], 1)
        # The old rules still serve.
        self.assertEqual(curl(self.proxy.url + TWITTER, "-H", ACCEPT_BFAST).header("content-type"),
                         "application/x-bfast")

        self.proxy.write_config("{ not json")
        self.assertTrue(any("not valid JSON" in line for line in reload(self.proxy, "reload refused")))
        self.proxy.write_config(self.config)
        reload(self.proxy)
        m = self.proxy.metrics()
        self.assertEqual(m['bfast_config_reloads_total{result="invalid"}'], 2)
        self.assertEqual(m['bfast_config_reloads_total{result="ok"}'], 1)
        self.assertEqual(m["bfast_config_last_reload_success"], 1)
        self.assertEqual(m["bfast_config_generation"], 2)

    def test_listen_and_thread_changes_are_reported_and_ignored(self):
        other_port = free_port()
        self.config.update(listen=f"127.0.0.1:{other_port}", threads=3,
                           routes=[{"prefix": "/", "enabled": False}])
        self.proxy.write_config(self.config)
        lines = "".join(reload(self.proxy))
        self.assertIn("listen: a reload cannot change it (running 127.0.0.1:0, new config "
                      f"127.0.0.1:{other_port})", lines)
        self.assertIn("threads: a reload cannot change it (running 2, new config 3)", lines)
        # The rest of the new configuration applies; the listener stays where it was.
        self.assertEqual(curl(self.proxy.url + TWITTER, "-H", ACCEPT_BFAST).header("content-type"),
                         "application/json")
        with socket.socket() as s:
            self.assertNotEqual(s.connect_ex(("127.0.0.1", other_port)), 0)


class UpstreamReloadTest(unittest.TestCase):
    def test_a_new_upstream_takes_over_and_the_old_ones_connections_close(self):
        a, b = NamedUpstream("a", "127.0.0.1"), NamedUpstream("b", "127.0.0.1")
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        # Idle pooled connections would otherwise also close by their idle timeout.
        config = base_config(f"http://127.0.0.1:{a.port}", upstream_pool_idle_timeout_ms=600_000)
        proxy = Proxy(None, config=config)
        self.addCleanup(proxy.stop)
        c = KeepAliveClient(proxy.port)
        self.addCleanup(c.close)
        self.assertEqual(c.server(), "a")
        self.assertTrue(a.wait_open(1))  # pooled
        proxy.write_config(dict(config, upstream=f"http://127.0.0.1:{b.port}"))
        reload(proxy)
        self.assertEqual(c.server(), "b")
        self.assertTrue(a.wait_open(0), "the pooled connection to the old upstream stays open")
        self.assertGreaterEqual(proxy.metrics()["bfast_upstream_pool_retired_total"], 1)

    def test_a_new_upstream_that_does_not_resolve_is_refused(self):
        a = NamedUpstream("a", "127.0.0.1")
        self.addCleanup(a.stop)
        config = base_config(f"http://127.0.0.1:{a.port}")
        proxy = Proxy(None, config=config)
        self.addCleanup(proxy.stop)
        proxy.write_config(dict(config, upstream="http://no-such-host.invalid:80"))
        lines = "".join(reload(proxy, "reload refused"))
        self.assertIn('reload: config error: upstream: cannot resolve "no-such-host.invalid"', lines)
        c = KeepAliveClient(proxy.port)
        self.addCleanup(c.close)
        self.assertEqual(c.server(), "a")


def can_unshare():
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True,
                              timeout=START_TIMEOUT).returncode == 0
    except OSError:
        return False


@unittest.skipUnless(can_unshare(), "needs unshare -m (root) for a private /etc/hosts")
class ResolutionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bfast-hosts-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.hosts = os.path.join(self.dir, "hosts")
        self.write_hosts("127.0.0.2")
        # The proxy's /etc/hosts is this file, bind-mounted in a mount namespace of its own;
        # it is rewritten in place, so the mount keeps showing it.
        self.wrapper = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"',
                        self.hosts]

    def write_hosts(self, *addresses):
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost\n")
            f.writelines(f"{a} {UPSTREAM_NAME}\n" for a in addresses)

    def upstream_pair(self):
        """Upstreams "a" on 127.0.0.2 and "b" on 127.0.0.3, on the same port."""
        for _ in range(20):
            a = NamedUpstream("a", "127.0.0.2")
            try:
                b = NamedUpstream("b", "127.0.0.3", a.port)
            except OSError:
                a.stop()
                continue
            self.addCleanup(a.stop)
            self.addCleanup(b.stop)
            return a, b
        self.fail("no port free on both addresses")

    def test_traffic_follows_the_upstreams_addresses(self):
        a, b = self.upstream_pair()
        config = base_config(f"http://{UPSTREAM_NAME}:{a.port}", upstream_resolve_interval_ms=50,
                             upstream_pool_idle_timeout_ms=600_000)
        proxy = Proxy(None, config=config, wrapper=self.wrapper)
        self.addCleanup(proxy.stop)
        c = KeepAliveClient(proxy.port)
        self.addCleanup(c.close)
        self.assertEqual(c.server(), "a")
        self.assertTrue(a.wait_open(1))  # pooled

        self.write_hosts("127.0.0.3")
        proxy.wait_for_line("now resolves to 127.0.0.3")
        self.assertTrue(a.wait_open(0), "the pooled connection to the address that left stays")
        self.assertEqual([c.server() for _ in range(4)], ["b"] * 4)
        m = proxy.metrics()
        self.assertGreaterEqual(m["bfast_upstream_pool_retired_total"], 1)
        self.assertEqual(m["bfast_upstream_addresses"], 1)

        # Both addresses: new connections take them in turn.
        self.write_hosts("127.0.0.2", "127.0.0.3")
        proxy.wait_for_line("now resolves to 127.0.0.2")
        self.assertEqual(proxy.metrics()["bfast_upstream_addresses"], 2)
        self.assertEqual({c.server("/close") for _ in range(6)}, {"a", "b"})

        # The name stops resolving: the last good addresses stay in use.
        self.write_hosts()
        proxy.wait_for_line(f'cannot resolve "{UPSTREAM_NAME}"')
        self.assertIn(c.server("/close"), {"a", "b"})
        m = proxy.metrics()
        self.assertGreaterEqual(m["bfast_upstream_resolve_failures_total"], 1)
        self.assertEqual(m["bfast_upstream_addresses"], 2)

    def test_check_config_resolves_the_upstream(self):
        path = os.path.join(self.dir, "config.json")
        with open(path, "w") as f:
            json.dump(base_config(f"http://{UPSTREAM_NAME}:80"), f)
        ok = check_config(path, self.wrapper)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn(f"upstream {UPSTREAM_NAME} resolves to 127.0.0.2:80", ok.stdout)
        self.write_hosts()
        refused = check_config(path, self.wrapper)
        self.assertEqual(refused.returncode, 2, refused.stdout)
        self.assertIn(f'config error: upstream: cannot resolve "{UPSTREAM_NAME}"', refused.stderr)


if __name__ == "__main__":
    unittest.main()
