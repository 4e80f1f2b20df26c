"""Upgrade tunnels: WebSocket through the proxy (python3-websockets as client and upstream), the
tunnel's idle timeout, half-close and cap, and raw-socket attacks on the switch itself."""
import asyncio
import json
import os
import signal
import socket
import subprocess
import threading
import unittest

import websockets

from harness import Proxy, START_TIMEOUT, wait_for

WAIT = 30  # seconds: a bound on waiting, never an expectation of speed
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
SWITCH = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n")


class EchoUpstream:
    """A websockets echo server on its own event loop thread. /push sends first."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.request_headers = []
        ready = threading.Event()

        async def echo(ws, *_):
            self.request_headers.append(ws.request_headers)
            if ws.path == "/push":
                await ws.send("pushed")
            try:
                async for msg in ws:
                    await ws.send(msg)
            except websockets.ConnectionClosed:
                pass

        async def start():
            self.server = await websockets.serve(echo, "127.0.0.1", 0, max_size=None,
                                                 ping_interval=None)
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop)
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("echo upstream did not start")

    def stop(self):
        async def close():
            self.server.close()
            await self.server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self.loop).result(WAIT)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)
        self.loop.close()


class RawUpstream:
    """An upstream that reads one request head per connection and hands the connection, the
    head and the bytes read past it to `script`."""

    def __init__(self, script):
        self.script = script
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.heads = []
        self.errors = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        conn.settimeout(WAIT)
        try:
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    c = conn.recv(65536)
                    if not c:
                        return
                    buf += c
                head, rest = buf.split(b"\r\n\r\n", 1)
                self.heads.append(head.decode("latin-1"))
                self.script(conn, head.decode("latin-1"), rest)
        except Exception as e:  # reported by the test, never lost in a thread
            self.errors.append(repr(e))

    def stop(self):
        self.sock.close()


def start_proxy(upstream_port, *args, **kwargs):
    """A proxy that stops at once: no drain delay to wait out at the end of each test."""
    return Proxy(upstream_port, "--drain-delay-ms", "0", *args, **kwargs)


def headers_of(head):
    out = {}
    for line in head.split("\r\n")[1:]:
        k, v = line.split(":", 1)
        out.setdefault(k.strip().lower(), []).append(v.strip())
    return out


def read_exactly(sock, n, buf=b""):
    while len(buf) < n:
        c = sock.recv(65536)
        if not c:
            break
        buf += c
    return buf


def read_head(sock):
    """One response head off a raw socket, and what came after it."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        c = sock.recv(65536)
        if not c:
            return buf, b""
        buf += c
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head, rest


def read_to_eof(sock, buf=b""):
    while True:
        try:
            c = sock.recv(65536)
        except ConnectionResetError:
            return buf
        if not c:
            return buf
        buf += c


def ws_url(proxy, path="/ws"):
    return f"ws://127.0.0.1:{proxy.port}{path}"


def connect(proxy, path="/ws", **kwargs):
    return websockets.connect(ws_url(proxy, path), max_size=None, ping_interval=None,
                              open_timeout=WAIT, **kwargs)


