"""An upstream that breaks the HTTP rules on purpose, one behaviour per path: bytes past a
response's framing, endless chunk lines, bogus status codes, early answers, 1xx drips and
keep-alive connections it closes on its own after a short idle time."""
import gzip
import json
import queue
import select
import socket
import threading

from scripted_upstream import ScriptedUpstream, _response

# A whole response that belongs to nobody: a client that receives it got another exchange's bytes.
STALE = _response("200 OK", [("Content-Length", "14")], b"/private/stale")
JSON = b'{"items":[' + b",".join(b'{"id":%d,"name":"item %d"}' % (i, i) for i in range(100)) + b"]}"
STREAM_CAP = 8 * 1024 * 1024  # an endless line stops here, far past any sane limit
EARLY_BODY = b"request body too large for this upstream"


def _path(target):
    # The proxy may forward an absolute-form target as it came.
    if "://" in target:
        target = "/" + target.split("://", 1)[1].split("/", 1)[-1]
    return target.split("?")[0]


def _chunked(data, piece=1000):
    return b"".join(b"%x\r\n" % len(data[i:i + piece]) + data[i:i + piece] + b"\r\n"
                    for i in range(0, len(data), piece))


class HostileUpstream(ScriptedUpstream):
    def __init__(self, keepalive_timeout=None):
        # With keepalive_timeout (seconds), an idle connection is closed like Node's
        # keepAliveTimeout does, and its closing is reported on idle_closed.
        self.keepalive_timeout = keepalive_timeout
        self.idle_closed = queue.Queue()
        self.late_go = threading.Event()  # the test says the poisoned connection sits in the pool
        self.late_sent = threading.Event()  # the late bytes were written
        super().__init__()

    def _wait_for_request(self, conn, buf):
        if buf or self.keepalive_timeout is None:
            return True
        readable, _, _ = select.select([conn], [], [], self.keepalive_timeout)
        if not readable:
            conn.close()
            self.idle_closed.put(True)
        return bool(readable)

    def _reads_body_first(self, target):
        return not _path(target).startswith("/early-413")

    def _answer_early(self, conn, path):
        """Answers before reading the body, as servers that check only headers do."""
        answer = _response("413 Payload Too Large", [("Content-Type", "text/plain"), ("Connection", "close"),
                                                      ("Content-Length", str(len(EARLY_BODY)))], EARLY_BODY)
        if path == "/early-413-after-100":
            answer = b"HTTP/1.1 100 Continue\r\n\r\n" + answer  # both in one segment
        conn.sendall(answer)
        if path == "/early-413-close":
            conn.close()  # unread body bytes turn this into a reset
        elif path == "/early-413-after-100":
            self.held.append(conn)  # neither reads nor closes: nothing more becomes readable
        else:
            conn.shutdown(socket.SHUT_WR)
            self.held.append(conn)  # never reads the rest
        return False

    def _stream_forever(self, conn, first, piece):
        conn.sendall(first)
        sent = 0
        while sent < STREAM_CAP and not self.stopped.is_set():
            conn.sendall(piece)
            sent += len(piece)
        self.held.append(conn)

    @staticmethod
    def _poison(case):
        """A response and the bytes past its framing that must keep its connection out of the pool."""
        if case == "extra-response":
            return _response("200 OK", [("Content-Length", "2")], b"ok"), STALE
        if case in ("204", "304"):
            code = "204 No Content" if case == "204" else "304 Not Modified"
            return _response(code, [("ETag", '"e1"')]), STALE
        if case == "head":
            # A HEAD answered with a body of exactly its Content-Length.
            return _response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(STALE)))]), STALE
        if case.startswith("long-body"):
            pad = b"/private/stale" + b"x" * (int(case.rsplit("-", 1)[1]) * 1024)
            return (_response("200 OK", [("Content-Length", "10")], b"0123456789"),
                    _response("200 OK", [("Content-Length", str(len(pad)))], pad))
        raise ValueError(case)

    def _answer(self, conn, method, target, headers, body):
        path = _path(target)
        ok = lambda extra, data: _response("200 OK", [("Content-Length", str(len(data)))] + extra, data)
        if path.startswith("/early-413"):
            return self._answer_early(conn, path)
        if path.startswith("/private/"):
            conn.sendall(ok([("Content-Type", "text/plain")], path.encode()))
        elif path.startswith("/poison/"):
            case = path.split("/")[2]
            first, extra = self._poison(case)
            if path.endswith("/late"):
                # The extra bytes come once the test knows the connection sits idle in the pool.
                conn.sendall(first)
                self.late_go.wait(10)
                conn.sendall(extra)
                self.late_sent.set()
            else:
                conn.sendall(first + extra)
        elif path == "/echo":
            ctype = headers.get("content-type", ["application/octet-stream"])[0]
            conn.sendall(ok([("Content-Type", ctype)], body))
        elif path == "/headers":
            seen = dict(headers, _method=[method], _body=[body.decode("latin-1")])
            conn.sendall(ok([("Content-Type", "text/plain")], json.dumps(seen).encode()))
        elif path == "/chunk-ext-forever":
            self._stream_forever(conn, _response("200 OK", [("Content-Type", "application/json"),
                                                            ("Transfer-Encoding", "chunked")]) + b"5;a=",
                                 b"b" * 65536)
            return False
        elif path == "/trailer-forever":
            self._stream_forever(conn, _response("200 OK", [("Content-Type", "application/json"),
                                                            ("Transfer-Encoding", "chunked")]) + b"2\r\n{}\r\n0\r\n",
                                 (b"X-Trailer: " + b"t" * 50 + b"\r\n") * 1000)
            return False
        elif path == "/te-gzip-chunked":
            conn.sendall(_response("200 OK", [("Content-Type", "application/json"),
                                              ("Transfer-Encoding", "gzip, chunked")]) + _chunked(gzip.compress(JSON)) + b"0\r\n\r\n")
        elif path.startswith("/status/"):
            code = path.rsplit("/", 1)[1]
            conn.sendall(f"HTTP/1.1 {code} Odd\r\nContent-Length: 0\r\n\r\n".encode())
        elif path == "/drip-100":
            while not self.stopped.wait(0.2):
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            return False
        else:
            conn.sendall(_response("404 Not Found", [("Content-Length", "0")]))
        return True
