#!/bin/sh
# The one list of Debian packages bfast-proxy needs to build, test and benchmark.
# Installs only what is missing; safe to run again. Needs root (or sudo).
set -eu

BUILD_PKGS="build-essential cmake ninja-build pkg-config git ca-certificates curl"
LIB_PKGS="libsimdjson-dev liblz4-dev libtbb-dev nlohmann-json3-dev zlib1g-dev libzstd-dev libboost1.81-dev libssl-dev libnghttp2-dev"
TEST_PKGS="libgtest-dev libgmock-dev libbenchmark-dev clang-14 libfuzzer-14-dev libclang-rt-14-dev nginx-light haproxy wrk python3 python3-numpy python3-yaml python3-zstandard python3-websockets python3-h2 nodejs iproute2 zstd openssl prometheus"
# The shared libraries the binaries load (and the trust store https:// upstreams are checked
# against): the image's runtime stage installs only these, and
# docker/verify-image.sh checks every library of the binary against this list.
RUNTIME_PKGS="libc6 libgcc-s1 libstdc++6 libsimdjson14 liblz4-1 libtbb12 zlib1g libzstd1 libssl3 libnghttp2-14 ca-certificates"
# The load-test kit's charts, the openssl CLI for its throwaway TLS certificate and h2load
# (loadtest/setup.sh asks for them by name).
LOADTEST_PKGS="python3-matplotlib openssl nghttp2-client"
# Building and running the container image without a Docker engine (docker/verify-image.sh).
IMAGE_PKGS="buildah podman runc debootstrap"

# `build` is the container's build stage, `runtime` its runtime stage; `all` (the default) is
# everything local builds and tests need; `image` and `loadtest` are asked for by name only.
# `--list GROUP` prints the group's packages and installs nothing.
list_only=0
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
case "${1:-all}" in
  build)   WANT="$BUILD_PKGS $LIB_PKGS" ;;
  runtime) WANT="$RUNTIME_PKGS" ;;
  image)   WANT="$IMAGE_PKGS" ;;
  loadtest) WANT="$LOADTEST_PKGS" ;;
  all)     WANT="$BUILD_PKGS $LIB_PKGS $TEST_PKGS" ;;
  *) echo "usage: $0 [--list] [all|build|runtime|image|loadtest]" >&2; exit 2 ;;
esac
if [ "$list_only" -eq 1 ]; then echo $WANT; exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=""
for p in $WANT; do
  # node may come from outside Debian (e.g. nodesource); accept any working node.
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  if [ "$p" = python3 ] && [ -x /usr/bin/python3 ]; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done

if [ -z "$missing" ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
