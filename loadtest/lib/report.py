#!/usr/bin/python3
"""Writes DIR/report.md, the PNG charts and DIR/headline.md (the README's Performance section
for this run) from DIR/data/.

Usage: report.py DIR
Every figure comes from the data files of the run in DIR; targets are reported, never enforced.
"""
import json
import os
import statistics
import sys
from collections import defaultdict

import goals
import h2_report

FRONT_LABELS = {
    "nginx-direct": "nginx direct (the origin)",
    "nginx-proxy": "nginx proxy_pass",
    "nginx-gzip1": "nginx proxy_pass + gzip 1",
    "nginx-gzip6": "nginx proxy_pass + gzip 6",
    "haproxy": "HAProxy (http mode, keep-alive)",
    "bfast-auto": "bfast-proxy, x-bfast, auto",
    "bfast-lz4": "bfast-proxy, x-bfast, lz4 forced",
    "bfast-none": "bfast-proxy, x-bfast, uncompressed",
    "bfast-pass": "bfast-proxy, JSON pass-through",
    "nginx-tls": "nginx proxy_pass, TLS listener",
    "bfast-tls": "bfast-proxy, JSON pass-through, TLS listener",
    "nginx-h2-direct": "nginx direct, HTTP/2 (h2c)",
    "nginx-h2-proxy": "nginx proxy_pass, HTTP/2 (h2c)",
    "nginx-h2-gzip1": "nginx proxy_pass + gzip 1, HTTP/2 (h2c)",
    "bfast-h2-pass": "bfast-proxy, JSON pass-through, HTTP/2 (h2c)",
    "bfast-h2-auto": "bfast-proxy, x-bfast, auto, HTTP/2 (h2c)",
    "bfast-h2-lz4": "bfast-proxy, x-bfast, lz4 forced, HTTP/2 (h2c)",
    "nginx-h2-tls": "nginx proxy_pass, HTTP/2 over TLS (h2)",
    "bfast-h2-tls": "bfast-proxy, JSON pass-through, HTTP/2 over TLS (h2)",
}
FORMAT_LABELS = {
    "json": "JSON (nginx proxy_pass)",
    "gzip-1": "JSON + gzip 1 (nginx)",
    "gzip-6": "JSON + gzip 6 (nginx)",
    "bfast-none": "B-FAST uncompressed",
    "bfast-lz4": "B-FAST + LZ4 forced",
    "bfast-auto": "B-FAST auto policy",
    "auto-any": "auto, JSON or B-FAST",
}
# The network clients: name in the data -> what it is.
CLIENT_LABELS = {
    "ts": "node, the deployed TypeScript decoder",
    "python": "Python 3, the deployed Python decoder",
}
SPEED_COLUMNS = (("bfast", "B-FAST raw"), ("lz4", "LZ4 inflate"), ("json", "JSON parse"),
                 ("gzip", "gzip inflate"), ("zstd", "zstd inflate"))
FIXED_BFAST = ("bfast-none", "bfast-lz4")
FIXED_ALL = ("json", "gzip-1", "gzip-6", "bfast-none", "bfast-lz4")


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def median(xs):
    return statistics.median(xs) if xs else None


def human_bytes(n):
    if n is None:
        return "—"
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}" if n < 100 * scale else f"{n / scale:.0f} {unit}"
    return f"{n:.0f} B"


def fmt_num(x, digits=3):
    if x is None:
        return "—"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_spread(values, digits=3):
    """Median, then min–max when there is more than one value."""
    if not values:
        return "—"
    m = fmt_num(median(values), digits)
    if len(values) == 1:
        return m
    return f"{m} ({fmt_num(min(values), digits)}–{fmt_num(max(values), digits)})"


def fmt_ratio(x):
    return "—" if x is None else f"{x:.2f}×"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def payload_label(name, size):
    file_name = name + ".json"
    return f"{file_name} ({human_bytes(size)})" if size else file_name


