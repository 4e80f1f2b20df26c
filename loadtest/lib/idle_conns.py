#!/usr/bin/python3
"""Holds N idle keep-alive connections to a front, each after one complete request.

Usage: idle_conns.py PORT PATH ACCEPT N MAX_SECONDS
Opens N connections to 127.0.0.1:PORT one after another, sends one GET for PATH on each and
reads the whole response (Content-Length or chunked), then prints "ready OPENED FAILED" and
keeps every connection open, without sending anything more, until it is killed or MAX_SECONDS
have passed. The harness samples the front's RSS before and while they are held.
"""
import socket
import sys
import time


def read_response(sock, buf=b""):
    """Reads one response on a keep-alive connection; True when it was a complete 200."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    ok = lines[0].split()[1:2] == ["200"]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        need = int(headers["content-length"])
        while len(body) < need:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            body += chunk
        return ok
    if "chunked" in headers.get("transfer-encoding", ""):
        # The zero-size chunk and the empty trailer end the body.
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                return False
            body += chunk
        return ok
    return False  # a body delimited by close would not leave the connection kept alive


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    port, path, accept, n, max_seconds = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                                          int(sys.argv[4]), float(sys.argv[5]))
    deadline = time.monotonic() + max_seconds
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: {accept}\r\n"
               "User-Agent: idle_conns\r\n\r\n").encode()
    held, failed = [], 0
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(request)
            if read_response(s):
                held.append(s)
                continue
            s.close()
        except OSError:
            pass
        failed += 1
    print(f"ready {len(held)} {failed}", flush=True)
    remaining = deadline - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


main()
