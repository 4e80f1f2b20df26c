#!/usr/bin/python3
"""CPU time and memory of server processes, read from /proc.

  procstat.py sample PID...  -> one JSON line: cpu_s (user+system, the processes and their
                                descendants), hwm_kb and rss_kb (sums of VmHWM / VmRSS), pids
  procstat.py reset PID...   -> resets the peak RSS (VmHWM) of the processes and descendants,
                                so the next sample's hwm_kb is the peak since this call
"""
import json
import os
import sys

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces and parentheses; the fields follow the last ')'.
    return text[text.rindex(")") + 2:].split()


def family(roots):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(stat_fields(entry)[1])
            except (OSError, ValueError, IndexError):
                pass
    parents.pop(os.getpid(), None)
    found = [p for p in roots if p in parents]
    i = 0
    while i < len(found):
        found.extend(child for child, parent in parents.items()
                     if parent == found[i] and child not in found)
        i += 1
    return found


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def sample(pids):
    cpu_ticks, hwm, rss, seen = 0, 0, 0, []
    for pid in pids:
        try:
            fields = stat_fields(pid)
            cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
            hwm += status_kb(pid, "VmHWM")
            rss += status_kb(pid, "VmRSS")
            seen.append(pid)
        except OSError:
            pass  # exited between listing and reading
    return {"cpu_s": cpu_ticks / TICKS, "hwm_kb": hwm, "rss_kb": rss, "pids": seen}


def reset(pids):
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("sample", "reset"):
        sys.exit(__doc__)
    pids = family([int(p) for p in sys.argv[2:]])
    if sys.argv[1] == "reset":
        reset(pids)
    else:
        print(json.dumps(sample(pids)))


main()