class Report:
    def __init__(self, out):
        self.out = out
        data = os.path.join(out, "data")
        with open(os.path.join(data, "meta.json")) as f:
            self.meta = json.load(f)
        self.checks = load_jsonl(os.path.join(data, "checks.jsonl"))
        self.wrk = load_jsonl(os.path.join(data, "throughput.jsonl"))
        self.net = load_jsonl(os.path.join(data, "network.jsonl"))
        self.memory = load_jsonl(os.path.join(data, "memory.jsonl"))
        self.idle = load_jsonl(os.path.join(data, "idle.jsonl"))
        self.steady = load_jsonl(os.path.join(data, "steady.jsonl"))
        self.latency = load_jsonl(os.path.join(data, "latency.jsonl"))
        self.speeds = load_jsonl(os.path.join(data, "decoder_speeds.jsonl"))
        self.tls = load_jsonl(os.path.join(data, "tls.jsonl"))
        self.tls_sessions = load_jsonl(os.path.join(data, "tls_sessions.jsonl"))
        self.h2 = load_jsonl(os.path.join(data, "h2.jsonl"))
        # Runs before the Python client had only the node one.
        for rec in self.net:
            rec.setdefault("client", "ts")
        # Runs before worker passes recorded no worker count per cell: they had one.
        first = int(str(self.meta.get("workers", "1")).split()[0])
        for rec in self.wrk + self.memory + self.latency:
            rec.setdefault("workers", first)
        self.profiles = []
        path = os.path.join(data, "profiles.tsv")
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    cols = line.rstrip("\n").split("\t")
                    if len(cols) >= 5 and not line.startswith("#"):
                        self.profiles.append({"name": cols[0], "down": float(cols[1]),
                                              "up": float(cols[2]), "rtt": float(cols[3]),
                                              "ect": cols[4], "source": cols[5] if len(cols) > 5 else ""})
        self.fronts = self.meta.get("fronts", "").split()
        self.sizes = {}
        for rec in self.checks:
            self.sizes[rec["payload"]] = int(rec["json_bytes"])
        for rec in self.wrk + self.tls + self.h2 + self.net:
            self.sizes.setdefault(rec["payload"], rec["json_bytes"])
        for rec in self.speeds:
            if rec.get("speed") == "json":
                self.sizes.setdefault(rec["payload"], rec["bytes"])
        self.charts = []
        self.chart_note = ""
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
            self.plt = plt
        except ImportError:
            self.plt = None
            self.chart_note = "Charts were not drawn: python3-matplotlib is missing (loadtest/setup.sh installs it)."

    table = staticmethod(table)
    spread = staticmethod(fmt_spread)
    num = staticmethod(fmt_num)
    ratio_text = staticmethod(fmt_ratio)
    bytes_text = staticmethod(human_bytes)
    payload_label = staticmethod(payload_label)
    front_label = staticmethod(lambda f: FRONT_LABELS.get(f, f))
    sent_as = staticmethod(lambda status, encoding: sent_as(status, encoding))

    def worker_counts(self):
        return sorted({int(r["workers"]) for r in self.wrk})

    def workers_text(self):
        return ", then ".join(str(self.meta.get("workers", "1")).split())

    def cells_at(self, workers):
        """The throughput cells measured with WORKERS workers/threads per server."""
        return self.wrk_cells([r for r in self.wrk if int(r["workers"]) == workers])

    def tls_worker_counts(self):
        return sorted({int(r["workers"]) for r in self.tls})

    def tls_cells_at(self, workers):
        """The TLS pass-through cells measured with WORKERS workers/threads per server."""
        return self.wrk_cells([r for r in self.tls if int(r["workers"]) == workers])

    # ----- throughput -----------------------------------------------------------------------
    def wrk_cells(self, records=None):
        """(payload, front) -> list of per-rep measurements."""
        cells = defaultdict(list)
        for rec in self.wrk if records is None else records:
            w = rec.get("wrk")
            if not w or not w.get("responses"):
                cells[(rec["payload"], rec["front"])]
                continue
            seconds = w["duration_us"] / 1e6
            cells[(rec["payload"], rec["front"])].append({
                "rps": w["responses"] / seconds,
                "p50_ms": w["latency_us"]["p50"] / 1e3,
                "p99_ms": w["latency_us"]["p99"] / 1e3,
                "bytes": w["body_bytes"] / w["responses"],
                "cpu_per_1k": rec["cpu_s"] / w["responses"] * 1000,
                "origin_cpu_per_1k": rec["origin_cpu_s"] / w["responses"] * 1000,
                "peak_rss_mb": rec["peak_rss_kb"] / 1024,
                "idle_rss_mb": rec["idle_rss_kb"] / 1024,
                "errors": sum(w["errors"].values()) + w["non_200"],
                "bfast_status": w.get("bfast_status", ""),
                "encoding": w.get("content_encoding", ""),
                "json_bytes": rec["json_bytes"], "connections": rec["connections"],
            })
        return cells

    def wrk_payloads(self):
        seen = []
        for rec in self.wrk:
            if rec["payload"] not in seen:
                seen.append(rec["payload"])
        return seen

    @staticmethod
    def med(cell, key):
        return median([r[key] for r in cell]) if cell else None

    def ratio(self, cells, payload, front, base, key="rps"):
        a, b = self.med(cells.get((payload, front)), key), self.med(cells.get((payload, base)), key)
        return a / b if a and b else None

    def throughput_section(self):
        if not self.wrk:
            return "## Throughput (wrk)\n\nNot measured in this run.\n"
        m = self.meta
        parts = [
            "## Throughput (wrk)\n",
            f"wrk, 1 thread, {m['connections']} keep-alive connections for bodies under 1 MB and "
            f"{max(1, int(m['connections']) // 4)} for larger ones, {m['duration_s']} s per cell, "
            f"{m['reps']} repetition(s) per cell, cells interleaved across fronts. Each figure is the "
            "median, with the smallest and largest repetition in brackets. CPU is user+system time "
            "of the front's own processes (and, separately, of the origin) per 1,000 responses; "
            "peak RSS is the front's VmHWM during the cell (summed over its processes). "
            "Ratios compare medians of req/s.\n",
        ]
        counts = self.worker_counts()
        for workers in counts:
            parts += self.throughput_tables(workers, len(counts) > 1)
        parts.append(self.chart_throughput(self.cells_at(counts[0])))
        return "\n".join(parts)

    def throughput_tables(self, workers, say_workers):
        cells = self.cells_at(workers)
        parts = []
        for payload in self.wrk_payloads():
            rows = []
            for front in self.fronts:
                cell = cells.get((payload, front))
                if cell is None:
                    continue
                if not cell:
                    rows.append([FRONT_LABELS.get(front, front), "failed"] + ["—"] * 10)
                    continue
                rows.append([
                    FRONT_LABELS.get(front, front), sent_as(cell[0]["bfast_status"], cell[0]["encoding"]),
                    fmt_spread([r["rps"] for r in cell], 4),
                    fmt_num(self.med(cell, "p50_ms")), fmt_num(self.med(cell, "p99_ms")),
                    human_bytes(self.med(cell, "bytes")),
                    fmt_num(self.med(cell, "cpu_per_1k")), fmt_num(self.med(cell, "origin_cpu_per_1k")),
                    fmt_num(self.med(cell, "peak_rss_mb")),
                    fmt_ratio(self.ratio(cells, payload, front, "nginx-gzip1")),
                    fmt_ratio(self.ratio(cells, payload, front, "nginx-proxy")),
                    sum(r["errors"] for r in cell),
                ])
            where = f", {workers} worker(s)/thread(s) per server" if say_workers else ""
            parts.append(f"### {payload_label(payload, self.sizes.get(payload))}{where}\n")
            parts.append(table(["front", "sent as", "req/s", "p50 ms", "p99 ms", "bytes/response",
                                "front CPU s/1k", "origin CPU s/1k", "peak RSS MB",
                                "× gzip-1", "× proxy_pass", "errors"], rows) + "\n")
        return parts

    def chart_throughput(self, cells):
        if not self.plt:
            return ""
        payloads = self.wrk_payloads()
        fronts = [f for f in self.fronts if any(cells.get((p, f)) for p in payloads)]
        fig, axes = self.plt.subplots(2, 1, figsize=(12, 8.5), sharex=True)
        for metric, ax, title in (("rps", axes[0], "requests/s (median; log scale)"),
                                  ("cpu_per_1k", axes[1], "front CPU seconds per 1,000 responses (log scale)")):
            grouped_bars(ax, payloads, fronts,
                         lambda f, p: [r[metric] for r in cells.get((p, f)) or [] if r[metric] > 0],
                         lambda f: FRONT_LABELS.get(f, f))
            ax.set_yscale("log")
            ax.set_title(title)
        self.payload_ticks(axes[1], payloads)
        axes[0].legend(fontsize=8, ncol=2)
        return self.save_chart(fig, "throughput.png", "requests/s and CPU per 1,000 responses by payload and front")

    def payload_ticks(self, ax, payloads):
        ax.set_xticks(range(len(payloads)))
        ax.set_xticklabels([payload_label(p, self.sizes.get(p)) for p in payloads], rotation=20, ha="right")

    def save_chart(self, fig, name, alt):
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, name), dpi=100)
        self.plt.close(fig)
        return f"![{alt}]({name})\n"

    # ----- TLS pass-through ------------------------------------------------------------------
    def tls_section(self):
        m = self.meta
        if not self.tls:
            note = m.get("tls_note", "")
            return f"## TLS pass-through (wrk over HTTPS)\n\nNot measured in this run{': ' + note if note else ''}.\n"
        conns = int(m["connections"])
        parts = [
            "## TLS pass-through (wrk over HTTPS)\n",
            "nginx with an `ssl` listener (`nginx/front.conf.in` with `nginx/tls.conf.in`) and "
            "bfast-proxy with a TLS listener (`tls_certificate`, `tls_certificate_key`, "
            "`tls_min_version` 1.2, `tls_ciphers`), both proxying JSON from the same cleartext "
            "origin; requests ask `Accept: application/json`. Both have the same certificate (a "
            "throwaway ECDSA P-256 one made by `openssl req` for the run), TLSv1.2 and TLSv1.3, "
            f"and the same TLS 1.2 cipher list in the server's order: `{m.get('tls_ciphers', '?')}`. "
            f"wrk, 1 thread, {conns} keep-alive connections for bodies under 1 MB and "
            f"{max(1, conns // 4)} for larger ones, {m['duration_s']} s per cell, {m['reps']} "
            "repetition(s), cells interleaved. Each connection handshakes once, so the cells "
            "measure record encryption and proxying, not handshakes. Medians, with the smallest "
            "and largest repetition in brackets; the ratio compares medians of req/s.\n",
        ]
        if self.tls_sessions:
            parts.append("What a client gets (`openssl s_client`, offering its defaults or TLS 1.2 "
                         "only; verified against the run's certificate):\n")
            parts.append(table(["front", "client offers", "protocol", "cipher", "key exchange", "verify"],
                               [[FRONT_LABELS.get(r["front"], r["front"]),
                                 "TLS 1.2 only" if r["offer"] == "-tls1_2" else "its defaults",
                                 r["protocol"] or "no handshake", r["cipher"] or "—",
                                 r["key_exchange"] or "—", r["verify"] or "—"]
                                for r in self.tls_sessions]) + "\n")
        counts = self.tls_worker_counts()
        for workers in counts:
            cells = self.tls_cells_at(workers)
            clear = self.cells_at(workers) if self.wrk else {}
            rows = []
            for payload in dict.fromkeys(r["payload"] for r in self.tls):
                for front in ("bfast-tls", "nginx-tls"):
                    cell = cells.get((payload, front))
                    if cell is None:
                        continue
                    label = [payload_label(payload, self.sizes.get(payload)), FRONT_LABELS[front]]
                    if not cell:
                        rows.append(label + ["failed"] + ["—"] * 7)
                        continue
                    rows.append(label + [
                        fmt_spread([r["rps"] for r in cell], 4),
                        fmt_num(self.med(cell, "p50_ms")), fmt_num(self.med(cell, "p99_ms")),
                        fmt_num(self.med(cell, "cpu_per_1k")), fmt_num(self.med(cell, "peak_rss_mb")),
                        fmt_ratio(self.ratio(cells, payload, front, "nginx-tls")),
                        fmt_ratio(self.ratio(clear, payload, "bfast-pass", "nginx-proxy"))
                        if front == "bfast-tls" else "",
                        sum(r["errors"] for r in cell),
                    ])
            if len(counts) > 1:
                parts.append(f"### {workers} worker(s)/thread(s) per server\n")
            parts.append(table(["payload", "front", "req/s", "p50 ms", "p99 ms", "front CPU s/1k",
                                "peak RSS MB", "× nginx TLS", "cleartext: bfast-pass × nginx proxy_pass",
                                "errors"], rows) + "\n")
        parts.append("The last column is the same ratio without TLS from this run's throughput cells "
                     "(— where the mode ran none), to tell TLS's share from the proxying's.\n")
        return "\n".join(parts)

    # ----- memory ----------------------------------------------------------------------------
    def memory_rows(self):
        """(payload, RSS at start MB, peak MB, bodies in flight MB) of the fresh-process cells."""
        rows = []
        for (payload, _), cell in self.wrk_cells(self.memory).items():
            if cell:
                rows.append((payload, min(r["idle_rss_mb"] for r in cell),
                             max(r["peak_rss_mb"] for r in cell),
                             cell[0]["json_bytes"] / 2**20 * cell[0]["connections"]))
        return rows

    def memory_fit(self):
        """Least-squares line peak = base + slope × in flight over the fresh-process cells."""
        rows = self.memory_rows()
        if len(rows) < 2:
            return None
        xs, ys = [r[3] for r in rows], [r[2] for r in rows]
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx == 0:
            return None
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        return slope, my - slope * mx

    def memory_section(self):
        rows = self.memory_rows()
        if not rows:
            return ""
        fit = self.memory_fit()
        fit_text = (f"A least-squares line through the cells: peak ≈ {fit[1]:.1f} MB + "
                    f"{fit[0]:.2f} × bodies in flight.\n" if fit else "")
        return "\n".join([
            "## bfast-proxy memory\n",
            "For each payload a fresh bfast-proxy (LZ4 forced) takes one wrk cell, so its peak "
            "RSS (VmHWM) belongs to that payload alone. Bodies in flight: the JSON body × the "
            "connections, since each connection has at most one response in flight. The goal: "
            f"the peak stays within {goals.SLOPE_LIMIT:g}× the bodies in flight plus a "
            "fixed base; the slope of the line under the table is the figure compared with "
            f"{goals.SLOPE_LIMIT:g}. (The throughput tables' peak "
            "RSS column is the long-running processes' view, after every earlier cell.)\n",
            table(["payload", "RSS at start MB", "peak RSS MB", "bodies in flight MB",
                   "(peak − start) / in flight"],
                  [[payload_label(p, self.sizes.get(p)), fmt_num(base), fmt_num(peak), fmt_num(fl),
                    f"{(peak - base) / fl:.2f}"] for p, base, peak, fl in rows]),
            "",
            fit_text,
            self.chart_memory(rows)])

    def chart_memory(self, rows):
        if not self.plt:
            return ""
        payloads = [r[0] for r in rows]
        fig, ax = self.plt.subplots(figsize=(12, 4.5))
        grouped_bars(ax, payloads, ["peak"], lambda _, p: [r[2] for r in rows if r[0] == p],
                     lambda _: "peak RSS")
        for j, (_, base, _, in_flight) in enumerate(rows):
            ax.hlines(base + goals.SLOPE_LIMIT * in_flight, j - 0.45, j + 0.45, colors="black",
                      linestyles="dashed",
                      label=f"RSS at start + {goals.SLOPE_LIMIT:g} × bodies in flight" if j == 0 else None)
        ax.set_yscale("log")
        self.payload_ticks(ax, payloads)
        ax.set_title("fresh bfast-proxy (LZ4 forced): peak RSS in MB (log scale) during one wrk cell")
        ax.legend(fontsize=8)
        return self.save_chart(fig, "memory.png", "bfast-proxy peak RSS against the bodies in flight")

    # ----- bytes on the wire -----------------------------------------------------------------
    def checks_section(self):
        if not self.checks:
            return "## Checks\n\nNo checks ran.\n"
        failed = [c for c in self.checks if c["verdict"] != "ok"]
        net_checks = [r for r in self.net if r.get("rep") == 0]
        net_failed = [r for r in net_checks if r.get("check") != "ok"]
        fronts = [f for f in self.fronts if any(c["front"] == f for c in self.checks)]
        payloads = []
        for c in self.checks:
            if c["payload"] not in payloads:
                payloads.append(c["payload"])
        by = {(c["payload"], c["front"]): c for c in self.checks}
        rows = []
        for p in payloads:
            row = [payload_label(p, self.sizes.get(p))]
            for f in fronts:
                c = by.get((p, f))
                if not c:
                    row.append("—")
                    continue
                mark = "" if c["verdict"] == "ok" else " ✗"
                status = c.get("bfast_status", "")
                how = ""
                if status.startswith("transcoded"):
                    how = " " + next((t.split("=", 1)[1] for t in status.replace(" ", "").split(";")
                                      if t.startswith("compress=")), "")
                elif status.startswith("passthrough"):
                    how = " pass"
                row.append(f"{human_bytes(int(c['bytes']))}{how}{mark}")
            rows.append(row)
        parts = [
            "## Checks and bytes on the wire\n",
            f"{len(self.checks) - len(failed)} of {len(self.checks)} responses passed: each front "
            "answered each payload with 200; JSON bodies are byte-identical to the file, gzip "
            "bodies gunzip to it, and B-FAST bodies decode to what `JSON.parse` and `json.loads` "
            "make of it in both deployed decoders (`../shared/oracles/check.py` and `check.js`). "
            f"Network client: {len(net_checks) - len(net_failed)} of {len(net_checks)} warm-up "
            "exchanges decoded to the payload.\n",
        ]
        if failed or net_failed:
            parts.append(table(["front", "payload", "what failed"],
                               [[c["front"], c["payload"], c["detail"] or c["status"]] for c in failed] +
                               [[f"{r['format']} @ {r['profile']} ({r['client']})", r["payload"],
                                 r.get("error", r.get("check", ""))]
                                for r in net_failed]) + "\n")
        parts.append("Body bytes per response (and, for B-FAST, the proxy's compression decision):\n")
        parts.append(table(["payload"] + [FRONT_LABELS.get(f, f) for f in fronts], rows) + "\n")
        parts.append(self.chart_bytes(by, payloads, fronts))
        return "\n".join(parts)

    def chart_bytes(self, by, payloads, fronts):
        if not self.plt:
            return ""
        # The fronts that send the JSON itself are the 1.0 line.
        shown = [f for f in fronts if f not in ("nginx-direct", "nginx-proxy", "bfast-pass",
                                                "nginx-tls", "bfast-tls", "nginx-h2-direct",
                                                "nginx-h2-proxy", "bfast-h2-pass", "nginx-h2-tls",
                                                "bfast-h2-tls")]
        if not shown:
            return ""

        def fraction(front, payload):
            c = by.get((payload, front))
            ok = c and c["verdict"] == "ok" and int(c["json_bytes"])
            return [int(c["bytes"]) / int(c["json_bytes"])] if ok else []

        fig, ax = self.plt.subplots(figsize=(12, 4.5))
        grouped_bars(ax, payloads, shown, fraction, lambda f: FRONT_LABELS.get(f, f))
        ax.axhline(1.0, color="black", linewidth=0.8)
        self.payload_ticks(ax, payloads)
        ax.set_title("bytes per response as a fraction of the JSON body (line: the JSON)")
        ax.set_ylim(0, 1.25)
        ax.legend(fontsize=8, ncol=3, loc="upper right")
        return self.save_chart(fig, "bytes.png", "bytes per response relative to the JSON body, by payload and front")

    # ----- network -----------------------------------------------------------------------------
    def net_clients(self):
        return [c for c in CLIENT_LABELS if any(r["client"] == c for r in self.net)]

    def net_cells(self, client="ts"):
        """(profile, payload, format) -> the timed exchanges of one client; and what the
        adaptive fronts sent in the warm-up."""
        cells = defaultdict(list)
        choice = {}
        for rec in self.net:
            if rec["client"] != client:
                continue
            key = (rec["profile"], rec["payload"], rec["format"])
            if rec.get("rep", -1) >= 1 and "ms" in rec:
                cells[key].append(rec)
            if rec.get("rep") == 0 and "ms" in rec:
                choice[key] = describe_choice(rec)
            cells.setdefault(key, cells[key])
        return cells, choice

    def goodput(self, cells, profile):
        """Mbit/s of the largest plain-JSON transfer: the bits after the first chunk over the
        time from the first chunk to the last byte. None when no transfer was long enough."""
        best = None
        for (prof, payload, fmt), recs in cells.items():
            if prof != profile or fmt != "json":
                continue
            for r in recs:
                bits = (r["wire_bytes"] - r.get("first_chunk_bytes", 0)) * 8
                span = r["ttlb_ms"] - r["ttfb_ms"]
                if span >= 20 and (best is None or bits > best[0]):
                    best = (bits, bits / span / 1e3)
        return best[1] if best else None

    def network_section(self):
        note = self.meta.get("net_note", "")
        if not self.net:
            return f"## Network profiles\n\nNot measured in this run{': ' + note if note else ''}.\n"
        m = self.meta
        decodes = {c: m.get(f"client_decodes_{c}", "") for c in CLIENT_LABELS}
        offered = {}
        for rec in self.net:
            if "offered" in rec:
                offered[(rec["client"], rec["format"])] = rec["offered"]

        def offer_text(client):
            mine = [f"{FORMAT_LABELS.get(f, f)}: `{o or 'nothing'}`" for (c, f), o in offered.items()
                    if c == client and f in ("bfast-auto", "auto-any")]
            return "; ".join(mine)
        parts = [
            "## Network profiles: time until the client holds the decoded value\n",
            "Each client runs in its own network namespace and reaches the fronts over a veth pair "
            "whose two directions are shaped by `tc tbf` to the profile's bandwidth. Latency is "
            "**real, not modelled**: a delaying relay in front of the fronts holds every chunk for "
            "RTT/2 in each direction (netem is not available). TCP's window growth sees the short "
            "veth RTT, so slow start over a long path is not reproduced; the connection is a warm "
            "keep-alive one, so no handshake is counted. The time runs from the request being "
            "sent to the value being held. Two clients: node (`net/client.js`: `JSON.parse`, after "
            "a streaming inflate when the body is encoded; the deployed TypeScript decoder's "
            "`BFastDecoder.decode`; it sends `BFast-Decoder: ts`) and Python 3 (`net/client.py`: "
            "`json.loads` after a streaming `zlib`/`zstandard` decompress; the deployed Python "
            "decoder's `BFast().decode_packed`; it sends `BFast-Decoder: python`). Both send the "
            "profile as Client Hints (`RTT`, `Downlink`, `ECT`); bfast-proxy's adaptive policy can "
            "use them, since the TCP_INFO it reads describes the relay's loopback hop.\n",
            "Columns: the fixed fronts are asked with one `Accept` and offered nothing, except "
            "gzip for the nginx gzip fronts. *B-FAST auto policy* is bfast-proxy's `auto` front "
            "asked with `Accept: application/x-bfast`; *auto, JSON or B-FAST* is the same front "
            "asked with `Accept: application/x-bfast, application/json;q=0.9`, so it may answer "
            "with either representation (representation negotiation). Each client offers those two "
            "columns only the codings it can inflate (wished for: `gzip, br, zstd` and "
            "`gzip, zstd`)"
            + "".join(f"; {c} can inflate `{d}`" for c, d in decodes.items() if d)
            + (". **node's zlib has no zstd** (`zlib.createZstdDecompress` is absent in node "
               f"{m.get('node', '')}), so the node client never offers zstd"
               if decodes.get("ts") and "zstd" not in decodes["ts"] else "")
            + "".join(f". {c} offered {offer_text(c)}" for c in self.net_clients() if offer_text(c))
            + ".\n",
            f"Each cell: one warm-up exchange (checked against the payload, not timed), then up to "
            f"{m['reps']} timed exchanges, no more once {m.get('net_cell_seconds', '?')} s are spent "
            "(at least one); median (min–max) in ms. Speed-up is JSON's median over the format's. "
            "The *chose* columns show what came back in the warm-up, from `BFast-Status` and "
            "`Content-Encoding` (representation + coding, the proxy's reason).\n",
        ]
        ts_cells, _ = self.net_cells("ts")
        profiles = [p for p in self.profiles if any(r["profile"] == p["name"] for r in self.net)]
        rows = []
        for p in profiles:
            g = self.goodput(ts_cells, p["name"])
            rows.append([p["name"], fmt_num(p["down"]), fmt_num(p["up"]), fmt_num(p["rtt"]), p["ect"],
                         fmt_num(g) if g else "—", p["source"]])
        parts.append(table(["profile", "down Mbit/s", "up Mbit/s", "RTT ms", "ECT hint",
                            "measured JSON goodput Mbit/s", "figures from"], rows) + "\n")
        for client in self.net_clients():
            parts += self.client_tables(client)
        parts.append(goals.net_goal_tables(self))
        parts.append(self.speeds_section())
        return "\n".join(parts)

    @staticmethod
    def format_label(fmt):
        return FORMAT_LABELS.get(fmt, fmt)

    def net_layout(self, client):
        """The payloads and formats one client ran, in run order."""
        payloads, formats = [], []
        for rec in self.net:
            if rec["client"] != client:
                continue
            if rec["payload"] not in payloads:
                payloads.append(rec["payload"])
            if rec["format"] not in formats:
                formats.append(rec["format"])
        return payloads, formats

    def client_tables(self, client):
        cells, choice = self.net_cells(client)
        payloads, formats = self.net_layout(client)
        profiles = [p for p in self.profiles if any(k[0] == p["name"] for k in cells)]
        chose = [f for f in ("bfast-auto", "auto-any") if f in formats]
        parts = [f"### Client: {CLIENT_LABELS.get(client, client)}\n"]
        for p in profiles:
            rows = []
            for payload in payloads:
                base = median([r["ms"] for r in cells.get((p["name"], payload, "json"), [])])
                row = [payload_label(payload, self.sizes.get(payload))]
                for fmt in formats:
                    vals = [r["ms"] for r in cells.get((p["name"], payload, fmt), [])]
                    if not vals:
                        row.append("failed" if (p["name"], payload, fmt) in cells else "—")
                        continue
                    speedup = f" **{base / median(vals):.2f}×**" if base and fmt != "json" else ""
                    row.append(fmt_spread(vals, 4) + speedup)
                row += [choice.get((p["name"], payload, f)) or "—" for f in chose]
                rows.append(row)
            parts.append(f"#### {client}, {p['name']}: {fmt_num(p['down'])} Mbit/s down, "
                         f"{fmt_num(p['up'])} Mbit/s up, RTT {fmt_num(p['rtt'])} ms\n")
            parts.append(table(["payload"] + [FORMAT_LABELS.get(f, f) for f in formats]
                               + [f"{FORMAT_LABELS[f]}: chose" for f in chose], rows) + "\n")
        parts.append(self.decode_table(cells, payloads, formats, f"{client}: decoding alone"))
        if client == "ts":
            parts.append(self.chart_network(cells, profiles, payloads, formats))
        return parts

    def speeds_section(self):
        """The clients' decoders alone, warm (net/decode_speed.js and .py)."""
        rows_by = defaultdict(dict)
        notes = []
        for r in self.speeds:
            if "speed" in r:
                rows_by[(r["client"], r["payload"])][r["speed"]] = r.get("mbps")
            elif "note" in r:
                notes.append(f"{r['client']}: {r['note']}")
        if not rows_by:
            return "### Decoder speeds\n\nNot measured in this run.\n"
        rows = []
        for (client, payload), by in rows_by.items():
            rows.append([client, payload_label(payload, self.sizes.get(payload))]
                        + [fmt_num(by[k], 3) if by.get(k) else ("—" if k not in by else "n/a")
                           for k, _ in SPEED_COLUMNS])
        m = self.meta
        return "\n".join([
            "### Decoder speeds\n",
            "The clients' decoders alone, warm (after warm-up calls; the median of 5 to 200 timed "
            f"calls within {m.get('speed_budget_ms', '?')} ms each), in MB/s (1e6 bytes/s): what a "
            "client would send as `BFast-Decoder: <profile>; bfast=…; json=…; lz4=…; gzip=…; "
            "zstd=…`. *B-FAST raw*: message bytes of the `bfast-none` front's body per second of "
            "`BFastDecoder.decode` (ts) or `decode_packed` (python). *LZ4 inflate*: uncompressed "
            "B-FAST bytes per second of the extra time the `bfast-lz4` front's body takes over the "
            "raw one (pairs of calls, median of the differences; n/a when the difference is not "
            "positive). *JSON parse*: JSON text bytes per second of `JSON.parse` / `json.loads`. "
            "*gzip inflate*, *zstd inflate*: JSON bytes per second out of `zlib.gunzipSync` / "
            "`zlib` (gzip level 6) and `zstandard` (level 3). On a shared machine single runs "
            "vary by tens of percent.\n",
            table(["client", "payload"] + [label for _, label in SPEED_COLUMNS], rows),
            *([""] + [f"- {n}" for n in notes] if notes else []),
            ""])

    def decode_table(self, cells, payloads, formats, title="Decoding alone"):
        """The client's decode step alone, pooled over profiles: it does not depend on the link."""
        rows = []
        for payload in payloads:
            row = [payload_label(payload, self.sizes.get(payload))]
            for fmt in formats:
                vals = [r["decode_ms"] for (_, p, f), recs in cells.items() if p == payload and f == fmt
                        for r in recs]
                row.append(fmt_spread(vals, 3))
            rows.append(row)
        return "\n".join([
            f"#### {title}\n",
            "Milliseconds from the last byte to the decoded value (for gzip: after the streamed "
            "inflate has finished), over all profiles' timed exchanges:\n",
            table(["payload"] + [FORMAT_LABELS.get(f, f) for f in formats], rows), ""])

    def chart_network(self, cells, profiles, payloads, formats):
        if not self.plt or not profiles:
            return ""
        n = len(payloads)
        cols = min(n, 2)
        rows_n = (n + cols - 1) // cols
        fig, axes = self.plt.subplots(rows_n, cols, figsize=(7 * cols, 4 * rows_n), squeeze=False)
        for k, payload in enumerate(payloads):
            ax = axes[k // cols][k % cols]
            grouped_bars(ax, [p["name"] for p in profiles], formats,
                         lambda f, prof: [r["ms"] for r in cells.get((prof, payload, f), [])],
                         lambda f: FORMAT_LABELS.get(f, f))
            ax.set_yscale("log")
            ax.set_xticks(range(len(profiles)))
            ax.set_xticklabels([p["name"] for p in profiles])
            ax.set_title(f"{payload_label(payload, self.sizes.get(payload))}: ms to decoded value (log)")
        for k in range(n, rows_n * cols):
            axes[k // cols][k % cols].axis("off")
        axes[0][0].legend(fontsize=8)
        return self.save_chart(fig, "network.png", "time to decoded value by profile and format")

    # ----- targets -----------------------------------------------------------------------------
    def targets(self):
        cells = self.cells_at(self.worker_counts()[0]) if self.wrk else {}
        ncells, _ = self.net_cells()
        out = []

        def verdict(value, ok):
            return "not measured" if value is None else ("met" if ok else "missed")

        # The req/s, pass-through and memory-slope targets are goals now (goals.py).
        b = self.ratio(cells, "twitter", "bfast-lz4", "nginx-gzip1", key="bytes")
        out.append(["… with bytes per response ≤ 1.1× gzip 1's", fmt_ratio(b), verdict(b, b is not None and b <= 1.1)])
        profiles = sorted({k[0] for k in ncells}, key=lambda n: [p["name"] for p in self.profiles].index(n)
                          if n in [p["name"] for p in self.profiles] else 99)
        for prof in profiles:
            worst_bfast, worst_all = None, None
            for payload in sorted({k[1] for k in ncells if k[0] == prof}):
                auto = median([x["ms"] for x in ncells.get((prof, payload, "bfast-auto"), [])])
                if auto is None:
                    continue
                for group, keep in ((FIXED_BFAST, "b"), (FIXED_ALL, "a")):
                    best = [median([x["ms"] for x in ncells.get((prof, payload, f), [])]) for f in group]
                    best = [v for v in best if v]
                    if not best:
                        continue
                    q = auto / min(best)
                    if keep == "b" and (worst_bfast is None or q > worst_bfast[0]):
                        worst_bfast = (q, payload)
                    if keep == "a" and (worst_all is None or q > worst_all[0]):
                        worst_all = (q, payload)
            value = (f"{worst_bfast[0]:.2f}× ({worst_bfast[1]}); against every fixed format "
                     f"{worst_all[0]:.2f}× ({worst_all[1]})") if worst_bfast and worst_all else None
            out.append([f"{prof}: auto policy within 1.05× of the best fixed B-FAST choice (worst payload)",
                        value or "—", verdict(value, worst_bfast is not None and worst_bfast[0] <= 1.05)])
        j = median([x["ms"] for x in ncells.get(("3G", "users-8m", "json"), [])])
        a = median([x["ms"] for x in ncells.get(("3G", "users-8m", "bfast-auto"), [])])
        s = j / a if j and a else None
        out.append(["3G, users-8m.json (50k records): B-FAST auto ≥ 4× faster to decoded value than plain JSON",
                    fmt_ratio(s), verdict(s, s is not None and s >= 4)])
        return out

    def targets_section(self):
        if self.meta["mode"] in ("small", "tls", "h2"):
            return ""
        return "\n".join([
            "## Other targets\n",
            "Reported against, not enforced: each line is this run's measurement.\n",
            table(["target", "measured", ""], self.targets()), ""])

    # ----- headline ----------------------------------------------------------------------------
    def headline(self):
        cells = self.cells_at(self.worker_counts()[0]) if self.wrk else {}
        ncells, _ = self.net_cells()
        pairs = [("nginx-proxy", "json"), ("nginx-gzip1", "gzip-1"), ("nginx-gzip6", "gzip-6"),
                 ("bfast-none", "bfast-none"), ("bfast-lz4", "bfast-lz4"), ("bfast-auto", "bfast-auto")]
        rows = []
        j3 = median([x["ms"] for x in ncells.get(("3G", "users-8m", "json"), [])])
        for front, fmt in pairs:
            cell = cells.get(("twitter", front))
            t3 = median([x["ms"] for x in ncells.get(("3G", "users-8m", fmt), [])])
            if not cell and t3 is None:
                continue
            rows.append([
                FRONT_LABELS[front],
                fmt_num(self.med(cell, "rps"), 4) if cell else "—",
                fmt_ratio(self.ratio(cells, "twitter", front, "nginx-gzip1")) if cell else "—",
                human_bytes(self.med(cell, "bytes")) if cell else "—",
                fmt_num(self.med(cell, "cpu_per_1k")) if cell else "—",
                f"{t3 / 1000:.2f} s" if t3 else "—",
                fmt_ratio(j3 / t3) if t3 and j3 else "—",
            ])
        m = self.meta
        if not rows:
            return ""
        head = table(["front", "twitter.json req/s", "× gzip-1", "bytes/response", "CPU s/1k",
                      "3G users-8m.json to decoded", "× JSON"], rows)
        return (f"{head}\n\n{m['date'][:10]}, {m['cores']} cores ({m['cpu']}), "
                f"{self.workers_text()} worker(s)/thread(s) per server, {m['mode']} run.\n")

    # ----- whole -----------------------------------------------------------------------------
    def write(self):
        m = self.meta
        fronts_rows = [[FRONT_LABELS.get(f, f), hdrs] for f, hdrs in (
            ("nginx-direct", "Accept: application/json"), ("nginx-proxy", "Accept: application/json"),
            ("nginx-gzip1", "Accept: application/json, Accept-Encoding: gzip"),
            ("nginx-gzip6", "Accept: application/json, Accept-Encoding: gzip"),
            ("haproxy", "Accept: application/json"),
            ("bfast-auto", "Accept: application/x-bfast"), ("bfast-lz4", "Accept: application/x-bfast"),
            ("bfast-none", "Accept: application/x-bfast"), ("bfast-pass", "Accept: application/json"),
            ("nginx-tls", "Accept: application/json, over HTTPS"),
            ("bfast-tls", "Accept: application/json, over HTTPS"),
            ("nginx-h2-direct", "no Accept; HTTP/2 with prior knowledge"),
            ("nginx-h2-proxy", "no Accept; HTTP/2 with prior knowledge"),
            ("nginx-h2-gzip1", "no Accept, Accept-Encoding: gzip; HTTP/2 with prior knowledge"),
            ("bfast-h2-pass", "no Accept; HTTP/2 with prior knowledge"),
            ("bfast-h2-auto", "Accept: application/x-bfast; HTTP/2 with prior knowledge"),
            ("bfast-h2-lz4", "Accept: application/x-bfast; HTTP/2 with prior knowledge"),
            ("nginx-h2-tls", "no Accept; HTTP/2 by ALPN over HTTPS"),
            ("bfast-h2-tls", "no Accept; HTTP/2 by ALPN over HTTPS"))
            if f in self.fronts]
        notes = [n for n in (m.get("proxy_note"), self.chart_note) if n]
        intro = {"quick": "A quick smoke run: short cells, single repetitions; not for quoting.",
                 "small": "A small-response run (`--small`): the 1 KB and 10 KB payloads at 1 and "
                          "then 2 workers/threads per server, the memory measurements and the "
                          "low-load latency of users-8m; no network profiles.",
                 "net": "A network-only run (`--net-only`): the network profiles with both "
                        "clients, the checks of the fronts they use and the decoder speeds; no "
                        "wrk, memory or latency cells.",
                 "tls": "A TLS-only run (`--tls-only`): the origin and the two TLS fronts, "
                        "checked, then the TLS pass-through cells.",
                 "h2": "An HTTP/2-only run (`--h2-only`): the origin and the HTTP/2 fronts, "
                       "checked over HTTP/2, then the h2load cells."}.get(m["mode"], "A full run.")
        headline = self.headline()
        body = [
            f"# bfast-proxy measurement report: {m['date']}",
            "",
            intro,
            "",
            *[f"> **Note:** {n}\n" for n in notes],
            "## Machine and setup\n",
            table(["", ""], [
                ["machine", f"{m['cores']} cores, {m['cpu']}, {m['memory_mb']:,} MB, Linux {m['kernel']}"],
                ["software", f"nginx {m['nginx']}, {m.get('haproxy', 'HAProxy')}, {m['wrk']}, node {m['node']}"],
                ["bfast-proxy", f"{m['proxy'] or 'not run'} {m.get('proxy_version', '')}".strip()
                 + (f", commit {m['commit']}" if m.get("commit") else "")],
                ["servers", f"every nginx: worker_processes N; HAProxy: nbthread N; every bfast-proxy: "
                            f"--threads N, transform_threads N; N = {self.workers_text()}; access logs off"],
                ["origin", "nginx serving `../shared/corpus/realworld` and the generated users-*.json "
                           "(deterministic records: id, name, email, booleans, float scores, ISO dates; "
                           "users-8m.json holds 50,000)"],
            ]),
            "",
            "Fronts, each its own process(es) on its own loopback port, all on the same origin:\n",
            table(["front", "request headers"], fronts_rows),
            "",
            *(["## Headline\n", headline] if headline else []),
            goals.goal_section(self),
            self.targets_section(),
            self.checks_section(),
            self.throughput_section(),
            self.tls_section(),
            h2_report.h2_section(self),
            self.memory_section(),
            goals.details_section(self),
            self.network_section(),
        ]
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write("\n".join(body).rstrip() + "\n")
        with open(os.path.join(self.out, "headline.md"), "w") as f:
            f.write(self.readme_section())

    def readme_section(self):
        """The README's Performance section for this run, with a link relative to the project root."""
        project = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        link = os.path.relpath(os.path.join(os.path.abspath(self.out), "report.md"), project)
        if self.meta["mode"] == "tls":
            return ("## Performance: TLS pass-through\n\n"
                    "bfast-proxy's TLS listener against nginx's `ssl` listener, both passing JSON "
                    "through from one cleartext origin, measured by `loadtest/run --tls-only`.\n\n"
                    f"{goals.goal_section(self, '###')}\n"
                    f"Full report, with every table and the raw data: [{link}]({link}).\n")
        if self.meta["mode"] == "h2":
            return ("## Performance: HTTP/2\n\n"
                    "bfast-proxy's HTTP/2 (h2c with prior knowledge, and h2 over TLS) against nginx's "
                    "`http2` listeners on one origin, under h2load, measured by "
                    "`loadtest/run --h2-only`.\n\n"
                    f"{goals.goal_section(self, '###')}\n"
                    f"Full report, with every table and the raw data: [{link}]({link}).\n")
        if self.meta["mode"] == "small":
            return ("## Performance: small responses\n\n"
                    "bfast-proxy against nginx and HAProxy on 1 KB and 10 KB JSON, measured side "
                    "by side on one machine by `loadtest/run --small`.\n\n"
                    f"{goals.goal_section(self, '###')}\n"
                    f"Full report, with every table and the raw data: [{link}]({link}).\n")
        targets = "\n".join(f"- {t}: {v} ({verdict})" for t, v, verdict in self.targets())
        return (
            "## Performance\n\n"
            "bfast-proxy against the tools it would replace, measured side by side on one machine "
            "by `loadtest/run` (nginx `proxy_pass`, with and without gzip, and HAProxy, on the "
            "same nginx origin; wrk for throughput; node and Python clients decoding with the deployed "
            "TypeScript and Python decoders over `tc`-shaped links for time to decoded value).\n\n"
            f"{self.headline()}\n"
            f"{goals.goal_section(self, '###')}\n"
            f"Against the other targets:\n\n{targets}\n\n"
            f"Full report, with every table, the charts and the raw data: [{link}]({link}).\n")


def sent_as(bfast_status, encoding):
    """A short label for what a front sent: json, gzip, or B-FAST's compress mode."""
    parts = [t.strip() for t in bfast_status.split(";")]
    if parts[0] == "transcoded":
        mode = next((t.split("=", 1)[1] for t in parts if t.startswith("compress=")), "?")
        reason = next((t.split("=", 1)[1] for t in parts if t.startswith("reason=")), "")
        return (f"B-FAST {mode}" + (f" + {encoding}" if encoding else "")
                + (f" ({reason})" if reason else ""))
    if parts[0] == "json":
        coding = next((t.split("=", 1)[1] for t in parts if t.startswith("coding=")), encoding or "identity")
        reason = next((t.split("=", 1)[1] for t in parts if t.startswith("reason=")), "")
        return ("JSON" + (f" + {coding}" if coding and coding != "identity" else "")
                + (f" ({reason})" if reason else ""))
    if parts[0] == "passthrough":
        reason = next((t.split("=", 1)[1] for t in parts if t.startswith("reason=")), "?")
        return f"JSON ({reason})"
    return encoding or "JSON"


def grouped_bars(ax, groups, series, values, label):
    """One bar per series in each group, at the median of values(series, group), with the
    smallest and largest value as whiskers."""
    width = 0.8 / max(1, len(series))
    for i, name in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for j, group in enumerate(groups):
            vals = values(name, group)
            if not vals:
                continue
            m = median(vals)
            xs.append(j + (i - (len(series) - 1) / 2) * width)
            ys.append(m)
            lo.append(m - min(vals))
            hi.append(max(vals) - m)
        whiskers = [lo, hi] if any(lo) or any(hi) else None
        ax.bar(xs, ys, width, yerr=whiskers, capsize=2, label=label(name))
    ax.grid(axis="y", alpha=0.3)


def describe_choice(rec):
    """What the adaptive front sent in a network exchange."""
    return sent_as(rec.get("bfast_status", ""), rec.get("content_encoding", ""))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    Report(sys.argv[1]).write()


main()
