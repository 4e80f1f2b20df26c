"""The performance goals, side by side: each with the measured value, the ratio and met/missed.

Imported by report.py; goal_section(report) and details_section(report) take its Report. Every
figure comes from the run's data; a goal whose cell the mode did not run says so. Verdicts are
reported, never enforced: they do not change the kit's exit status.
"""
import statistics

import h2_report

NOT_MEASURED = "not measured in this mode"
PASS_BASES = (("haproxy", "HAProxy"), ("nginx-proxy", "nginx proxy_pass"))
# x-bfast goals: (payload, front, base front, at least, what the base is called). The auto
# front is the one a proxy with the default config is: that is the goal's figure.
XBFAST_GOALS = (
    ("users-1k", "bfast-auto", "bfast-pass", 0.9, "the proxy's own pass-through"),
    ("users-1k", "bfast-auto", "nginx-gzip1", 1.3, "nginx + gzip 1"),
    ("users-10k", "bfast-auto", "nginx-gzip1", 2.0, "nginx + gzip 1"),
    ("twitter", "bfast-lz4", "nginx-gzip1", 3.5, "nginx + gzip 1"),
)
# TLS pass-through: bfast-tls req/s at least this × nginx-tls on each of these payloads.
TLS_PAYLOADS = ("users-1k", "users-1m")
TLS_AT_LEAST = 0.9
# HTTP/2 (h2c): pass-through at least this × nginx HTTP/2 proxy_pass on each of these payloads,
# and B-FAST (LZ4, as the HTTP/1.1 twitter goal) on twitter at least this × nginx HTTP/2 + gzip 1.
H2_PASS_PAYLOADS = ("users-1k", "twitter")
H2_PASS_AT_LEAST = 1.0
H2_BFAST_AT_LEAST = 3.0
IDLE_RSS_LIMIT_MB = 8
PER_CONNECTION_LIMIT_KIB = 8
STEADY_LIMIT = 2.0
SLOPE_LIMIT = 2.0
NGINX_PROXY_FRONTS = ("nginx-proxy", "nginx-gzip1", "nginx-gzip6")
# Network goals: (key, the column judged, the columns it is judged against (None: every other
# column of the client), at most this × their best median, what the goal says).
NET_GOALS = (
    ("any", "auto-any", None, 1.05,
     "\"auto, JSON or B-FAST\" within {limit:g}× of the best column of the row"),
    ("bfast", "bfast-auto", ("bfast-none", "bfast-lz4"), 1.05,
     "B-FAST auto policy within {limit:g}× of the best B-FAST column (uncompressed, LZ4)"),
)
LATENCY_FRONTS = (("bfast-lz4", "bfast-proxy LZ4"), ("nginx-gzip1", "nginx + gzip 1"),
                  ("bfast-pass", "bfast-proxy pass-through"), ("nginx-proxy", "nginx proxy_pass"))


def verdict(ok):
    return "met" if ok else "missed"


def threads(w):
    return f"{w} thread" + ("s" if w != 1 else "")


def num(x):
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def ratio_row(rep, cells, payload, front, base, at_least, goal, extra=""):
    """One row comparing two fronts' median req/s (CPU per 1,000 responses alongside)."""
    a, b = cells.get((payload, front)), cells.get((payload, base))
    if not a or not b:
        return [goal, NOT_MEASURED if a is None or b is None else "a cell failed", "—", "—"]
    ra, rb = rep.med(a, "rps"), rep.med(b, "rps")
    ca, cb = rep.med(a, "cpu_per_1k"), rep.med(b, "cpu_per_1k")
    value = f"{num(ra)} vs {num(rb)} req/s; CPU s/1k {ca:.3g} vs {cb:.3g}" + extra
    return [goal, value, f"{ra / rb:.2f}×", verdict(ra / rb >= at_least)]


def pass_rows(rep):
    rows = []
    for w in (1, 2):
        cells = rep.cells_at(w)
        for payload in ("users-1k", "users-10k"):
            for base, name in PASS_BASES:
                goal = f"pass-through {payload}, {threads(w)}: bfast-pass req/s ≥ 1.0× {name}"
                rows.append(ratio_row(rep, cells, payload, "bfast-pass", base, 1.0, goal))
    return rows


