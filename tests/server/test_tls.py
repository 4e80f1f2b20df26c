"""TLS on both sides of the proxy: the data listener (versions, ciphers, ALPN, the handshake
deadline, plain HTTP on the TLS port, metrics), the upstream (verification failures, SNI,
client certificates, pooled connections, the connect deadline), the same bytes as over
cleartext, and reloading the listener's certificate. Certificates come from tls_certs (openssl),
TLS upstreams from tls_upstream (nginx), TLS clients are curl, openssl s_client and ssl."""
import asyncio
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import websockets

from harness import (BFAST, CORPUS, START_TIMEOUT, Proxy, ResponseReader, curl, oracle_checks,
                     raw_request, status_of, wait_for)
from scripted_upstream import ScriptedUpstream
from test_reload import base_config, check_config, reload
from test_tunnel import EchoUpstream
from tls_certs import Certificates, serial_of_pem
from tls_upstream import TlsNginx

TWITTER = "/realworld/twitter.json"
# A deadline the listener is configured with, and a bound on waiting for it to act that the
# default (10 s) would overrun: the bound is generous, never an expectation of speed.
HANDSHAKE_TIMEOUT_MS = 1000
CLOSE_BOUND = 5
REJECTED = "upstream TLS certificate rejected: "
# Client hints that decide the representation, so that what TCP_INFO reads off the socket (which
# a TLS handshake has already carried data on) does not.
SLOW_LINK = ("-H", "RTT: 300", "-H", "Downlink: 1.6")


def setUpModule():
    global certs, nginx
    certs = Certificates()
    try:
        nginx = TlsNginx(certs)  # cleartext on nginx.port, TLS on nginx.ports[...]
    except Exception:
        certs.cleanup()
        raise


def tearDownModule():
    nginx.stop()
    certs.cleanup()


def listener_tls(pair=None):
    pair = pair or certs.server
    return {"tls_certificate": pair.chain, "tls_certificate_key": pair.key}


def start_proxy(test, upstream=None, stdout=subprocess.DEVNULL, **config):
    """A proxy configured by a file only (base_config plus `config`), stopped after the test."""
    upstream = upstream or f"http://127.0.0.1:{nginx.port}"
    proxy = Proxy(None, config=base_config(upstream, **config), stdout=stdout)
    test.addCleanup(proxy.stop)
    return proxy


def https_url(proxy, path=TWITTER):
    return f"https://localhost:{proxy.port}{path}"


def original(path):
    with open(CORPUS + path, "rb") as f:
        return f.read()


def s_client(port, *args):
    """openssl s_client to 127.0.0.1:port with SNI localhost, trusting the test CA and giving up
    on a verification error; stdin is empty, so it closes once the handshake is done."""
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                           "-servername", "localhost", "-CAfile", certs.ca.cert,
                           "-verify_return_error", *args],
                          input="", capture_output=True, text=True, timeout=START_TIMEOUT)


def handshakes(port, *args):
    return s_client(port, *args).returncode == 0


def served_serial(port):
    p = s_client(port)
    if p.returncode != 0:
        raise AssertionError(f"handshake failed: {p.stderr[-500:]}")
    return serial_of_pem(p.stdout)


