#!/usr/bin/python3
"""Turns what the harness observed into JSON lines for data/*.jsonl.

  record.py fields KEY VALUE ...            -> {"KEY": "VALUE", ...}
  record.py wrk FRONT PAYLOAD REP JSON_BYTES CONNECTIONS WORKERS RESULT BEFORE AFTER ORIGIN_BEFORE ORIGIN_AFTER
                                             (RESULT: wrk's WRK-RESULT object or empty;
                                              the others: procstat.py samples)
  record.py h2load FRONT PAYLOAD REP STREAMS JSON_BYTES CONNECTIONS WORKERS OUT LOG METRICS_BEFORE METRICS_AFTER
                   BEFORE AFTER ORIGIN_BEFORE ORIGIN_AFTER
                                             (OUT: h2load's output; LOG: its --log-file, one
                                              line per request: start µs, status, duration µs;
                                              METRICS_*: a bfast-proxy's /metrics, or empty files)
  record.py net PROFILE PAYLOAD FORMAT JSON_BYTES [CLIENT [OFFERED]] < client lines
                                             (CLIENT: ts or python, default ts; OFFERED: the
                                              Accept-Encoding it sent)
  record.py meta KEY=VALUE ...              -> the run's description, with the machine's
"""
import json
import os
import re
import subprocess
import sys


def fields(args):
    print(json.dumps(dict(zip(args[0::2], args[1::2]))))


def wrk(args):
    front, payload, rep, json_bytes, conns, workers, result, *samples = args
    before, after, o_before, o_after = (json.loads(s) for s in samples)
    print(json.dumps({
        "front": front, "payload": payload, "rep": int(rep), "json_bytes": int(json_bytes),
        "connections": int(conns), "workers": int(workers), "wrk": json.loads(result) if result else None,
        "cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
        "origin_cpu_s": round(o_after["cpu_s"] - o_before["cpu_s"], 3),
        "idle_rss_kb": before["rss_kb"], "peak_rss_kb": after["hwm_kb"],
        "processes": len(after["pids"]),
    }))


def h2load_summary(out_path, log_path):
    """h2load's summary as the fields of wrk/record.lua's WRK-RESULT (body_bytes: DATA frame
    payload), with latency percentiles from its per-request log; None when it printed none."""
    try:
        with open(out_path) as f:
            text = f.read()
    except OSError:
        return None
    done = re.search(r"finished in ([\d.]+)(us|ms|s),", text)
    reqs = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                     r"(\d+) failed, (\d+) errored, (\d+) timeout", text)
    data = re.search(r"\((\d+)\) data", text)
    if not (done and reqs and data):
        return {"error": text[-300:]}
    scale = {"us": 1, "ms": 1e3, "s": 1e6}[done.group(2)]
    durations, non_200 = [], 0
    try:
        with open(log_path) as f:
            for line in f:
                cols = line.split()
                if len(cols) == 3:
                    durations.append(int(cols[2]))
                    non_200 += cols[1] != "200"
    except OSError:
        pass
    durations.sort()

    def pct(q):
        return durations[min(len(durations) - 1, int(q * len(durations)))] if durations else 0
    proto = re.search(r"Application protocol: (\S+)", text)
    return {
        "duration_us": round(float(done.group(1)) * scale), "requests": int(reqs.group(3)),
        "responses": int(reqs.group(4)), "body_bytes": int(data.group(1)), "non_200": non_200,
        "errors": {"failed": int(reqs.group(5)), "errored": int(reqs.group(6)),
                   "timeout": int(reqs.group(7))},
        "latency_us": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99),
                       "max": durations[-1] if durations else 0,
                       "mean": round(sum(durations) / len(durations), 1) if durations else 0},
        "protocol": proto.group(1) if proto else "",
    }


DECISION = re.compile(r'^bfast_decisions_total\{decision="(\w+)",reason="([^"]*)",route="(?:[^"\\]|\\.)*"\} (\d+)$',
                      re.M)


def decisions(path):
    """decision[/reason] -> count, from a /metrics text, summed over routes; transcoded and json
    stand alone (their reason is the coding)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    made = {}
    for d, r, n in DECISION.findall(text):
        key = d if d in ("transcoded", "json") else f"{d}/{r}"
        made[key] = made.get(key, 0) + int(n)
    return made


def h2load(args):
    front, payload, rep, streams, json_bytes, conns, workers, out, log, m_before, m_after, *samples = args
    d_before, d_after = decisions(m_before), decisions(m_after)
    made = {k: n - d_before.get(k, 0) for k, n in d_after.items() if n - d_before.get(k, 0) > 0}
    before, after, o_before, o_after = (json.loads(s) for s in samples)
    print(json.dumps({
        "front": front, "payload": payload, "rep": int(rep), "streams": int(streams),
        "json_bytes": int(json_bytes), "connections": int(conns), "workers": int(workers),
        "h2load": h2load_summary(out, log),
        "decisions": made if d_after else None,
        "cpu_s": round(after["cpu_s"] - before["cpu_s"], 3),
        "origin_cpu_s": round(o_after["cpu_s"] - o_before["cpu_s"], 3),
        "idle_rss_kb": before["rss_kb"], "peak_rss_kb": after["hwm_kb"],
        "processes": len(after["pids"]),
    }))


def net(args):
    profile, payload, fmt, json_bytes, *rest = args
    client = rest[0] if rest else "ts"
    offered = rest[1] if len(rest) > 1 else None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            rec = {"rep": -1, "error": line[:200]}
        out = {"profile": profile, "payload": payload, "format": fmt, "client": client,
               "json_bytes": int(json_bytes), **rec}
        if offered is not None:
            out["offered"] = offered
        print(json.dumps(out))


def first_line(*cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return ((p.stdout or p.stderr).strip().splitlines() or [""])[0]
    except (OSError, subprocess.SubprocessError):
        return ""


def meta(args):
    info = dict(a.split("=", 1) for a in args)
    cpu = ""
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    info.update({
        "cores": os.cpu_count(), "nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "kernel": os.uname().release,
        "memory_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20,
        "nginx": first_line("nginx", "-v").replace("nginx version: ", ""),
        "wrk": first_line("wrk", "-v").split(" Copyright")[0],
        "haproxy": first_line("haproxy", "-v").split(" - ")[0],
        "node": first_line("node", "--version"),
    })
    print(json.dumps(info, indent=1))


def main():
    commands = {"fields": fields, "wrk": wrk, "h2load": h2load, "net": net, "meta": meta}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](sys.argv[2:])


main()