def xbfast_rows(rep):
    rows = []
    for payload, front, base, at_least, name in XBFAST_GOALS:
        mine = []
        for w in rep.worker_counts() or [1]:
            cells = rep.cells_at(w)
            goal = (f"x-bfast {payload}, {threads(w)}: {front} req/s ≥ {at_least:g}× {name}")
            extra = ""
            if front == "bfast-auto" and cells.get((payload, base)):
                others = [(f, rep.ratio(cells, payload, f, base)) for f in ("bfast-lz4", "bfast-none")]
                extra = "; " + ", ".join(f"{f} {r:.2f}×" for f, r in others if r)
            mine.append(ratio_row(rep, cells, payload, front, base, at_least, goal, extra))
        # A payload the mode never ran gets one row, not one per thread count.
        if all(r[1] == NOT_MEASURED for r in mine):
            goal = f"x-bfast {payload}: {front} req/s ≥ {at_least:g}× {name}"
            mine = [[goal, NOT_MEASURED, "—", "—"]]
        rows += mine
    return rows


def tls_rows(rep):
    rows = []
    for w in rep.tls_worker_counts():
        cells = rep.tls_cells_at(w)
        for payload in TLS_PAYLOADS:
            goal = (f"TLS pass-through {payload}, {threads(w)}: bfast-tls req/s ≥ {TLS_AT_LEAST:g}× "
                    "nginx TLS")
            rows.append(ratio_row(rep, cells, payload, "bfast-tls", "nginx-tls", TLS_AT_LEAST, goal))
    if not rows:
        goal = (f"TLS pass-through {', '.join(TLS_PAYLOADS)}: bfast-tls req/s ≥ {TLS_AT_LEAST:g}× "
                "nginx TLS")
        rows.append([goal, NOT_MEASURED, "—", "—"])
    return rows


def h2_rows(rep):
    rows = []
    for w in h2_report.worker_counts(rep):
        for m in h2_report.stream_counts(rep):
            cells = h2_report.cells(rep, w, m)
            where = f"{m} stream{'s' if m != 1 else ''}/connection, {threads(w)}"
            for payload in H2_PASS_PAYLOADS:
                goal = (f"HTTP/2 pass-through {payload}, {where}: bfast-h2-pass req/s ≥ "
                        f"{H2_PASS_AT_LEAST:g}× nginx HTTP/2 proxy_pass")
                rows.append(ratio_row(rep, cells, payload, "bfast-h2-pass", h2_report.PASS_BASE,
                                      H2_PASS_AT_LEAST, goal))
            rows.append(h2_bfast_row(rep, cells, where))
        for m in h2_report.stream_counts(rep, tls=True):
            cells = h2_report.cells(rep, w, m)
            for payload in dict.fromkeys(p for p, f in cells if f == "bfast-h2-tls"):
                goal = (f"HTTP/2 over TLS {payload}, {m} streams/connection, {threads(w)}: "
                        "bfast-h2-tls vs nginx h2 TLS (reported)")
                row = ratio_row(rep, cells, payload, "bfast-h2-tls", "nginx-h2-tls", 0, goal)
                rows.append(row[:3] + (["reported"] if row[2] != "—" else ["—"]))
    if not rows:
        rows.append([f"HTTP/2 pass-through {', '.join(H2_PASS_PAYLOADS)}: bfast-h2-pass req/s ≥ "
                     f"{H2_PASS_AT_LEAST:g}× nginx HTTP/2 proxy_pass", NOT_MEASURED, "—", "—"])
        rows.append([f"HTTP/2 x-bfast twitter: bfast-h2-lz4 req/s ≥ {H2_BFAST_AT_LEAST:g}× nginx "
                     "HTTP/2 + gzip 1", NOT_MEASURED, "—", "—"])
    return rows