def client_hello():
    """The bytes of a real TLS ClientHello, as a client would send first."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def closed_within(sock, bound):
    """Whether the peer closes (EOF or reset) within `bound` seconds; bytes it sends first, an
    alert say, are read and dropped."""
    deadline = time.monotonic() + bound
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True


class TlsClient:
    """One TLS connection to the proxy carrying request after request."""

    def __init__(self, port):
        context = ssl.create_default_context(cafile=certs.ca.cert)
        raw = socket.create_connection(("127.0.0.1", port), timeout=START_TIMEOUT)
        self.sock = context.wrap_socket(raw, server_hostname="localhost")

    def get(self, target, *headers):
        head = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n"
        head += "".join(h + "\r\n" for h in headers) + "\r\n"
        self.sock.sendall(head.encode())
        return ResponseReader(self.sock, START_TIMEOUT).read()

    def serial(self):
        return serial_of_pem(ssl.DER_cert_to_PEM_cert(self.sock.getpeercert(binary_form=True)))

    def close(self):
        self.sock.close()


class ListenerTest(unittest.TestCase):
    """A TLS listener with the defaults, in front of cleartext nginx."""

    @classmethod
    def setUpClass(cls):
        cls.proxy = Proxy(None, config=base_config(f"http://127.0.0.1:{nginx.port}",
                                                   **listener_tls()))

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()

    def test_requests_are_served_over_tls_with_the_configured_certificate(self):
        r = curl(https_url(self.proxy), "--cacert", certs.ca.cert)
        self.assertEqual(r.exit_code, 0)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))
        self.assertEqual(served_serial(self.proxy.port), certs.server.serial)
        # Without the test CA curl cannot verify it: the certificate is the one configured.
        self.assertEqual(curl(https_url(self.proxy)).exit_code, 60)

    def test_the_admin_listener_stays_cleartext(self):
        r = curl(self.proxy.admin_url + "/metrics")
        self.assertEqual(r.status, 200)
        self.assertIn(b"bfast_tls_handshakes_total", r.body)

    def test_tls_1_0_and_1_1_are_refused(self):
        legacy = ("-cipher", "DEFAULT@SECLEVEL=0")  # lets this client offer TLS 1.0/1.1
        for version in ("-tls1", "-tls1_1"):
            with self.subTest(version=version):
                self.assertTrue(handshakes(nginx.ports["legacy"], version, *legacy),
                                "control: the client command works against a server allowing it")
                self.assertFalse(handshakes(self.proxy.port, version, *legacy))
        for version, name in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            with self.subTest(version=version):
                p = s_client(self.proxy.port, version)
                self.assertEqual(p.returncode, 0, p.stderr[-500:])
                self.assertIn(f"New, {name}, Cipher is", p.stdout)

    def test_tls_1_2_ciphers_outside_the_intermediate_list_are_refused(self):
        for cipher in ("AES128-SHA", "ECDHE-RSA-AES128-SHA"):
            with self.subTest(cipher=cipher):
                self.assertTrue(handshakes(nginx.ports["legacy"], "-tls1_2", "-cipher", cipher),
                                "control: the client command works against a server allowing it")
                self.assertFalse(handshakes(self.proxy.port, "-tls1_2", "-cipher", cipher))
        for cipher in ("ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                       "ECDHE-RSA-CHACHA20-POLY1305"):
            with self.subTest(cipher=cipher):
                p = s_client(self.proxy.port, "-tls1_2", "-cipher", cipher)
                self.assertEqual(p.returncode, 0, p.stderr[-500:])
                self.assertIn(f"Cipher is {cipher}", p.stdout)

    def test_alpn_prefers_h2_and_refuses_other_protocols(self):
        # The proxy's preference, whatever the client's order (test_http2 has http2 off).
        p = s_client(self.proxy.port, "-alpn", "http/1.1,h2")
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertIn("ALPN protocol: h2", p.stdout)
        p = s_client(self.proxy.port, "-alpn", "http/1.1")
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertIn("ALPN protocol: http/1.1", p.stdout)
        p = s_client(self.proxy.port, "-alpn", "spdy/3.1")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no application protocol", p.stderr)

    def test_plain_http_on_the_tls_port_gets_400_and_is_closed(self):
        reply, closed = raw_request(self.proxy.port,
                                    b"GET /realworld/twitter.json HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_of(reply), 400, reply[:200])
        self.assertIn(b"plain HTTP", reply.split(b"\r\n\r\n", 1)[1])
        self.assertTrue(closed)


class ListenerSettingsTest(unittest.TestCase):
    def test_min_version_1_3_refuses_tls_1_2(self):
        proxy = start_proxy(self, **listener_tls(), tls_min_version="1.3")
        self.assertFalse(handshakes(proxy.port, "-tls1_2"))
        self.assertTrue(handshakes(proxy.port, "-tls1_3"))
        self.assertEqual(curl(https_url(proxy), "--cacert", certs.ca.cert).status, 200)

    def test_the_cipher_list_is_configurable(self):
        proxy = start_proxy(self, **listener_tls(), tls_ciphers="ECDHE-RSA-AES256-GCM-SHA384")
        self.assertFalse(handshakes(proxy.port, "-tls1_2", "-cipher",
                                    "ECDHE-RSA-AES128-GCM-SHA256"))
        self.assertTrue(handshakes(proxy.port, "-tls1_2", "-cipher",
                                   "ECDHE-RSA-AES256-GCM-SHA384"))

    def test_handshake_deadline_and_handshake_metrics(self):
        proxy = start_proxy(self, **listener_tls(), tls_handshake_timeout_ms=HANDSHAKE_TIMEOUT_MS)
        # Connects and says nothing.
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            self.assertTrue(closed_within(s, CLOSE_BOUND), "a silent client stays connected")
        # Half a ClientHello, then nothing.
        hello = client_hello()
        self.assertGreater(len(hello), 40)
        with socket.create_connection(("127.0.0.1", proxy.port)) as s:
            s.sendall(hello[:len(hello) // 2])
            self.assertTrue(closed_within(s, CLOSE_BOUND), "a stalled ClientHello stays connected")
        # A client that completes the handshake in time is served.
        self.assertEqual(curl(https_url(proxy), "--cacert", certs.ca.cert).status, 200)
        self.assertFalse(handshakes(proxy.port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"))
        reply, _ = raw_request(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status_of(reply), 400)
        expected = {"ok": 1, "failed": 1, "timeout": 2, "plain_http": 1}

        def counts():
            m = proxy.metrics()
            return {k: m.get(f'bfast_tls_handshakes_total{{result="{k}"}}') for k in expected}
        wait_for(lambda: counts() == expected, f"handshake counts {expected}")


class DeadlinesOverTlsTest(unittest.TestCase):
    """The connection's deadlines after the handshake, which TLS reads and writes keep on their
    own timers: each must close a TLS client that stalls at its phase."""

    def tls_socket(self, port, rcvbuf=None):
        raw = socket.socket()
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(START_TIMEOUT)
        raw.connect(("127.0.0.1", port))
        context = ssl.create_default_context(cafile=certs.ca.cert)
        sock = context.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(sock.close)
        return sock

    def test_a_silent_client_after_the_handshake_meets_the_header_deadline(self):
        proxy = start_proxy(self, **listener_tls(), client_header_timeout_ms=300)
        sock = self.tls_socket(proxy.port)
        self.assertTrue(closed_within(sock, CLOSE_BOUND), "a silent TLS client stays connected")

    def test_an_idle_kept_alive_connection_is_closed(self):
        proxy = start_proxy(self, **listener_tls(), keepalive_idle_timeout_ms=300)
        client = TlsClient(proxy.port)
        self.addCleanup(client.close)
        reply = client.get(TWITTER)
        self.assertEqual((reply.status, reply.complete), (200, True))
        self.assertTrue(closed_within(client.sock, CLOSE_BOUND),
                        "an idle TLS connection outlives keepalive_idle_timeout_ms")

    def test_a_stalled_request_body_meets_the_body_idle_deadline(self):
        proxy = start_proxy(self, **listener_tls(), client_body_idle_timeout_ms=300)
        sock = self.tls_socket(proxy.port)
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"
                     + b"x" * 10)
        self.assertTrue(closed_within(sock, CLOSE_BOUND),
                        "a TLS client that stops sending its body stays connected")

    def test_a_client_that_stops_reading_meets_the_write_deadline(self):
        proxy = start_proxy(self, **listener_tls(), client_write_timeout_ms=300)
        # Pipelined requests for 2.2 MB each, none read: more than the socket buffers hold, so
        # a write waits on the client, and the write deadline must end it.
        sock = self.tls_socket(proxy.port, rcvbuf=4096)
        request = b"GET /realworld/canada.json HTTP/1.1\r\nHost: localhost\r\n\r\n"
        sock.sendall(request * 8)
        wait_for(lambda: proxy.metrics().get("bfast_open_connections") == 0,
                 "the proxy to close a TLS client that stopped reading")
        received = 0
        sock.settimeout(START_TIMEOUT)
        try:
            while chunk := sock.recv(65536):
                received += len(chunk)
        except (ConnectionResetError, ssl.SSLError):
            pass
        self.assertLess(received, 8 * len(original("/realworld/canada.json")))


class WebSocketOverTlsTest(unittest.TestCase):
    """wss:// through the TLS listener: the tunnel relays through TLS on the client side and
    cleartext on the upstream's."""

    def setUp(self):
        self.upstream = EchoUpstream()
        self.addCleanup(self.upstream.stop)

    def connect(self, proxy):
        context = ssl.create_default_context(cafile=certs.ca.cert)
        return websockets.connect(f"wss://localhost:{proxy.port}/ws", ssl=context, max_size=None,
                                  ping_interval=None, open_timeout=START_TIMEOUT)

    def test_echo_both_ways_with_frames_larger_than_a_record_and_the_relay_buffer(self):
        proxy = start_proxy(self, f"http://127.0.0.1:{self.upstream.port}", **listener_tls())
        big = os.urandom((1 << 20) + 17)

        async def run():
            async with self.connect(proxy) as ws:
                await ws.send("text frame")
                text = await ws.recv()
                await ws.send(big)
                return text, await ws.recv()
        text, got = asyncio.run(run())
        self.assertEqual(text, "text frame")
        self.assertEqual(got, big)
        wait_for(lambda: proxy.metrics()["bfast_tunnels_open"] == 0, "the tunnel to close")
        self.assertGreater(proxy.metrics()['bfast_tunnel_bytes_total{direction="to_client"}'],
                           len(big))

    def test_an_idle_tls_tunnel_is_closed(self):
        proxy = start_proxy(self, f"http://127.0.0.1:{self.upstream.port}", **listener_tls(),
                            tunnel_idle_timeout_ms=300)

        async def run():
            async with self.connect(proxy) as ws:
                await ws.send("x")
                await ws.recv()
                try:
                    await asyncio.wait_for(ws.recv(), CLOSE_BOUND)
                except websockets.ConnectionClosed:
                    return True
                except asyncio.TimeoutError:
                    return False
        self.assertTrue(asyncio.run(run()), "an idle wss tunnel outlives tunnel_idle_timeout_ms")
        self.assertEqual(proxy.metrics()["bfast_tunnels_idle_closed_total"], 1)


