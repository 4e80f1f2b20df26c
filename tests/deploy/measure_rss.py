"""Measures bfast-proxy's resident memory: at rest, per idle kept-alive client connection, and per
busy connection (a pass-through response in flight that the client does not read). The figures
feed docker/k8s/README.md ("Memory limit"); this is a measurement, not a test, and no figure here
is asserted.

usage: measure_rss.py PROXY_BINARY [CONNECTIONS]
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

SETTLE_S = 1.0            # lets the proxy's threads finish their start-up work
BODY_BYTES = 64 << 20     # a busy response, far larger than what the sockets can buffer
CHUNK = b"x" * (256 << 10)
SMALL_JSON = json.dumps({"users": [{"id": i, "name": f"user {i}"} for i in range(2000)]}).encode()
BIG_JSON = json.dumps({"users": [{"id": i, "name": f"user {i}", "score": i * 0.25,
                                  "tags": ["a", "b"]} for i in range(150_000)]}).encode()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Upstream:
    """/small: a JSON answer at once; /busy: a large body, sent as fast as the proxy takes it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                if head.split(b" ")[1].startswith(b"/busy"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                                 b"Content-Length: %d\r\n\r\n" % BODY_BYTES)
                    for _ in range(BODY_BYTES // len(CHUNK)):
                        conn.sendall(CHUNK)
                else:
                    body = BIG_JSON if head.split(b" ")[1].startswith(b"/big") else SMALL_JSON
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            pass
        finally:
            conn.close()


def get(port, path, accept=b"*/*"):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nAccept: " + accept + b"\r\n\r\n")
        read_response(s)


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, body = buf.partition(b"\r\n\r\n")
    length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
                 .split(b":")[1])
    while len(body) < length:
        body += sock.recv(65536)


def main():
    proxy_binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    upstream = Upstream()
    with tempfile.TemporaryDirectory() as tmp:
        # As the manifests run it: two I/O and two transform threads, access log on.
        config = {"listen": "127.0.0.1:0", "admin_listen": "127.0.0.1:0",
                  "upstream": f"http://127.0.0.1:{upstream.port}", "threads": 2,
                  "transform_threads": 2, "max_connections": 4 * n + 100}
        path = os.path.join(tmp, "proxy.json")
        with open(path, "w") as f:
            json.dump(config, f)
        proc = subprocess.Popen([proxy_binary, "--config", path], stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
        port = None
        for line in proc.stderr:
            if "ready data=" in line:
                port = int(line.split("data=")[1].split()[0].rsplit(":", 1)[1])
                break
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        try:
            time.sleep(SETTLE_S)
            at_start = rss_kib(proc.pid)
            # Warm every path: small transforms, a pass-through.
            for accept in (b"application/x-bfast", b"application/x-bfast", b"*/*"):
                get(port, b"/small", accept)
            time.sleep(SETTLE_S)
            at_rest = rss_kib(proc.pid)
            # Large transforms on both transform threads at once: what each thread keeps after.
            big = [threading.Thread(target=get, args=(port, b"/big", b"application/x-bfast"))
                   for _ in range(4)]
            for t in big:
                t.start()
            for t in big:
                t.join()
            time.sleep(SETTLE_S)
            after_big = rss_kib(proc.pid)

            idle = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
                read_response(s)
                idle.append(s)
            time.sleep(SETTLE_S)
            with_idle = rss_kib(proc.pid)

            busy = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", port))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"GET /busy HTTP/1.1\r\nHost: x\r\n\r\n")
                busy.append(s)
            # Each busy response fills its sockets and then waits on the unread client.
            time.sleep(SETTLE_S * 4)
            with_busy = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    print(f"RSS after start:                 {at_start / 1024:.1f} MiB")
    print(f"RSS at rest (warmed):            {at_rest / 1024:.1f} MiB")
    print(f"after {len(BIG_JSON) >> 20} MiB transforms:      {after_big / 1024:.1f} MiB")
    print(f"+ {n} idle kept-alive clients:  {with_idle / 1024:.1f} MiB, "
          f"{(with_idle - after_big) / n:.1f} KiB each")
    print(f"+ {n} busy pass-through:        {with_busy / 1024:.1f} MiB, "
          f"{(with_busy - with_idle) / n:.1f} KiB each")


if __name__ == "__main__":
    main()
