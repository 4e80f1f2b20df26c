#!/usr/bin/python3
"""Prints the bfast-proxy config file for one front of the kit.

Usage: proxy_config.py auto|always|never THREADS
One route for everything, with the given compress mode; I/O and transform threads both THREADS,
so the proxy has the worker count the nginx fronts have; no access log, as the nginx fronts; no
drain delay on SIGTERM, since nothing routes by its /readyz and the kit stops fronts often.
"""
import json
import sys

if len(sys.argv) != 3 or sys.argv[1] not in ("auto", "always", "never"):
    sys.exit(__doc__)
threads = int(sys.argv[2])
print(json.dumps({
    "threads": threads,
    "transform_threads": threads,
    "access_log": False,
    "drain_delay_ms": 0,
    "routes": [{"prefix": "/", "enabled": True, "compress": sys.argv[1]}],
}, indent=1))
