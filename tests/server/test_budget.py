"""Hardening item 3: the transform memory budget bounds memory. Every byte a transform holds is
leased, so however many large documents arrive at once, peak RSS stays under the budget plus a
fixed base; past the budget a response passes through unchanged (reason=overloaded)."""
import http.client
import http.server
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import unittest

from harness import Proxy

MIB = 1 << 20
# Big enough that two whole transforms at once (about 10x the JSON each, really) exceed a 256 MiB
# budget plus the base, which an unbounded proxy reaches on two transform threads.
DOC_BYTES = 24 * MIB
# The fixed base on top of the idle RSS: I/O and transform threads' stacks and malloc arenas,
# relay and socket buffers, the metrics and config tables. Not leased, so not in the budget.
FIXED_BASE = 64 * MIB
CONCURRENT = 3
BOUND = 60  # seconds any one exchange may take before it counts as no answer
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BFAST_CLI = os.environ.get("BFAST_CLI_BIN", os.path.join(REPO, "build", "cli", "bfast"))


def make_document():
    """A JSON array of records of about DOC_BYTES, the same every run."""
    rng = random.Random(3)
    records, size, i = [], 2, 0
    while size < DOC_BYTES:
        rec = {"id": i, "name": f"user-{rng.randrange(10**6)}", "active": rng.random() < 0.5,
               "score": rng.randrange(-10**9, 10**9), "ratio": rng.randrange(10**4) / 8,
               "tags": [f"t{rng.randrange(50)}" for _ in range(rng.randrange(4))],
               "address": {"city": f"city-{rng.randrange(500)}", "zip": f"{rng.randrange(10**5):05d}"}}
        text = json.dumps(rec, separators=(",", ":"))
        records.append(text)
        size += len(text) + 1
        i += 1
    return ("[" + ",".join(records) + "]").encode()


class DocumentUpstream:
    """A tiny threaded HTTP/1.1 server on port 0 answering every GET with the document."""

    def __init__(self, body):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def proc_status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def fetch_bfast(port, results, slot):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=BOUND)
    try:
        conn.request("GET", "/doc.json", headers={"Accept": "application/x-bfast"})
        r = conn.getresponse()
        results[slot] = (r.status, r.getheader("BFast-Status", ""), r.getheader("Content-Type", ""),
                         r.read())
    except Exception as e:  # recorded, then asserted on by the test thread
        results[slot] = (0, f"{type(e).__name__}: {e}", "", b"")
    finally:
        conn.close()


@unittest.skipIf(os.environ.get("BFAST_SANITIZE", "OFF").upper() not in ("", "OFF", "0", "FALSE"),
                 "a sanitizer's shadow memory and quarantine make RSS no measure of the budget")
class TransformBudgetTest(unittest.TestCase):
    """A fresh proxy per case: VmHWM cannot be reset, so each case's peak is its own."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="bfast-budget-")
        cls.doc = make_document()
        cls.doc_value = json.loads(cls.doc)
        cls.upstream = DocumentUpstream(cls.doc)

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def decode(self, body):
        path = os.path.join(self.dir, "reply.bfast")
        with open(path, "wb") as f:
            f.write(body)
        p = subprocess.run([BFAST_CLI, "decode", path], capture_output=True, timeout=BOUND)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[:300])
        return json.loads(p.stdout)

    def run_rounds(self, budget, rounds):
        """Rounds of CONCURRENT B-FAST requests; checks every reply, returns (statuses, peak, base)
        in bytes."""
        proxy = Proxy(self.upstream.port, "--threads", "2", "--transform-threads", "2",
                      "--transform-memory-budget-bytes", str(budget),
                      config={"routes": [{"prefix": "/", "max_body_bytes": 4 * DOC_BYTES}]})
        try:
            base = proc_status_kib(proxy.proc.pid, "VmRSS") * 1024
            statuses = []
            for n in range(rounds):
                results = [None] * CONCURRENT
                threads = [threading.Thread(target=fetch_bfast, args=(proxy.port, results, i))
                           for i in range(CONCURRENT)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(BOUND + 5)
                for i, (status, bfast_status, ctype, body) in enumerate(results):
                    with self.subTest(round=n, request=i):
                        self.assertEqual(status, 200, bfast_status)
                        statuses.append(bfast_status)
                        if bfast_status.startswith("transcoded"):
                            self.assertEqual(self.decode(body), self.doc_value)
                        else:
                            self.assertIn("reason=overloaded", bfast_status)
                            self.assertTrue(body == self.doc, "passthrough body differs from the original")
            self.assertIsNone(proxy.proc.poll(), "the proxy exited")
            peak = proc_status_kib(proxy.proc.pid, "VmHWM") * 1024
        finally:
            proxy.stop()
        return statuses, peak, base

    def assert_bounded(self, budget, peak, base, statuses):
        print(f"\n  budget {budget / MIB:.0f} MiB, idle RSS {base / MIB:.1f} MiB, "
              f"VmHWM {peak / MIB:.1f} MiB, limit {(budget + base + FIXED_BASE) / MIB:.1f} MiB, "
              f"transcoded {sum(s.startswith('transcoded') for s in statuses)}/{len(statuses)}",
              flush=True)
        self.assertLessEqual(peak, budget + base + FIXED_BASE,
                             f"peak RSS {peak / MIB:.1f} MiB over budget {budget / MIB:.0f} MiB "
                             f"+ idle {base / MIB:.1f} MiB + fixed base {FIXED_BASE // MIB} MiB")

    def test_small_budget_bounds_peak_rss(self):
        """Too small a budget for a whole transform of this document: requests pass through
        (overloaded), and the peak stays within the budget."""
        budget = 256 * MIB
        statuses, peak, base = self.run_rounds(budget, rounds=3)
        self.assert_bounded(budget, peak, base, statuses)

    def test_budget_for_one_transform_bounds_peak_rss(self):
        """Room for one transform at a time (its bound is about 45x the JSON): at least one
        transcodes, the others pass through, and the peak stays within the budget."""
        budget = 50 * DOC_BYTES
        statuses, peak, base = self.run_rounds(budget, rounds=1)
        self.assertTrue(any(s.startswith("transcoded") for s in statuses), statuses)
        self.assert_bounded(budget, peak, base, statuses)


if __name__ == "__main__":
    unittest.main()
