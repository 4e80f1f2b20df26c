"""Test harness for bfast-proxy integration tests: real nginx, a scripted misbehaving upstream,
the real proxy, curl and raw sockets. Every process is started on a free port and stopped at
the end, whatever happens."""
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

PROXY = os.environ["BFAST_PROXY_BIN"]
SHARED = os.path.abspath(os.environ["BFAST_SHARED_DIR"])
CORPUS = os.path.join(SHARED, "corpus")
# check.py behind the JSON parser's digit limit, and check.js with Object.is and key order.
ORACLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oracles")
PYTHON_ORACLE = ["/usr/bin/python3", os.path.join(ORACLES, "check_limits.py")]
NODE_ORACLE = ["node", os.path.join(ORACLES, "check_strict.js")]
ORACLE_SKIPPED = 3  # check_limits.py: json.loads cannot parse the JSON (not a verdict)
START_TIMEOUT = 30  # seconds; a bound on waiting, never an expectation of speed


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what, timeout=START_TIMEOUT):
    """Polls `predicate` until it holds; an AssertionError naming `what` past `timeout`."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        threading.Event().wait(0.02)


def wait_for_port(port, proc, what):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            threading.Event().wait(0.02)
    raise RuntimeError(f"{what} did not listen on {port}")


class Nginx:
    """nginx-light serving ../shared/corpus as application/json, with ETags. `more_http`, given
    nginx's directory, returns more of the http block (more servers, say)."""

    def __init__(self, more_http=None):
        self.dir = tempfile.mkdtemp(prefix="bfast-nginx-")
        self.port = free_port()
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.dir, d))
        conf = f"""
worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/tmp/body;
  proxy_temp_path {self.dir}/tmp/proxy;
  fastcgi_temp_path {self.dir}/tmp/fastcgi;
  uwsgi_temp_path {self.dir}/tmp/uwsgi;
  scgi_temp_path {self.dir}/tmp/scgi;
  types {{ application/json json; text/plain txt; }}
  default_type application/octet-stream;
  keepalive_requests 10000;
  large_client_header_buffers 8 64k;
  server {{
    listen 127.0.0.1:{self.port};
    root {CORPUS};
    etag on;
  }}
  {more_http(self.dir) if more_http else ""}
}}
"""
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, "nginx")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """The real bfast-proxy, on free ports it picks itself (port 0), reported on stderr.
    stdout and preexec_fn go to subprocess.Popen (a test may leave a stdout pipe undrained, or
    lower a resource limit)."""

    def __init__(self, upstream_port, *extra, config=None, env=None, stdout=subprocess.DEVNULL,
                 preexec_fn=None, wrapper=()):
        """upstream_port None: no flags but `extra` and --config, so that the file, which a
        reload reads again, decides everything. `wrapper`: a command the proxy runs under."""
        self.dir = tempfile.mkdtemp(prefix="bfast-proxy-")
        if upstream_port is None:
            args = [PROXY, *extra]
        else:
            args = [PROXY, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                    "--upstream", f"http://127.0.0.1:{upstream_port}", "--threads", "2",
                    "--transform-threads", "2", "--access-log=false", *extra]
        self.config_path = os.path.join(self.dir, "config.json")
        if config is not None:
            self.write_config(config)
            args += ["--config", self.config_path]
        # BFAST_PROXY_BIN names the binary for the tests; the proxy would warn of it as a setting.
        full_env = {k: v for k, v in os.environ.items() if k != "BFAST_PROXY_BIN"}
        full_env.update(env or {})
        self.proc = subprocess.Popen([*wrapper, *args], stdout=stdout, stderr=subprocess.PIPE,
                                     env=full_env, text=True, preexec_fn=preexec_fn)
        self.stderr_lines = queue.Queue()
        self.port = self.admin_port = None
        self.startup_lines = []  # stderr up to and including the ready line
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT
        while self.port is None:
            try:
                line = self.stderr_lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("bfast-proxy did not start")
                continue
            self.startup_lines.append(line)
            if "ready data=" in line:
                parts = dict(p.split("=", 1) for p in line.split() if "=" in p)
                self.port = int(parts["data"].rsplit(":", 1)[1])
                self.admin_port = int(parts["admin"].rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"

    def _pump(self):
        for line in self.proc.stderr:
            self.stderr_lines.put(line)

    def write_config(self, config):
        """Rewrites the config file in place (text, or an object written as JSON)."""
        with open(self.config_path, "w") as f:
            f.write(config if isinstance(config, str) else json.dumps(config))

    def wait_for_line(self, text, timeout=START_TIMEOUT):
        """The stderr lines up to the first that contains `text`; raises if none comes."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.stderr_lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise AssertionError(f"no line with {text!r}; saw {seen!r}, "
                                         f"exit {self.proc.poll()}")
                continue
            seen.append(line)
            if text in line:
                return seen

    def metrics(self):
        out = curl(self.admin_url + "/metrics")
        values = {}
        for line in out.body.decode().splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
        return values

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def series_sum(values, name, **labels):
    """The sum of a family's samples in `values` (Proxy.metrics()) whose labels include
    `labels`, summed over the rest: 0 when none is there (labelled families list only what
    happened)."""
    total = 0
    for key, v in values.items():
        family, _, rest = key.partition("{")
        if family != name:
            continue
        have = {k: re.sub(r'\\(.)', lambda m: "\n" if m[1] == "n" else m[1], val)
                for k, val in LABEL.findall(rest)}
        if all(have.get(k) == v_ for k, v_ in labels.items()):
            total += v
    return total


def start_nginx_and_proxy(*proxy_args):
    """Starts nginx and a proxy in front of it; stops nginx again if the proxy fails to start."""
    nginx = Nginx()
    try:
        return nginx, Proxy(nginx.port, *proxy_args)
    except Exception:
        nginx.stop()
        raise


class Response:
    def __init__(self, status, headers, body, exit_code):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body
        self.exit_code = exit_code

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[-1] if values else None


def curl(url, *args, head=False, data=None):
    """One request with curl; returns the final response's status, headers and body."""
    tmp = tempfile.mkdtemp(prefix="bfast-curl-")
    try:
        hdr, body = os.path.join(tmp, "h"), os.path.join(tmp, "b")
        cmd = ["curl", "-s", "-D", hdr, "-o", body, "--max-time", "60"]
        if head:
            cmd.append("-I")
        if data is not None:
            cmd += ["--data-binary", "@-"]
        cmd += list(args) + [url]
        p = subprocess.run(cmd, input=data, capture_output=True)
        raw = ""
        if os.path.exists(hdr):
            with open(hdr, "rb") as f:
                raw = f.read().decode("latin-1")
        blocks = [b for b in raw.split("\r\n\r\n") if b.strip()]
        status, headers = 0, {}
        if blocks:
            lines = blocks[-1].split("\r\n")
            status = int(lines[0].split()[1])
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers.setdefault(k.strip().lower(), []).append(v.strip())
        content = b""
        if os.path.exists(body):
            with open(body, "rb") as f:
                content = f.read()
        return Response(status, headers, content, p.returncode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def raw_request(port, data, read_timeout=10):
    """Sends bytes on a fresh connection; returns everything read until the server closes (or
    the bound passes) and whether the server closed."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        chunks, closed = [], False
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not c:
                closed = True
                break
            chunks.append(c)
        return b"".join(chunks), closed
    finally:
        s.close()


def access_log_entry(path, target):
    """The access log line (a JSON object) for `target` in the log file at `path`; the log is
    written as responses complete, so it is polled for."""
    found = []

    def seen():
        with open(path) as f:
            found[:] = [e for e in map(json.loads, f) if e["target"] == target]
        return bool(found)

    wait_for(seen, f"an access log line for {target}")
    return found[0]


def status_of(reply):
    """The status code of raw response bytes; 0 when they are not a response."""
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.") else 0


def oracle_checks(json_path, bfast_bytes):
    """Runs both deployed decoders; returns a list of failure strings (empty when both say ok)."""
    failures = []
    with tempfile.NamedTemporaryFile(suffix=".bfast", delete=False) as f:
        f.write(bfast_bytes)
        path = f.name
    try:
        for cmd in (PYTHON_ORACLE, NODE_ORACLE):
            p = subprocess.run(cmd + [json_path, path], capture_output=True, text=True,
                               env=dict(os.environ, BFAST_SHARED_DIR=SHARED))
            if p.returncode == ORACLE_SKIPPED and p.stdout.startswith("skip:"):
                continue
            if p.returncode != 0 or p.stdout.strip() != "ok":
                failures.append(f"{os.path.basename(cmd[-1])}: {p.stdout.strip()} {p.stderr.strip()[:200]}")
    finally:
        os.unlink(path)
    return failures


BFAST = ("-H", "Accept: application/x-bfast")


class Reply:
    """One response read off a raw socket; status 0 when none arrived (closed, reset or the
    bound passed), complete False when its body was cut short."""

    def __init__(self):
        self.status, self.headers, self.body, self.interim, self.complete = 0, {}, b"", [], False
        self.error = None  # what ended the read early: timeout, EOFError, ConnectionResetError...

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[-1] if values else None


class ResponseReader:
    """Reads responses off a socket one at a time, with one overall bound, without any
    library in the way (1xx responses are collected in interim)."""

    def __init__(self, sock, timeout=10):
        self.sock, self.buf = sock, b""
        self.deadline = time.monotonic() + timeout

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        c = self.sock.recv(65536)
        if not c:
            raise EOFError()
        self.buf += c

    def _until(self, sep):
        while sep not in self.buf:
            self._fill()
        out, self.buf = self.buf.split(sep, 1)
        return out

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self, head_request=False):
        reply = Reply()
        try:
            while True:
                lines = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
                status = int(lines[0].split(" ", 2)[1])
                headers = {}
                for line in lines[1:]:
                    k, v = line.split(":", 1)
                    headers.setdefault(k.strip().lower(), []).append(v.strip())
                if 100 <= status < 200 and status != 101:
                    reply.interim.append(status)
                    continue
                reply.status, reply.headers = status, headers
                break
            te = ",".join(headers.get("transfer-encoding", [])).lower()
            if head_request or status in (204, 304):
                pass
            elif "chunked" in te:
                while True:
                    size = int(self._until(b"\r\n").split(b";")[0], 16)
                    reply.body += self._exact(size)
                    if size == 0:
                        while self._until(b"\r\n"):
                            pass
                        break
                    self._exact(2)
            elif "content-length" in headers:
                reply.body = self._exact(int(headers["content-length"][0]))
            else:
                try:
                    while True:
                        self._fill()
                except EOFError:
                    reply.body, self.buf = self.buf, b""
            reply.complete = True
        except (OSError, EOFError, ValueError, IndexError) as e:
            reply.error = type(e).__name__
        return reply


def exchange(port, data, head_request=False, timeout=10):
    """Sends bytes on a fresh connection and reads one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return ResponseReader(s, timeout).read(head_request)
