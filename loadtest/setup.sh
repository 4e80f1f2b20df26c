#!/bin/sh
# What the measurement kit needs beyond docker/install-deps.sh: the chart maker.
# Installs only what is missing; safe to run again. Needs root (or sudo) when something is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

# The project's own list first (nginx-light, wrk, curl, iproute2, node, python3).
"$here/../docker/install-deps.sh" all

WANT="python3-matplotlib"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=""
for p in $WANT; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "loadtest/setup: all packages present"
  exit 0
fi
echo "loadtest/setup: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