def h2_bfast_row(rep, cells, where):
    """B-FAST twitter over HTTP/2: the LZ4 front's B-FAST responses per second (req/s × its
    share of transcoded decisions) against nginx HTTP/2 + gzip 1's req/s."""
    goal = (f"HTTP/2 x-bfast twitter, {where}: bfast-h2-lz4 B-FAST req/s ≥ {H2_BFAST_AT_LEAST:g}× "
            "nginx HTTP/2 + gzip 1")
    mine, theirs = cells.get(("twitter", "bfast-h2-lz4")), cells.get(("twitter", h2_report.GZIP_BASE))
    if not mine or not theirs:
        return [goal, NOT_MEASURED if mine is None or theirs is None else "a cell failed", "—", "—"]
    b = rep.med(mine, "bfast_rps") or 0.0
    ra, rb = rep.med(mine, "rps"), rep.med(theirs, "rps")
    auto = cells.get(("twitter", "bfast-h2-auto"))
    value = (f"{num(b)} B-FAST req/s ({num(ra)} req/s, {h2_report.decision_mix(mine)}) vs "
             f"{num(rb)} req/s; bytes/response {mine[0]['bytes']:,} vs {theirs[0]['bytes']:,} "
             f"(on the wire under load {rep.med(mine, 'wire_bytes'):,.0f} vs "
             f"{rep.med(theirs, 'wire_bytes'):,.0f}); CPU s/1k {rep.med(mine, 'cpu_per_1k'):.3g} vs "
             f"{rep.med(theirs, 'cpu_per_1k'):.3g}")
    if auto:
        value += (f"; bfast-h2-auto {num(rep.med(auto, 'bfast_rps') or 0)} B-FAST req/s "
                  f"({h2_report.decision_mix(auto)})")
    return [goal, value, f"{b / rb:.2f}×", verdict(b / rb >= H2_BFAST_AT_LEAST)]


def idle_by(rep):
    """(workers, front) -> the idle-connection record."""
    return {(int(r["workers"]), r["front"]): r for r in rep.idle}


def per_connection_kib(r):
    held = int(r["held"])
    return (int(r["after_rss_kb"]) - int(r["before_rss_kb"])) / held if held else None


def memory_rows(rep):
    rows = []
    idle = idle_by(rep)
    workers = sorted({w for w, _ in idle}) or [1]
    for w in workers:
        r = idle.get((w, "bfast-pass"))
        goal = f"idle RSS of a fresh bfast-proxy, {threads(w)} ≤ {IDLE_RSS_LIMIT_MB} MB"
        if not r:
            rows.append([goal, NOT_MEASURED, "—", "—"])
        else:
            mb = int(r["fresh_rss_kb"]) / 1024
            rows.append([goal, f"{mb:.1f} MB ({int(r['before_rss_kb']) / 1024:.1f} MB after one request)",
                         f"{mb / IDLE_RSS_LIMIT_MB:.2f}× the limit", verdict(mb <= IDLE_RSS_LIMIT_MB)])
    for w in workers:
        goal = (f"RSS per idle kept-alive connection, {threads(w)}: bfast-proxy ≤ "
                f"{PER_CONNECTION_LIMIT_KIB} KiB")
        mine = [(f, per_connection_kib(idle[(w, f)])) for f in ("bfast-pass", "bfast-auto") if (w, f) in idle]
        mine = [(f, k) for f, k in mine if k is not None]
        if not mine:
            rows.append([goal, NOT_MEASURED, "—", "—"])
            continue
        theirs = [(f, per_connection_kib(idle[(w, f)])) for f in ("nginx-proxy", "haproxy") if (w, f) in idle]
        held = int(idle[(w, mine[0][0])]["held"])
        value = "; ".join(f"{f} {k:.2f} KiB" for f, k in mine + [t for t in theirs if t[1] is not None])
        worst = max(k for _, k in mine)
        rows.append([goal, f"{value} ({held:,} connections)",
                     f"{worst / PER_CONNECTION_LIMIT_KIB:.2f}× the limit",
                     verdict(worst <= PER_CONNECTION_LIMIT_KIB)])
    steady = {}
    for r in rep.steady:
        steady.setdefault(int(r["workers"]), {})[r["front"]] = int(r["rss_kb"]) / 1024
    for w in sorted(steady) or [1]:
        goal = (f"steady RSS at the end of the run, {threads(w)}: largest bfast-proxy front ≤ "
                f"{STEADY_LIMIT:g}× the largest nginx proxy_pass front")
        by = steady.get(w, {})
        mine = {f: v for f, v in by.items() if f.startswith("bfast-")}
        theirs = {f: v for f, v in by.items() if f in NGINX_PROXY_FRONTS}
        if not mine or not theirs:
            rows.append([goal, NOT_MEASURED, "—", "—"])
            continue
        fm, ft = max(mine, key=mine.get), max(theirs, key=theirs.get)
        q = mine[fm] / theirs[ft]
        rows.append([goal, f"{fm} {mine[fm]:.1f} MB vs {ft} {theirs[ft]:.1f} MB",
                     f"{q:.2f}×", verdict(q <= STEADY_LIMIT)])
    fit = rep.memory_fit()
    goal = f"peak RSS slope over bodies in flight (fresh bfast-proxy, LZ4) ≤ {SLOPE_LIMIT:g}×"
    if fit:
        rows.append([goal, f"peak ≈ {fit[1]:.1f} MB + {fit[0]:.2f} × bodies in flight "
                           f"({len(rep.memory_rows())} payloads)",
                     f"{fit[0]:.2f}×", verdict(fit[0] <= SLOPE_LIMIT)])
    else:
        rows.append([goal, NOT_MEASURED, "—", "—"])
    return rows