class AccessLog:
    """A proxy's access log, written to a file the test reads back."""

    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="bfast-tls-log-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.file = open(os.path.join(self.dir, "access.log"), "w")
        test.addCleanup(self.file.close)

    def entry(self, target):
        """The entry for `target` (the log is written by a thread of its own: bounded wait)."""
        found = []

        def present():
            with open(self.file.name) as f:
                found[:] = [e for e in map(json.loads, f) if e["target"] == target]
            return found
        wait_for(present, f"an access log entry for {target}")
        return found[-1]


class UpstreamTest(unittest.TestCase):
    """The proxy (cleartext listener) speaking TLS to nginx."""

    def proxy_to(self, server, log=None, **config):
        config.setdefault("upstream_tls_ca_file", certs.ca.cert)
        if log is not None:
            config["access_log"] = True
        return start_proxy(self, nginx.url(server),
                           stdout=log.file if log else subprocess.DEVNULL, **config)

    def target(self):
        """A URI of its own per test, to find this test's lines in nginx's log."""
        return f"{TWITTER}?test={self._testMethodName}"

    def test_a_verified_upstream_serves_and_sees_the_server_name(self):
        proxy = self.proxy_to("good")
        r = curl(proxy.url + self.target())
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))
        lines = nginx.wait_log_lines("good", self.target(), 1)
        self.assertEqual(len(lines), 1)
        self.assertIn(" sni=localhost ", lines[0])

    def test_certificates_that_fail_verification_get_502(self):
        cases = (("expired", {}, ("expired",)),
                 ("wrong_host", {}, ("mismatch",)),
                 ("self_signed", {}, ("self-signed", "self signed")),
                 # The system store does not know the test CA (nginx sends it in its chain).
                 ("good", {"upstream_tls_ca_file": ""},
                  ("self-signed certificate in certificate chain", "local issuer")))
        for server, config, words in cases:
            with self.subTest(server=server, config=config):
                log = AccessLog(self)
                proxy = self.proxy_to(server, log, **config)
                r = curl(proxy.url + self.target())
                self.assertEqual(r.status, 502)
                body = r.body.decode()
                self.assertTrue(body.startswith(REJECTED), body)
                self.assertTrue(any(w in body for w in words), body)
                self.assertEqual(log.entry(self.target())["reason"], "upstream_tls")
                m = proxy.metrics()
                self.assertEqual(m['bfast_upstream_errors_total{kind="tls_verify"}'], 1)
                self.assertEqual(m.get('bfast_upstream_errors_total{kind="tls_handshake"}'), 0)
                self.assertEqual(nginx.log_lines(server, self.target()), [])

    def test_verification_can_be_turned_off(self):
        proxy = self.proxy_to("self_signed", upstream_tls_verify=False)
        r = curl(proxy.url + TWITTER)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))

    def test_the_configured_server_name_is_sent_and_checked(self):
        proxy = self.proxy_to("wrong_host", upstream_tls_server_name="other.example")
        r = curl(proxy.url + self.target())
        self.assertEqual(r.status, 200, r.body[:300])
        lines = nginx.wait_log_lines("wrong_host", self.target(), 1)
        self.assertEqual(len(lines), 1)
        self.assertIn(" sni=other.example ", lines[0])

    def test_a_client_certificate_is_presented_when_configured(self):
        without = self.proxy_to("mtls")
        r = curl(without.url + TWITTER)
        # TLS 1.3 lets nginx find out only after the handshake, and answer 400 itself.
        if r.status == 502:
            self.assertTrue(r.body.startswith(b"upstream TLS handshake failed"), r.body)
            self.assertEqual(
                without.metrics()['bfast_upstream_errors_total{kind="tls_handshake"}'], 1)
        else:
            self.assertEqual(r.status, 400)
            self.assertIn(b"No required SSL certificate was sent", r.body)

        proxy = self.proxy_to("mtls", upstream_tls_certificate=certs.client.cert,
                              upstream_tls_certificate_key=certs.client.key)
        r = curl(proxy.url + self.target())
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.body, original(TWITTER))
        lines = nginx.wait_log_lines("mtls", self.target(), 1)
        self.assertEqual(len(lines), 1)
        self.assertIn(" verify=SUCCESS ", lines[0])
        self.assertIn('dn="CN=bfast-proxy client"', lines[0])

    def test_other_handshake_failures_get_502(self):
        # https:// to a cleartext server: its answer to the ClientHello is no ServerHello.
        log = AccessLog(self)
        proxy = start_proxy(self, f"https://localhost:{nginx.port}", stdout=log.file,
                            access_log=True, upstream_tls_ca_file=certs.ca.cert)
        r = curl(proxy.url + self.target())
        self.assertEqual(r.status, 502)
        self.assertTrue(r.body.startswith(b"upstream TLS handshake failed"), r.body)
        self.assertEqual(log.entry(self.target())["reason"], "upstream_tls")
        m = proxy.metrics()
        self.assertEqual(m['bfast_upstream_errors_total{kind="tls_handshake"}'], 1)
        self.assertEqual(m['bfast_upstream_errors_total{kind="tls_verify"}'], 0)

    def test_pooled_tls_connections_are_reused(self):
        proxy = self.proxy_to("good", upstream_pool_idle_timeout_ms=600_000)
        # One client connection: one I/O thread, whose pool the requests share.
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=START_TIMEOUT) as s:
            for _ in range(4):
                s.sendall(f"GET {self.target()} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                r = ResponseReader(s, START_TIMEOUT).read()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, original(TWITTER))
        lines = nginx.wait_log_lines("good", self.target(), 4)
        connections = {re.search(r" conn=(\d+) ", line).group(1) for line in lines}
        self.assertEqual(len(lines), 4)
        self.assertEqual(len(connections), 1, lines)
        self.assertGreaterEqual(proxy.metrics()["bfast_upstream_reused_total"], 3)

    def test_the_handshake_counts_inside_the_connect_timeout(self):
        silent = ScriptedUpstream()  # waits for a request head: the ClientHello is none
        self.addCleanup(silent.stop)
        proxy = start_proxy(self, f"https://localhost:{silent.port}",
                            upstream_tls_ca_file=certs.ca.cert, upstream_connect_timeout_ms=300,
                            upstream_header_timeout_ms=600_000)
        # Were the handshake outside the connect timeout, the header timeout would hold it.
        r = curl(proxy.url + TWITTER, "--max-time", "10")
        self.assertEqual(r.status, 504)


def sample_documents():
    """A few documents of each kind: large real-world ones and small semantic edge cases."""
    picked = []
    for sub, count in (("realworld", 4), ("semantic", 3)):
        names = sorted(n for n in os.listdir(os.path.join(CORPUS, sub)) if n.endswith(".json"))
        picked += [f"/{sub}/{n}" for n in names[:count]]
    return picked + [TWITTER]


class SameBytesTest(unittest.TestCase):
    """TLS changes the transport, never the bytes: a TLS listener and a TLS listener in front of
    a TLS upstream answer as the cleartext proxy does."""

    @classmethod
    def setUpClass(cls):
        cls.proxies = []
        try:
            cls.clear = cls._start(f"http://127.0.0.1:{nginx.port}")
            cls.tls = cls._start(f"http://127.0.0.1:{nginx.port}", **listener_tls())
            cls.chain = cls._start(nginx.url("good"), **listener_tls(),
                                   upstream_tls_ca_file=certs.ca.cert)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls, upstream, **config):
        proxy = Proxy(None, config=base_config(upstream, **config))
        cls.proxies.append(proxy)
        return proxy

    @classmethod
    def tearDownClass(cls):
        for p in cls.proxies:
            p.stop()

    def test_same_bodies_and_status_as_cleartext(self):
        transcoded = 0
        for path in sample_documents():
            for accept in (SLOW_LINK, (*BFAST, *SLOW_LINK)):
                with self.subTest(doc=path, bfast=BFAST[1] in accept):
                    clear = curl(self.clear.url + path, *accept)
                    self.assertEqual(clear.status, 200)
                    for proxy in (self.tls, self.chain):
                        r = curl(https_url(proxy, path), "--cacert", certs.ca.cert, *accept)
                        self.assertEqual(r.status, 200)
                        self.assertEqual(r.header("bfast-status"), clear.header("bfast-status"))
                        self.assertEqual(r.header("content-type"), clear.header("content-type"))
                        self.assertEqual(r.body, clear.body)
                    if r.header("content-type") == "application/x-bfast":
                        transcoded += 1
                        self.assertEqual(oracle_checks(CORPUS + path, r.body), [])
                    else:
                        self.assertEqual(r.body, original(path))
        self.assertGreaterEqual(transcoded, 3)


