"""A small upstream that misbehaves on purpose, one behaviour per path."""
import gzip
import socket
import struct
import threading


def _response(status, headers, body=b""):
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


class ScriptedUpstream:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []  # connections kept open without an answer (slow upstream)
        self.stopped = threading.Event()
        self.requests = []  # (method, target, headers, body) as received
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopped.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for c in self.held:
            try:
                c.close()
            except OSError:
                pass

    def _accept(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _wait_for_request(self, conn, buf):
        """False when the connection was given up instead of reading another request."""
        return True

    def _reads_body_first(self, target):
        """False for a target answered before its body is read (the body is then None)."""
        return True

    def _read_request(self, conn, buf):
        head, buf = self._read_head(conn, buf)
        if head is None:
            return None, buf
        if not self._reads_body_first(head[1]):
            return (*head, None), buf
        body, buf = self._read_body(conn, head[2], buf)
        if body is None:
            return None, buf
        return (*head, body), buf

    def _read_head(self, conn, buf):
        while b"\r\n\r\n" not in buf:
            c = conn.recv(65536)
            if not c:
                return None, buf
            buf += c
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers.setdefault(k.strip().lower(), []).append(v.strip())
        return (method, target, headers), buf

    def _read_body(self, conn, headers, buf):
        body = b""
        if "content-length" in headers:
            n = int(headers["content-length"][0])
            while len(buf) < n:
                c = conn.recv(65536)
                if not c:
                    return None, buf
                buf += c
            body, buf = buf[:n], buf[n:]
        elif headers.get("transfer-encoding", [""])[0].lower() == "chunked":
            while True:
                while b"\r\n" not in buf:
                    buf += conn.recv(65536)
                size_line, buf = buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(buf) < size + 2:
                    buf += conn.recv(65536)
                body += buf[:size]
                buf = buf[size + 2:]
                if size == 0:
                    break
        return body, buf

    def _serve(self, conn):
        buf = b""
        try:
            while self._wait_for_request(conn, buf):
                req, buf = self._read_request(conn, buf)
                if req is None:
                    conn.close()
                    return
                self.requests.append(req)
                if not self._answer(conn, *req):
                    return
        except OSError:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, method, target, headers, body):
        path = "/" + target.split("?")[0].rsplit("/", 1)[-1]
        js = b'{"items":[' + b",".join(b'{"id":%d,"name":"item %d","ok":true}' % (i, i) for i in range(200)) + b"]}"
        if path == "/chunked-json":
            out = _response("200 OK", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
            for i in range(0, len(js), 1000):
                piece = js[i:i + 1000]
                out += b"%x\r\n" % len(piece) + piece + b"\r\n"
            conn.sendall(out + b"0\r\n\r\n")
        elif path == "/reset-mid-body":
            big = b"[" + b",".join(b'"%06d"' % i for i in range(20000)) + b"]"
            ctype = "application/json" if "json" in target else "application/octet-stream"
            conn.sendall(_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(big)))], big[:5000]))
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            return False
        elif path == "/slow-headers":
            self.held.append(conn)
            return False
        elif path == "/huge-headers":
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("X-Big", "a" * 100000),
                                              ("Content-Length", "2")], b"{}"))
        elif path in ("/204", "/304"):
            code = "204 No Content" if path == "/204" else "304 Not Modified"
            conn.sendall(_response(code, [("ETag", '"e1"')]))
        elif path == "/gzip-json":
            z = gzip.compress(js)
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip"),
                                              ("Content-Length", str(len(z)))], z))
        elif path == "/invalid-json":
            bad = b'{"a": [1, 2, oops]}'
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(bad)))], bad))
        elif path == "/proto":
            p = b'{"__proto__": {"x": 1}}'
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(p)))], p))
        elif path == "/no-transform":
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-transform"),
                                              ("Content-Length", str(len(js)))], js))
        elif path == "/sse":
            ev = b"data: 1\n\ndata: 2\n\n"
            conn.sendall(_response("200 OK", [("Content-Type", "text/event-stream"), ("Content-Length", str(len(ev)))], ev))
        elif path == "/close-delimited":
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Connection", "close")], js))
            conn.close()
            return False
        elif path == "/echo":
            ctype = headers.get("content-type", ["application/json"])[0]
            conn.sendall(_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                              ("X-Seen-Expect", headers.get("expect", ["none"])[0]),
                                              ("X-Seen-Connection", headers.get("connection", ["none"])[0])], body))
        elif path == "/headers":
            seen = {k: v for k, v in headers.items()}
            import json as _json
            out = _json.dumps(seen).encode()
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))], out))
        else:
            conn.sendall(_response("404 Not Found", [("Content-Length", "0")]))
        return True