def latency_p50(rep):
    """front -> median over reps of wrk's p50 (ms) in the one-connection users-8m cells."""
    cells = rep.wrk_cells(rep.latency)
    return {front: rep.med(cell, "p50_ms") for (_, front), cell in cells.items() if cell}


def latency_rows(rep):
    goal = "users-8m p50 latency at low load (1 connection; reported)"
    p50 = latency_p50(rep)
    if not p50:
        return [[goal, NOT_MEASURED, "—", "—"]]
    value = "; ".join(f"{name} {p50[f]:,.0f} ms" for f, name in LATENCY_FRONTS if f in p50)
    ratio = (f"LZ4 / gzip 1: {p50['bfast-lz4'] / p50['nginx-gzip1']:.2f}×"
             if p50.get("bfast-lz4") and p50.get("nginx-gzip1") else "—")
    return [[goal, value, ratio, "reported"]]


def net_judgements(rep, client, key):
    """Per profile × payload of one client: (profile, payload, judged ms, best ms, best column,
    ratio) for one of NET_GOALS; None where a cell is missing."""
    _, judged, against, limit, _ = next(g for g in NET_GOALS if g[0] == key)
    cells, _ = rep.net_cells(client)
    payloads, formats = rep.net_layout(client)
    profiles = [p["name"] for p in rep.profiles if any(k[0] == p["name"] for k in cells)]
    others = [f for f in (against or formats) if f != judged and f in formats]
    out = []
    for prof in profiles:
        for payload in payloads:
            mine = statistics.median([r["ms"] for r in cells.get((prof, payload, judged), [])] or [0]) or None
            best = None
            for f in others:
                vals = [r["ms"] for r in cells.get((prof, payload, f), [])]
                if vals and (best is None or statistics.median(vals) < best[0]):
                    best = (statistics.median(vals), f)
            if mine is None or best is None:
                out.append((prof, payload, mine, best and best[0], best and best[1], None))
            else:
                out.append((prof, payload, mine, best[0], best[1], mine / best[0]))
    return out


def net_rows(rep):
    rows = []
    for client in rep.net_clients() or ["ts"]:
        for key, judged, _, limit, text in NET_GOALS:
            goal = f"{client} client, every profile × payload: " + text.format(limit=limit)
            every = net_judgements(rep, client, key) if rep.net else []
            rows_ = [j for j in every if j[5] is not None]
            if not rows_:
                rows.append([goal, NOT_MEASURED, "—", "—"])
                continue
            met = sum(1 for j in rows_ if j[5] <= limit)
            worst = max(rows_, key=lambda j: j[5])
            missing = len(every) - len(rows_)
            value = (f"{met} of {len(rows_)} rows met; worst {worst[0]} {worst[1]}: "
                     f"{num(worst[2])} ms vs {rep.format_label(worst[4])} {num(worst[3])} ms"
                     + (f"; {missing} row(s) without a timed exchange" if missing else ""))
            rows.append([goal, value, f"{worst[5]:.3f}×", verdict(met == len(rows_) and not missing)])
    return rows


def net_goal_tables(rep):
    """Each network goal row by row, per client: the judged column, the best it is judged
    against, the ratio and met/missed."""
    if not rep.net:
        return ""
    parts = ["### Negotiation goals, row by row\n",
             "Medians of the timed exchanges; ratio = the judged column over the best of the "
             "columns it is judged against (below 1: faster than all of them).\n"]
    for client in rep.net_clients():
        for key, judged, _, limit, text in NET_GOALS:
            js = net_judgements(rep, client, key)
            if not any(j[2] for j in js):
                continue
            rows = []
            for prof, payload, mine, best, best_f, q in js:
                rows.append([prof, payload,
                             "—" if mine is None else num(mine),
                             "—" if best is None else f"{rep.format_label(best_f)} {num(best)}",
                             "—" if q is None else f"{q:.3f}×",
                             "—" if q is None else verdict(q <= limit)])
            parts.append(f"{client} client: " + text.format(limit=limit) + "\n")
            parts.append(rep.table(["profile", "payload", f"{rep.format_label(judged)} ms",
                                    "best other column ms", "ratio", "verdict"], rows) + "\n")
    return "\n".join(parts)


