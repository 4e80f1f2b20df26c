#!/usr/bin/python3
"""Writes DIR/report.md and DIR/soak.png from the data of a soak run (loadtest/run --soak).

Usage: soak_report.py DIR
Exit status 0 when the report was written and the soak met its goals (every response counted
arrived as 2xx or 304, no socket error, the proxy's fds back to their count before the run, the
checks passed); 1 when it was written and a goal was missed. RSS flatness is reported, not
enforced.
"""
import json
import os
import statistics
import sys

WARMUP_FRACTION = 0.1  # of the wrk run, left out of the RSS figures
FLAT_GROWTH = 0.05     # last third's median RSS at most this much above the first third's


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def mb(kb):
    return f"{kb / 1024:.1f} MB"


def ms(us):
    return f"{us / 1000:.2f} ms"


def goal(ok):
    return "met" if ok else "**missed**"


def load_metrics(path):
    """Prometheus text from the proxy's /metrics: series (name with labels) -> value."""
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    series, _, value = line.rpartition(" ")
                    try:
                        out[series] = float(value)
                    except ValueError:
                        pass
    return out


def kinds_text(by_kind):
    return ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "—"


class Soak:
    def __init__(self, out):
        self.out = out
        data = os.path.join(out, "data")
        with open(os.path.join(data, "meta.json")) as f:
            self.meta = json.load(f)
        with open(os.path.join(data, "wrk.json")) as f:
            self.run = json.load(f)
        self.wrk = self.run.get("wrk") or {}
        self.samples = load_jsonl(os.path.join(data, "samples.jsonl"))
        self.fds = {r["label"]: r for r in load_jsonl(os.path.join(data, "fds.jsonl"))}
        self.checks = load_jsonl(os.path.join(data, "checks.jsonl"))
        self.metrics = [load_metrics(os.path.join(data, f"metrics-{w}.txt")) for w in ("before", "after")]
        self.t0, self.t1 = float(self.run["t_start"]), float(self.run["t_end"])
        self.missed = []

    def during(self):
        """Samples of the wrk run after the warm-up."""
        start = self.t0 + WARMUP_FRACTION * (self.t1 - self.t0)
        return [s for s in self.samples if start <= s["t"] <= self.t1]

    def traffic_section(self):
        w = self.wrk
        if not w:
            self.missed.append("wrk printed no result")
            return "## Traffic\n\nwrk printed no result; see data/wrk.out.\n"
        target = int(self.meta["requests_target"])
        wall = self.t1 - self.t0
        errors = w["errors"]
        socket_errors = errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]
        enough = w["responses"] >= target
        if not enough:
            self.missed.append(f"{w['responses']:,} responses, fewer than {target:,}")
        if socket_errors:
            self.missed.append(f"{socket_errors} socket errors")
        if w["bad_status"]:
            self.missed.append(f"{w['bad_status']} responses neither 2xx nor 304")
        rows = [
            ("responses", f"{w['responses']:,}", f"≥ {target:,}: {goal(enough)}"),
            ("wall time of the wrk run", f"{wall:.1f} s ({w['responses'] / wall:,.0f} responses/s)", ""),
            ("socket errors: connect / read / write / timeout",
             f"{errors['connect']} / {errors['read']} / {errors['write']} / {errors['timeout']}",
             f"0: {goal(socket_errors == 0)}"),
            ("responses neither 2xx nor 304", f"{w['bad_status']:,}", f"0: {goal(w['bad_status'] == 0)}"),
            ("wrk's count of statuses ≥ 400", f"{errors['status']:,}", ""),
            ("latency p50 / p90 / p99 / p99.9 / max",
             " / ".join(ms(w["latency_us"][k]) for k in ("p50", "p90", "p99", "p999", "max")), ""),
        ]
        rows += self.upstream_rows()
        text = "## Traffic\n\n" + table(("", "value", "goal"), rows) + "\n\n"
        sent, received = w["sent"], w["received"]
        answer = {"json": "json-200", "bfast": "bfast-200", "json-304": "json-304",
                  "bfast-304": "bfast-304"}
        text += ("Requests sent by kind, and responses by what came back (a B-FAST response is "
                 "`application/x-bfast`; a B-FAST 304 carries the variant ETag `W/\"…-bfast\"`). "
                 "Requests still in flight when wrk stopped have no response.\n\n")
        rows = [(k, f"{sent.get(k, 0):,}", answer[k], f"{received.get(answer[k], 0):,}") for k in answer]
        rows += [("—", "—", k, f"{v:,}") for k, v in sorted(received.items()) if k not in answer.values()]
        text += table(("request kind", "sent", "answered as", "responses"), rows) + "\n\n"
        if w.get("bfast_status"):
            text += "BFast-Status of the responses (decision and reason):\n\n"
            text += table(("BFast-Status", "responses"),
                          [(k, f"{v:,}") for k, v in sorted(w["bfast_status"].items())]) + "\n\n"
        return text

    def upstream_rows(self):
        """What the proxy's /metrics counted during the run, when both samples have it."""
        before, after = self.metrics

        def delta(prefix):
            keys = [k for k in after if k == prefix or k.startswith(prefix + "{")]
            if not keys or any(k not in before for k in keys):
                return None
            return int(sum(after[k] - before[k] for k in keys))

        rows = []
        for name, label in (("bfast_upstream_reused_total", "upstream requests on a reused connection (/metrics)"),
                            ("bfast_upstream_retries_total", "upstream retries (/metrics)"),
                            ("bfast_upstream_errors_total", "upstream errors, all kinds (/metrics)")):
            d = delta(name)
            if d is not None:
                rows.append((label, f"{d:,}", ""))
        return rows

    def rss_section(self):
        run = self.during()
        if len(run) < 6:
            return "## Memory (RSS)\n\nToo few samples during the run to judge.\n", None
        rss = [s["rss_kb"] for s in run]
        third = len(rss) // 3
        first, last = statistics.median(rss[:third]), statistics.median(rss[-third:])
        growth = (last - first) / first
        flat = growth <= FLAT_GROWTH
        rows = [
            ("samples (1 s apart) after the warm-up", len(rss)),
            ("min / median / max", f"{mb(min(rss))} / {mb(statistics.median(rss))} / {mb(max(rss))}"),
            ("median of the first third", mb(first)),
            ("median of the last third", mb(last)),
            ("growth, last third over first", f"{growth * 100:+.1f} %"),
            ("verdict", f"flat (growth ≤ {FLAT_GROWTH * 100:.0f} %)" if flat
             else f"**grows** (more than {FLAT_GROWTH * 100:.0f} %)"),
        ]
        if "before" in self.fds:
            rows.insert(0, ("before the run (idle)", mb(self.fds["before"]["rss_kb"])))
        if "after" in self.fds:
            rows.append(("after the run, connections closed", mb(self.fds["after"]["rss_kb"])))
        text = (f"## Memory (RSS)\n\nVmRSS of the proxy, sampled every second; the first "
                f"{WARMUP_FRACTION * 100:.0f} % of the run is the warm-up and is left out. "
                "Reported, not enforced.\n\n" + table(("", "value"), rows) + "\n")
        return text, flat

    def fds_section(self):
        before, exit_, after = (self.fds.get(k) for k in ("before", "wrk-exit", "after"))
        if not before or not after:
            self.missed.append("no fd count after the run (the proxy exited?)")
            return "## Open file descriptors\n\nNo count after the run: the proxy exited.\n"
        equal = after["fds"] == before["fds"]
        if not equal:
            self.missed.append(f"fds {before['fds']} before, {after['fds']} after")
        run = [s for s in self.samples if self.t0 <= s["t"] <= self.t1]
        rows = [("before the run", before["fds"], kinds_text(before["by_kind"]))]
        if exit_:
            rows.append(("when wrk exited", exit_["fds"], kinds_text(exit_["by_kind"])))
        rows.append((f"after, {self.run['settle_s']} s later", after["fds"], kinds_text(after["by_kind"])))
        if run:
            rows.append(("most during the run", max(s["fds"] for s in run), ""))
            rows.append(("most TCP CLOSE_WAIT during the run",
                         max(s["tcp"].get("CLOSE_WAIT", 0) for s in run), ""))
        pool_s = int(self.meta["pool_idle_timeout_ms"]) / 1000
        return ("## Open file descriptors\n\n"
                f"Counted in /proc/PID/fd. After wrk exits the harness waits until the count is "
                f"back to the one before the run, at most the pool idle timeout ({pool_s:g} s) "
                f"+ 10 s. Goal: equal before and after, {goal(equal)}.\n\n"
                + table(("when", "fds", "by kind"), rows) + "\n")

    def checks_section(self):
        failed = [c for c in self.checks if c["verdict"] != "ok"]
        if failed:
            self.missed.append(f"{len(failed)} of the curl checks failed")
        rows = [(c["path"], c["kind"], c["status"], f"`{c['etag']}`", c["content_type"], c["verdict"])
                for c in self.checks]
        return ("## Checks before the run\n\nOne request of each kind per path with curl: status, "
                "ETag and type are those the soak counts as right.\n\n"
                + table(("path", "kind", "status", "ETag", "type", "verdict"), rows) + "\n")

    def chart(self):
        try:
            import matplotlib
            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            return "Chart not drawn: python3-matplotlib is missing (loadtest/setup.sh installs it).\n"
        if not self.samples:
            return ""
        t = [s["t"] - self.t0 for s in self.samples]
        fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
        axes[0].plot(t, [s["rss_kb"] / 1024 for s in self.samples], color="tab:blue")
        axes[0].set_ylabel("RSS (MB)")
        axes[0].set_ylim(bottom=0)
        axes[1].plot(t, [s["fds"] for s in self.samples], color="tab:green", label="open fds")
        axes[1].plot(t, [s["tcp"].get("CLOSE_WAIT", 0) for s in self.samples], color="tab:red",
                     label="TCP sockets in CLOSE_WAIT")
        if "before" in self.fds:
            axes[1].axhline(self.fds["before"]["fds"], color="tab:green", linestyle=":",
                            label="open fds before the run")
        axes[1].set_ylabel("count")
        axes[1].set_xlabel("seconds since wrk started")
        axes[1].legend(fontsize=8)
        for ax in axes:
            ax.axvspan(0, WARMUP_FRACTION * (self.t1 - self.t0), color="0.9", label="_warm-up")
            ax.axvline(self.t1 - self.t0, color="0.5", linestyle="--")
        axes[0].set_title("bfast-proxy during the soak (grey: warm-up; dashed: wrk ended)")
        fig.tight_layout()
        fig.savefig(os.path.join(self.out, "soak.png"), dpi=100)
        plt.close(fig)
        return "![RSS, open fds and CLOSE_WAIT sockets of the proxy over the soak](soak.png)\n"

    def write(self):
        m = self.meta
        traffic = self.traffic_section()
        rss, flat = self.rss_section()
        fds = self.fds_section()
        checks = self.checks_section()
        chart = self.chart()
        if not self.run.get("proxy_alive"):
            self.missed.append("the proxy exited during the run")
        verdict = ("All goals met." if not self.missed
                   else "Goals missed: " + "; ".join(self.missed) + ".")
        if flat is not None:
            verdict += " RSS " + ("flat." if flat else "grows (see Memory).")
        head = (
            "# bfast-proxy soak\n\n"
            f"{m['date']}, commit {m.get('commit') or '—'}; proxy `{m['proxy']}` ({m['proxy_version']}). "
            f"{m['cores']} cores ({m['cpu']}), shared with whatever else ran.\n\n"
            f"wrk ({m['wrk']}, {m['wrk_threads']} thread, {m['connections']} connections, "
            f"`wrk/soak.lua`) → bfast-proxy ({m['workers']} I/O thread(s), compress auto, "
            f"`--upstream-pool-idle-timeout-ms {m['pool_idle_timeout_ms']}`) → nginx {m['nginx']} "
            f"origin with `keepalive_timeout {m['origin_keepalive_timeout']}; keepalive_requests "
            f"{m['origin_keepalive_requests']};` so the origin closes upstream connections long "
            "before the proxy's pool would. Requests rotate over "
            + ", ".join(f"`{p}`" for p in m["paths"].split())
            + " × {pass-through JSON (no Accept), B-FAST (`Accept: application/x-bfast`), 304 "
            "of each (`If-None-Match`: the origin's ETag; the variant ETag `W/\"…-bfast\"`)}.\n\n"
            f"**{verdict}**\n\n")
        with open(os.path.join(self.out, "report.md"), "w") as f:
            f.write(head + traffic + rss + "\n" + fds + "\n" + chart + "\n" + checks
                    + "\nRaw data: `data/` (wrk.json, samples.jsonl, fds.jsonl, checks.jsonl, "
                    "metrics-before.txt, metrics-after.txt, proxy.log, wrk.out).\n")
        return not self.missed


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(0 if Soak(sys.argv[1]).write() else 1)


main()