class WebSocketTest(unittest.TestCase):
    """python3-websockets on both sides of the proxy."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = EchoUpstream()
        cls.proxy = start_proxy(cls.upstream.port)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.upstream.stop()

    def test_echo_both_ways(self):
        async def run():
            async with connect(self.proxy, "/push") as ws:
                pushed = await ws.recv()
                await ws.send("text frame")
                text = await ws.recv()
                await ws.send(b"\x00\x01binary")
                binary = await ws.recv()
                return pushed, text, binary
        self.assertEqual(asyncio.run(run()), ("pushed", "text frame", b"\x00\x01binary"))
        seen = self.upstream.request_headers[-1]
        self.assertEqual(seen["Upgrade"].lower(), "websocket")
        self.assertIn("upgrade", seen["Connection"].lower())
        wait_for(lambda: self.proxy.metrics()["bfast_tunnels_open"] == 0, "the tunnel to close")
        m = self.proxy.metrics()
        self.assertGreaterEqual(m["bfast_tunnels_total"], 1)
        self.assertGreater(m['bfast_tunnel_bytes_total{direction="to_upstream"}'], 0)
        self.assertGreater(m['bfast_tunnel_bytes_total{direction="to_client"}'], 0)

    def test_frames_larger_than_the_relay_buffer(self):
        big = os.urandom((1 << 20) + 17)
        text = "é" * (300 * 1024)

        async def run():
            async with connect(self.proxy) as ws:
                await ws.send(big)
                got_big = await ws.recv()
                await ws.send(text)
                got_text = await ws.recv()
                return got_big, got_text
        got_big, got_text = asyncio.run(run())
        self.assertEqual(got_big, big)
        self.assertEqual(got_text, text)

    def test_bfast_accept_changes_nothing(self):
        body = json.dumps({"id": 1, "values": [1.5, 2.5], "name": "x"})

        async def run():
            async with connect(self.proxy, extra_headers={"Accept": "application/x-bfast"}) as ws:
                await ws.send(body)
                got = await ws.recv()
                return got, ws.response_headers
        got, headers = asyncio.run(run())
        self.assertEqual(got, body)
        self.assertNotIn("BFast-Status", headers)
        self.assertEqual(headers["Upgrade"].lower(), "websocket")


class TunnelLimitsTest(unittest.TestCase):
    def setUp(self):
        self.upstream = EchoUpstream()
        self.addCleanup(self.upstream.stop)

    def start_proxy(self, config):
        proxy = start_proxy(self.upstream.port, config=config)
        self.addCleanup(proxy.stop)
        return proxy

    def test_idle_tunnel_is_closed(self):
        proxy = self.start_proxy({"tunnel_idle_timeout_ms": 200})

        async def run():
            async with connect(proxy, close_timeout=WAIT) as ws:
                await ws.send("still here")
                echoed = await ws.recv()
                # Nothing more either way: the proxy must close the tunnel.
                await asyncio.wait_for(ws.wait_closed(), WAIT)
                return echoed
        self.assertEqual(asyncio.run(run()), "still here")
        wait_for(lambda: proxy.metrics()["bfast_tunnels_open"] == 0, "the tunnel to close")
        self.assertEqual(proxy.metrics()["bfast_tunnels_idle_closed_total"], 1)

    def test_cap_on_tunnels(self):
        proxy = self.start_proxy({"max_tunnels": 2})

        async def run():
            first = await connect(proxy)
            second = await connect(proxy)
            with self.assertRaises(websockets.InvalidStatusCode) as refused:
                await connect(proxy)
            await second.close()
            # The slot comes back once the tunnel has ended.
            while proxy.metrics()["bfast_tunnels_open"] > 1:
                await asyncio.sleep(0.02)
            async with connect(proxy) as third:
                await third.send("third")
                got = await third.recv()
            await first.close()
            return refused.exception.status_code, got
        status, got = asyncio.run(asyncio.wait_for(run(), WAIT))
        self.assertEqual(status, 503)
        self.assertEqual(got, "third")
        self.assertEqual(proxy.metrics()["bfast_tunnels_refused_total"], 1)

    def test_drain_closes_tunnels_at_the_shutdown_timeout(self):
        proxy = start_proxy(self.upstream.port, "--shutdown-timeout-ms", "200")
        self.addCleanup(proxy.stop)

        async def run():
            async with connect(proxy, close_timeout=WAIT) as ws:
                await ws.send("before")
                await ws.recv()
                proxy.proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(ws.wait_closed(), WAIT)
        asyncio.run(run())
        self.assertEqual(proxy.proc.wait(WAIT), 0)
        lines = []

        def said_so():
            while not proxy.stderr_lines.empty():
                lines.append(proxy.stderr_lines.get())
            return any("1 tunnel(s)" in line for line in lines)
        wait_for(said_so, "the shutdown line to count the tunnel")

    def test_access_log_says_tunnel(self):
        proxy = start_proxy(self.upstream.port, "--access-log=true", stdout=subprocess.PIPE)
        self.addCleanup(proxy.proc.stdout.close)
        self.addCleanup(proxy.stop)

        async def run():
            async with connect(proxy, extra_headers={"Accept": "application/x-bfast"}) as ws:
                await ws.send(os.urandom(1000))
                await ws.recv()
        asyncio.run(run())
        wait_for(lambda: proxy.metrics()["bfast_tunnels_open"] == 0, "the tunnel to close")
        proxy.stop()
        entry = json.loads(proxy.proc.stdout.read().splitlines()[-1])
        self.assertEqual(entry["status"], 101)
        self.assertEqual(entry["decision"], "tunnel")
        self.assertGreater(entry["bytes_out"], 1000)


def guarded(bad):
    """An upstream script: a proper switch for /ok, `bad` for anything else."""
    def script(conn, head, rest):
        if head.startswith("GET /ok "):
            conn.sendall(SWITCH + b"\r\ntunnelled")
        else:
            bad(conn, head, rest)
    return script


def switch_then(after):
    """An upstream script: 101 at once (with `extra` header lines), then `after(conn, rest)`."""
    def script(conn, head, rest):
        conn.sendall(SWITCH + b"\r\n")
        after(conn, rest)
    return script


class RawTunnelTest(unittest.TestCase):
    """Raw sockets on both sides, for what a WebSocket library would never send."""

    def start(self, script, config=None):
        upstream = RawUpstream(script)
        self.addCleanup(upstream.stop)
        proxy = start_proxy(upstream.port, config=config)
        self.addCleanup(proxy.stop)
        self.addCleanup(lambda: self.assertEqual(upstream.errors, []))
        return upstream, proxy

    def assert_a_good_switch_works(self, proxy):
        """The guard tests' control: on the same proxy and upstream, a proper upgrade tunnels."""
        s = self.client(proxy)
        s.sendall(UPGRADE.replace(b"/ws", b"/ok"))
        head, rest = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertEqual(read_to_eof(s, rest), b"tunnelled")

    def client(self, proxy):
        s = socket.create_connection(("127.0.0.1", proxy.port), timeout=WAIT)
        self.addCleanup(s.close)
        return s

    def test_half_close_keeps_the_other_direction(self):
        seen = {}

        def after(conn, rest):
            seen["before_eof"] = read_to_eof(conn, rest)
            conn.sendall(b"after your FIN")
            conn.shutdown(socket.SHUT_WR)

        upstream, proxy = self.start(switch_then(after))
        s = self.client(proxy)
        s.sendall(UPGRADE)
        head, rest = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        s.sendall(b"last words")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_eof(s, rest), b"after your FIN")
        self.assertEqual(seen["before_eof"], b"last words")

    def test_pipelined_bytes_go_through_the_tunnel_not_to_http(self):
        smuggled = b"GET /admin HTTP/1.1\r\nHost: t\r\n\r\n"
        seen = {}

        def script(conn, head, rest):
            # The 101 and the upstream's first bytes in one write.
            conn.sendall(SWITCH + b"\r\nserver first")
            seen["tunnel"] = read_exactly(conn, len(smuggled), rest)
            conn.sendall(b"echo:" + seen["tunnel"])
            conn.close()

        upstream, proxy = self.start(script)
        s = self.client(proxy)
        s.sendall(UPGRADE + smuggled)
        head, rest = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertEqual(read_to_eof(s, rest), b"server first" + b"echo:" + smuggled)
        self.assertEqual(seen["tunnel"], smuggled)
        self.assertEqual(len(upstream.heads), 1)
        self.assertEqual(proxy.metrics()["bfast_requests_total"], 1)

    def assert_502_for(self, answer, request=UPGRADE):
        """The upstream answers `request` with `answer`: the client must get a 502, from a proxy
        that tunnels a proper switch."""
        upstream, proxy = self.start(guarded(lambda conn, head, rest: conn.sendall(answer)))
        self.assert_a_good_switch_works(proxy)
        s = self.client(proxy)
        s.sendall(request)
        head, _ = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 502"), head)

    def test_101_without_an_upgrade_request_is_502(self):
        self.assert_502_for(SWITCH + b"\r\nGET /behind-the-proxy HTTP/1.1\r\n\r\n",
                            b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")

    def test_101_with_a_body_length_is_502(self):
        self.assert_502_for(SWITCH + b"Content-Length: 5\r\n\r\nhello")

    def test_101_with_transfer_encoding_is_502(self):
        self.assert_502_for(SWITCH + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

    def test_101_without_upgrade_header_is_502(self):
        self.assert_502_for(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n")

    def test_101_with_content_length_0_switches_without_it(self):
        def script(conn, head, rest):
            conn.sendall(SWITCH + b"Content-Length: 0\r\n\r\nbytes")

        upstream, proxy = self.start(script)
        s = self.client(proxy)
        s.sendall(UPGRADE)
        head, rest = read_head(s)
        self.assertTrue(head.startswith(b"HTTP/1.1 101"), head)
        self.assertNotIn(b"content-length", head.lower())
        self.assertEqual(read_exactly(s, 5, rest), b"bytes")


def answer_ok(conn, head, rest):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
                 b"Connection: close\r\n\r\nplain")


class PlainHttpInsteadTest(unittest.TestCase):
    """Upgrades the proxy does not carry: served as plain HTTP/1.1, Upgrade stripped."""

    @classmethod
    def setUpClass(cls):
        cls.upstream = RawUpstream(answer_ok)
        cls.proxy = start_proxy(cls.upstream.port, config={
            "routes": [{"prefix": "/"}, {"prefix": "/no-upgrades/", "upgrades": False}]})

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.upstream.stop()

    def ask(self, request):
        with socket.create_connection(("127.0.0.1", self.proxy.port), timeout=WAIT) as s:
            s.sendall(request)
            head, rest = read_head(s)
        return head, headers_of(self.upstream.heads[-1])

    def assert_upgrade_goes_up(self, request=UPGRADE):
        """The control: on the same proxy, a proper upgrade request reaches the upstream whole."""
        head, seen = self.ask(request)
        self.assertEqual(seen.get("upgrade"), ["websocket"])
        self.assertEqual(seen.get("connection"), ["upgrade"])

    def test_h2c_is_ignored(self):
        self.assert_upgrade_goes_up()
        head, seen = self.ask(b"GET /h HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                              b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertNotIn("upgrade", seen)
        self.assertNotIn("http2-settings", seen)

    def test_h2c_is_left_out_of_a_list(self):
        self.assert_upgrade_goes_up(b"GET /h HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                                    b"Upgrade: h2c, websocket\r\n\r\n")

    def test_route_without_upgrades(self):
        self.assert_upgrade_goes_up()
        head, seen = self.ask(UPGRADE.replace(b"/ws", b"/no-upgrades/ws"))
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertNotIn("upgrade", seen)

    def test_upgrade_with_a_body_or_not_a_get_or_http10(self):
        self.assert_upgrade_goes_up()
        for request in (UPGRADE.replace(b"GET", b"POST"),
                        UPGRADE.replace(b"\r\n\r\n", b"\r\nContent-Length: 2\r\n\r\nhi"),
                        UPGRADE.replace(b"HTTP/1.1", b"HTTP/1.0")):
            head, seen = self.ask(request)
            self.assertTrue(head.startswith(b"HTTP/1."), head)
            self.assertEqual(head.split(b" ")[1], b"200", head)
            self.assertNotIn("upgrade", seen)

    def test_a_refused_upgrade_is_an_ordinary_response(self):
        head, seen = self.ask(UPGRADE)
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertEqual(seen["upgrade"], ["websocket"])


if __name__ == "__main__":
    unittest.main()
