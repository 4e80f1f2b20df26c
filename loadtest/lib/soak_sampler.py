#!/usr/bin/python3
"""Resident memory and open file descriptors of one process, read from /proc, for the soak run.

  soak_sampler.py snapshot PID LABEL          -> one JSON line: t, label, rss_kb, fds, and the
                                                 fds by kind (TCP sockets by state, pipes, ...)
  soak_sampler.py watch PID INTERVAL_S MAX_S  -> one JSON line per INTERVAL_S (t, rss_kb, fds,
                                                 tcp sockets by state) until the process exits,
                                                 this one is stopped, or MAX_S have passed
"""
import json
import os
import sys
import time

# /proc/net/tcp state codes (include/net/tcp_states.h).
TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
    "0B": "CLOSING",
}


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_targets(pid):
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed between listing and reading
    return targets


def tcp_states(pid):
    """inode -> state name, for the TCP sockets in the process's network namespace."""
    states = {}
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    states[cols[9]] = TCP_STATES.get(cols[3], cols[3])
        except OSError:
            pass
    return states


def kinds(pid, targets):
    states = tcp_states(pid)
    out = {}
    for t in targets:
        if t.startswith("socket:["):
            key = "tcp " + states[t[8:-1]] if t[8:-1] in states else "socket (not tcp)"
        elif t.startswith("pipe:"):
            key = "pipe"
        elif t.startswith("anon_inode:"):
            key = t
        else:
            key = "file"
        out[key] = out.get(key, 0) + 1
    return out


def tcp_only(by_kind):
    return {k[4:]: v for k, v in by_kind.items() if k.startswith("tcp ")}


def snapshot(pid, label):
    targets = fd_targets(pid)
    return {"t": round(time.time(), 3), "label": label, "rss_kb": rss_kb(pid),
            "fds": len(targets), "by_kind": kinds(pid, targets)}


def watch(pid, interval, max_s):
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < max_s:
        try:
            targets = fd_targets(pid)
            rec = {"t": round(time.time(), 3), "rss_kb": rss_kb(pid), "fds": len(targets),
                   "tcp": tcp_only(kinds(pid, targets))}
        except OSError:
            return  # the process exited
        print(json.dumps(rec), flush=True)
        n += 1
        # Keeps to the grid start + n × interval, so slow samples do not make the clock drift.
        time.sleep(max(0.0, start + n * interval - time.monotonic()))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(int(sys.argv[2]), sys.argv[3])))
    elif len(sys.argv) == 5 and sys.argv[1] == "watch":
        watch(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    else:
        sys.exit(__doc__)


main()
