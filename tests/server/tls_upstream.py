"""TLS upstreams for the TLS tests: one nginx with a TLS server per certificate (the corpus as
root, an access log naming the SNI, the connection and the client certificate), and a TCP
listener that accepts and never answers a ClientHello."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from harness import CORPUS, START_TIMEOUT, free_port, wait_for_port

LOG_FORMAT = ('$server_port sni=$ssl_server_name conn=$connection proto=$ssl_protocol '
              'verify=$ssl_client_verify dn="$ssl_client_s_dn" $status $request_uri')

MODERN = "ssl_protocols TLSv1.2 TLSv1.3;"  # nginx 1.22 leaves TLS 1.3 out by default
# name -> (certificate attribute of TestCertificates, extra server directives)
SERVERS = {
    "good": ("server", MODERN),
    "expired": ("expired", MODERN),
    "wrong_host": ("wrong_host", MODERN),
    "self_signed": ("self_signed", MODERN),
    "mtls": ("server", MODERN + " ssl_verify_client on; ssl_client_certificate {ca};"),
    # Controls: they accept what the proxy's listener must refuse, to show the refusing client
    # command can succeed.
    "legacy": ("server", "ssl_protocols TLSv1 TLSv1.1 TLSv1.2; "
                         "ssl_ciphers DEFAULT:AES128-SHA:@SECLEVEL=0;"),
}


class TlsNginx:
    """nginx-light with one TLS server per entry of SERVERS, each on a free port (`ports`)."""

    def __init__(self, certs):
        self.dir = tempfile.mkdtemp(prefix="bfast-tls-nginx-")
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.dir, d))
        self.log = os.path.join(self.dir, "logs", "access.log")
        self.ports = {name: free_port() for name in SERVERS}
        servers = []
        for name, (cert_name, extra) in SERVERS.items():
            pair = getattr(certs, cert_name)
            servers.append(f"""
  server {{
    listen 127.0.0.1:{self.ports[name]} ssl;
    ssl_certificate {pair.chain};
    ssl_certificate_key {pair.key};
    {extra.format(ca=certs.ca.cert)}
    root {CORPUS};
    etag on;
  }}""")
        conf = f"""
worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  log_format tls '{LOG_FORMAT}';
  access_log {self.log} tls;
  client_body_temp_path {self.dir}/tmp/body;
  proxy_temp_path {self.dir}/tmp/proxy;
  fastcgi_temp_path {self.dir}/tmp/fastcgi;
  uwsgi_temp_path {self.dir}/tmp/uwsgi;
  scgi_temp_path {self.dir}/tmp/scgi;
  types {{ application/json json; text/plain txt; }}
  default_type application/octet-stream;
  keepalive_requests 10000;
  keepalive_timeout 120s;
  {''.join(servers)}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for port in self.ports.values():
            wait_for_port(port, self.proc, "nginx (TLS)")

    def url(self, name, host="localhost"):
        return f"https://{host}:{self.ports[name]}"

    def log_lines(self, name, uri=None):
        """The access log lines of one server (optionally of one request URI), oldest first."""
        port = str(self.ports[name])
        with open(self.log) as f:
            lines = [line.rstrip("\n") for line in f]
        return [line for line in lines if line.split(" ", 1)[0] == port
                and (uri is None or line.endswith(" " + uri))]

    def wait_log_lines(self, name, uri, n):
        """nginx writes a line after the response: wait (bounded) until n lines are there."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            lines = self.log_lines(name, uri)
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            threading.Event().wait(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentListener:
    """Accepts TCP connections and never sends a byte (a TLS upstream that never answers the
    ClientHello); counts the connections it accepted."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def stop(self):
        self.sock.close()
        for c in self.held:
            c.close()
