"""TLS upstreams for the TLS tests: the harness's nginx with, beside its cleartext server, a TLS
server per certificate (the corpus as root, an access log naming the SNI, the connection and
the client certificate)."""
import os
import threading
import time

from harness import CORPUS, START_TIMEOUT, Nginx, free_port, wait_for_port

LOG_FORMAT = ('$server_port sni=$ssl_server_name conn=$connection proto=$ssl_protocol '
              'verify=$ssl_client_verify dn="$ssl_client_s_dn" $status $request_uri')
MODERN = "ssl_protocols TLSv1.2 TLSv1.3;"  # nginx 1.22 leaves TLS 1.3 out by default

# name -> (certificate attribute of tls_certs.Certificates, extra server directives)
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


class TlsNginx(Nginx):
    """Cleartext on `port`, and a TLS server per entry of SERVERS on `ports[name]`."""

    def __init__(self, certs):
        self.ports = {name: free_port() for name in SERVERS}
        super().__init__(more_http=lambda d: self._servers(certs, d))
        self.log = os.path.join(self.dir, "logs", "tls_access.log")
        for port in self.ports.values():
            wait_for_port(port, self.proc, "nginx (TLS)")

    def _servers(self, certs, nginx_dir):
        out = [f"log_format tls '{LOG_FORMAT}';"]
        for name, (cert_name, extra) in SERVERS.items():
            pair = getattr(certs, cert_name)
            out.append(f"""
  server {{
    listen 127.0.0.1:{self.ports[name]} ssl;
    access_log {nginx_dir}/logs/tls_access.log tls;
    ssl_certificate {pair.chain};
    ssl_certificate_key {pair.key};
    {extra.format(ca=certs.ca.cert)}
    root {CORPUS};
    etag on;
  }}""")
        return "\n".join(out)

    def url(self, name, host="localhost"):
        return f"https://{host}:{self.ports[name]}"

    def log_lines(self, name, uri=None):
        """The access log lines of one server (optionally of one request URI), oldest first."""
        port = str(self.ports[name])
        if not os.path.exists(self.log):
            return []
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
