"""The HTTP/2 cells (lib/h2.sh, data/h2.jsonl): per-rep figures and the report's section.

Imported by report.py and goals.py; every function takes report.py's Report. A cell's req/s is
h2load's completed responses per second. bfast-proxy's cells also carry its decisions during the
cell (from /metrics): under load a B-FAST front may pass JSON through (`overloaded`), so its
B-FAST req/s is req/s × the share of its decisions that were `transcoded`.
"""
from collections import defaultdict

PASS_BASE = "nginx-h2-proxy"
GZIP_BASE = "nginx-h2-gzip1"
CLEAR_FRONTS = ("nginx-h2-direct", "nginx-h2-proxy", "nginx-h2-gzip1", "bfast-h2-pass",
                "bfast-h2-auto", "bfast-h2-lz4")
TLS_FRONTS = ("nginx-h2-tls", "bfast-h2-tls")


def body_bytes(rep):
    """(payload, front) -> the body bytes its check received over HTTP/2."""
    return {(c["payload"], c["front"]): int(c["bytes"]) for c in rep.checks
            if c["front"] in CLEAR_FRONTS + TLS_FRONTS and c["verdict"] == "ok"}


def worker_counts(rep):
    return sorted({int(r["workers"]) for r in rep.h2})


def stream_counts(rep, tls=False):
    fronts = TLS_FRONTS if tls else CLEAR_FRONTS
    return sorted({int(r["streams"]) for r in rep.h2 if r["front"] in fronts})


def cells(rep, workers, streams):
    """(payload, front) -> per-rep figures of the cells at WORKERS and STREAMS; a failed rep
    leaves the list empty."""
    sizes = body_bytes(rep)
    out = defaultdict(list)
    for rec in rep.h2:
        if int(rec["workers"]) != workers or int(rec["streams"]) != streams:
            continue
        key = (rec["payload"], rec["front"])
        h = rec.get("h2load") or {}
        if not h.get("duration_us") or not h.get("responses"):
            out[key]
            continue
        seconds, done = h["duration_us"] / 1e6, h["responses"]
        made = rec.get("decisions") or {}
        share = (sum(n for k, n in made.items() if k.startswith("transcoded")) / sum(made.values())
                 if made else None)
        out[key].append({
            "rps": done / seconds,
            "bfast_rps": done / seconds * share if share is not None else None,
            "transcoded": share, "decisions": made,
            "p50_ms": h["latency_us"]["p50"] / 1e3, "p99_ms": h["latency_us"]["p99"] / 1e3,
            "bytes": sizes.get(key),
            # DATA bytes of the cell over the responses completed in it (streams cut off at the
            # end count too): what the wire carried per response under load.
            "wire_bytes": h["body_bytes"] / done,
            "cpu_per_1k": rec["cpu_s"] / done * 1000,
            "origin_cpu_per_1k": rec["origin_cpu_s"] / done * 1000,
            "peak_rss_mb": rec["peak_rss_kb"] / 1024,
            "errors": sum(h["errors"].values()) + h["non_200"],
            "protocol": h.get("protocol", ""),
        })
    return out


def decision_mix(cell):
    """A cell's bfast-proxy decisions over its repetitions, as shares: 'transcoded 100%'."""
    total = defaultdict(int)
    for r in cell:
        for k, n in r["decisions"].items():
            total[k] += n
    whole = sum(total.values())
    if not whole:
        return "—"
    return ", ".join(f"{k} {n / whole:.0%}" for k, n in sorted(total.items(), key=lambda kv: -kv[1]))


def sent_as(rep):
    """(payload, front) -> what the front's check got: JSON, gzip or B-FAST's mode."""
    return {(c["payload"], c["front"]): rep.sent_as(c.get("bfast_status", ""), c.get("content_encoding", ""))
            for c in rep.checks}