class ReloadTest(unittest.TestCase):
    """SIGHUP reads the listener's certificate files again."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bfast-tls-reload-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert = os.path.join(self.dir, "listener.pem")
        self.key = os.path.join(self.dir, "listener.key")
        self.install(certs.server)
        self.proxy = start_proxy(self, tls_certificate=self.cert, tls_certificate_key=self.key)

    def install(self, pair):
        shutil.copyfile(pair.chain, self.cert)
        shutil.copyfile(pair.key, self.key)

    def test_new_handshakes_get_the_new_certificate_and_old_connections_stay(self):
        before = TlsClient(self.proxy.port)
        self.addCleanup(before.close)
        self.assertEqual(before.get(TWITTER).status, 200)
        self.assertEqual(before.serial(), certs.server.serial)

        self.install(certs.server2)
        reload(self.proxy)
        self.assertEqual(served_serial(self.proxy.port), certs.server2.serial)
        after = TlsClient(self.proxy.port)
        self.addCleanup(after.close)
        self.assertEqual(after.serial(), certs.server2.serial)
        self.assertEqual(after.get(TWITTER).status, 200)
        # The connection opened before keeps working, with the certificate it was opened with.
        r = before.get(TWITTER)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, original(TWITTER))

    def test_a_broken_certificate_is_refused_and_the_old_one_kept(self):
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        lines = reload(self.proxy, "reload refused")
        self.assertTrue(any("tls_certificate" in line for line in lines), lines)
        self.assertEqual(served_serial(self.proxy.port), certs.server.serial)
        self.assertEqual(curl(https_url(self.proxy), "--cacert", certs.ca.cert).status, 200)
        m = self.proxy.metrics()
        self.assertEqual(m['bfast_config_reloads_total{result="invalid"}'], 1)

    def test_check_config_names_a_missing_or_broken_certificate(self):
        ok = check_config(self.proxy.config_path)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        with open(self.cert, "w") as f:
            f.write("garbage\n")
        broken = check_config(self.proxy.config_path)
        self.assertNotEqual(broken.returncode, 0)
        self.assertIn("tls_certificate", broken.stderr)
        os.unlink(self.cert)
        missing = check_config(self.proxy.config_path)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("tls_certificate", missing.stderr)

    def test_check_config_names_a_missing_or_mismatched_key(self):
        os.unlink(self.key)
        missing = check_config(self.proxy.config_path)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("tls_certificate_key", missing.stderr)
        shutil.copyfile(certs.server2.key, self.key)  # another certificate's key
        mismatched = check_config(self.proxy.config_path)
        self.assertNotEqual(mismatched.returncode, 0)
        self.assertIn("tls_certificate_key", mismatched.stderr)


if __name__ == "__main__":
    unittest.main()