def goal_rows(rep):
    if rep.meta.get("mode") == "net":
        return net_rows(rep)
    if rep.meta.get("mode") == "tls":
        return tls_rows(rep)
    if rep.meta.get("mode") == "h2":
        return h2_rows(rep)
    return (pass_rows(rep) + tls_rows(rep) + h2_rows(rep) + xbfast_rows(rep) + memory_rows(rep) + latency_rows(rep)
            + net_rows(rep))


def machine_line(rep):
    m = rep.meta
    cells = (f"up to {m['reps']} timed exchange(s) per network cell" if m["mode"] == "net"
             else f"{m['reps']} rep(s) × {m['duration_s']} s per "
             + ("h2load" if m["mode"] == "h2" else "wrk") + " cell")
    return (f"{m['date']}, {m['mode']} run; nproc {m.get('nproc', m['cores'])}, {m['cpu']}, Linux "
            f"{m['kernel']}; {rep.workers_text()} worker(s)/thread(s) per server; "
            f"{cells}, ratios of medians.")


def goal_section(rep, heading="##"):
    rows = goal_rows(rep)
    met = sum(1 for r in rows if r[3] == "met")
    judged = sum(1 for r in rows if r[3] in ("met", "missed"))
    return "\n".join([
        f"{heading} Goals\n",
        machine_line(rep) + "\n",
        f"{met} of {judged} measured goals met. Verdicts are reported, never enforced. Ratios "
        "compare medians of req/s (network goals: of ms to decoded value) over the repetitions; "
        "for the absolute limits, the ratio is the measured value over the limit.\n",
        rep.table(["goal", "measured", "ratio", "verdict"], rows), ""])


def details_section(rep):
    """The idle-connection, steady-RSS and latency measurements behind the memory goals."""
    parts = ["## Memory and low-load latency behind the goals\n"]
    if rep.idle:
        parts.append(
            f"Idle connections: a fresh front of each kind on the running origin; its RSS when it "
            "had served nothing, after one warm-up request (before), and while "
            "`lib/idle_conns.py` held the connections, each after one complete `users-1k` "
            "request (after). bfast-auto's connections asked for x-bfast, the others for JSON. "
            "RSS sums the front's processes (nginx: master and workers).\n")
        rows = []
        for r in rep.idle:
            k = per_connection_kib(r)
            rows.append([r["workers"], r["front"], f"{int(r['fresh_rss_kb']) / 1024:.1f}",
                         f"{int(r['before_rss_kb']) / 1024:.1f}", f"{int(r['after_rss_kb']) / 1024:.1f}",
                         f"{int(r['held']):,} of {int(r['asked']):,}",
                         "—" if k is None else f"{k:.2f}"])
        parts.append(rep.table(["workers", "front", "fresh RSS MB", "before MB", "after MB",
                                "connections held", "KiB per connection"], rows) + "\n")
    if rep.steady:
        parts.append("Steady RSS: each long-running front's VmRSS (summed over its processes) "
                     "when its pass ended, after every cell it served (in the first pass also "
                     "the users-8m latency cells; in the last, the network profiles).\n")
        parts.append(rep.table(["workers", "front", "RSS MB"],
                               [[r["workers"], r["front"], f"{int(r['rss_kb']) / 1024:.1f}"]
                                for r in rep.steady]) + "\n")
    cells = rep.wrk_cells(rep.latency)
    if cells:
        parts.append("Low-load latency: wrk, 1 thread, 1 connection, users-8m, each repetition "
                     "one cell; median (min–max) of the cells' p50 and p99.\n")
        rows = []
        for (_, front), cell in cells.items():
            if not cell:
                rows.append([front, "failed", "—", "—"])
                continue
            rows.append([front, rep.spread([r["p50_ms"] for r in cell]),
                         rep.spread([r["p99_ms"] for r in cell]),
                         f"{statistics.fmean(r['bytes'] for r in cell):,.0f}"])
        parts.append(rep.table(["front", "p50 ms", "p99 ms", "bytes/response"], rows) + "\n")
    return "\n".join(parts) if len(parts) > 1 else ""