def h2_section(rep):
    m = rep.meta
    title = "## HTTP/2 (h2load)\n"
    if not rep.h2:
        note = m.get("h2_note", "")
        return f"{title}\nNot measured in this run{': ' + note if note else ''}.\n"
    protocols = sorted({r["h2load"].get("protocol", "") for r in rep.h2 if r.get("h2load")} - {""})
    parts = [
        title,
        "nginx with `http2` listeners (`nginx/origin.conf.in` served directly, with `sendfile off`: "
        "nginx 1.22's HTTP/2 sendfile path stalls about 45 ms per 1 KB response here; "
        "`nginx/front.conf.in` for `proxy_pass` with and without gzip 1) and bfast-proxy (`http2` "
        "is on by default; one process per policy) on the same cleartext origin, over h2c with "
        "prior knowledge; and nginx `ssl http2` against bfast-proxy's TLS listener (h2 by ALPN, "
        "the TLS cell's certificate and cipher list). "
        f"h2load ({m.get('h2load', 'h2load')}), 1 thread, {m.get('h2_connections', '?')} "
        f"connections, each with the given number of concurrent streams (`-m`), "
        f"{m['duration_s']} s per cell (`-D`), {m['reps']} repetition(s), cells interleaved "
        "over fronts. Pass-through requests send no Accept; B-FAST ones `Accept: application/x-bfast`; "
        "the gzip front's `Accept-Encoding: gzip`. "
        f"h2load negotiated: {', '.join(protocols) or '—'}. Each front was checked first over "
        "HTTP/2 (curl `--http2-prior-knowledge`, or `--http2` verifying the certificate; the "
        "answer had to come as HTTP/2), as in the Checks section.\n",
        "req/s is h2load's completed responses per second. \"under load\" is bfast-proxy's "
        "decisions during the cells (`bfast_decisions_total` from its /metrics, before and "
        "after each cell, summed over the repetitions): a transform that does not fit "
        "`transform_memory_budget_bytes` passes the JSON through as `overloaded`. "
        "\"bytes/response\" is the check's body; \"wire bytes/response\" the cell's DATA bytes "
        "over its completed responses (streams cut off at the end of the cell count too, so it "
        "runs a little high). Medians, with the smallest and largest repetition in brackets; "
        "latency from h2load's per-request log; CPU is the front's processes' user+system time "
        "per 1,000 completed responses.\n",
    ]
    labels = sent_as(rep)
    for tls in (False, True):
        fronts = TLS_FRONTS if tls else CLEAR_FRONTS
        base = "nginx-h2-tls" if tls else PASS_BASE
        for workers in worker_counts(rep):
            for streams in stream_counts(rep, tls):
                cs = cells(rep, workers, streams)
                rows = []
                for payload in dict.fromkeys(r["payload"] for r in rep.h2):
                    for front in fronts:
                        cell = cs.get((payload, front))
                        if cell is None:
                            continue
                        label = [rep.payload_label(payload, rep.sizes.get(payload)), rep.front_label(front),
                                 labels.get((payload, front), "—")]
                        if not cell:
                            rows.append(label + ["failed"] + ["—"] * (9 if tls else 10))
                            continue
                        rows.append(label + [
                            decision_mix(cell),
                            rep.spread([r["rps"] for r in cell], 4),
                            rep.num(rep.med(cell, "p50_ms")), rep.num(rep.med(cell, "p99_ms")),
                            rep.bytes_text(cell[0]["bytes"]),
                            rep.bytes_text(rep.med(cell, "wire_bytes")),
                            rep.num(rep.med(cell, "cpu_per_1k")), rep.num(rep.med(cell, "peak_rss_mb")),
                            rep.ratio_text(rep.ratio(cs, payload, front, base)),
                        ] + ([] if tls else [rep.ratio_text(rep.ratio(cs, payload, front, GZIP_BASE))])
                          + [sum(r["errors"] for r in cell)])
                where = "over TLS (h2)" if tls else "h2c"
                threads = f", {workers} worker(s)/thread(s) per server" if len(worker_counts(rep)) > 1 else ""
                parts.append(f"### {where}, {streams} stream(s) per connection{threads}\n")
                ratios = ["× nginx h2 TLS"] if tls else ["× nginx h2 proxy_pass", "× nginx h2 + gzip 1"]
                parts.append(rep.table(["payload", "front", "sent as (check)", "under load", "req/s",
                                        "p50 ms", "p99 ms", "bytes/response", "wire bytes/response",
                                        "front CPU s/1k", "peak RSS MB"]
                                       + ratios + ["errors"], rows) + "\n")
    return "\n".join(parts)
