#!/usr/bin/python3
"""Prints the bfast-proxy config file for one front of the kit.

Usage: proxy_config.py auto|always|never THREADS [CERT KEY CIPHERS]
One route for everything, with the given compress mode; I/O and transform threads both THREADS,
so the proxy has the worker count the nginx fronts have; no access log, as the nginx fronts; no
drain delay on SIGTERM, since nothing routes by its /readyz and the kit stops fronts often.
With CERT, KEY and CIPHERS the data listener is TLS-only: that certificate chain and key, TLS
1.2 at least and that TLS 1.2 cipher list, as the nginx-tls front has (lib/tls.sh).
"""
import json
import sys

if len(sys.argv) not in (3, 6) or sys.argv[1] not in ("auto", "always", "never"):
    sys.exit(__doc__)
threads = int(sys.argv[2])
config = {
    "threads": threads,
    "transform_threads": threads,
    "access_log": False,
    "drain_delay_ms": 0,
    "routes": [{"prefix": "/", "enabled": True, "compress": sys.argv[1]}],
}
if len(sys.argv) == 6:
    config.update(tls_certificate=sys.argv[3], tls_certificate_key=sys.argv[4],
                  tls_min_version="1.2", tls_ciphers=sys.argv[5])
print(json.dumps(config, indent=1))
