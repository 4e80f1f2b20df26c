#!/bin/sh
# What the measurement kit needs: the project's packages (nginx-light, haproxy, wrk, curl,
# iproute2, node, python3), the chart maker, the openssl CLI and h2load, all from the one list in
# docker/install-deps.sh.
# Installs only what is missing; safe to run again. Needs root (or sudo) when something is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
"$here/../docker/install-deps.sh" all
"$here/../docker/install-deps.sh" loadtest
