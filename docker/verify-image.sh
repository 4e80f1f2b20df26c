#!/bin/bash
# Builds docker/Dockerfile without a Docker engine and checks the result:
#   1. base   - debootstrap --variant=minbase bookworm, imported with buildah as
#               docker.io/library/debian:bookworm so `FROM debian:bookworm` builds offline;
#   2. build  - buildah bud --pull=never with BUILDAH_ISOLATION=chroot;
#   3. config - the image runs as a numeric non-root user, exposes the ports, has the entrypoint;
#   4. run    - the image serves the demo (podman with a read-only root, else buildah run);
#   5. curl   - JSON and B-FAST through the container, the B-FAST body decoded by the image's
#               own `bfast` and compared with the JSON;
#   6. stop   - SIGTERM, then the exit code and how long the drain took.
# A step that cannot run here is reported with the reason, and the fallback checks run instead:
# every shared library of the binary comes from a runtime-stage package (ldd + dpkg -S), and the
# binary starts in a runtime root filesystem under chroot.
#
# Needs root and `docker/install-deps.sh image`. Safe to run again: the debootstrap root and
# the base image are cached (BFAST_IMAGE_CACHE, default /var/tmp/bfast-proxy-image).
#
# usage: docker/verify-image.sh [--fallback]   (--fallback skips buildah and runs only the
#                                               library and chroot checks)
# BFAST_VERIFY_RUNNER=buildah runs the image with buildah run instead of podman.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${BFAST_IMAGE_CACHE:-/var/tmp/bfast-proxy-image}
image=${BFAST_IMAGE:-localhost/bfast-proxy:dev}
base=docker.io/library/debian:bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
container=bfast-proxy-verify
export BUILDAH_ISOLATION=chroot

force_fallback=0
[ "${1:-}" = --fallback ] && force_fallback=1

mkdir -p "$cache"
log="$cache/logs"
mkdir -p "$log"

results=()
failed=0
record() {  # step status detail
  results+=("$(printf '%-8s %-8s %s' "$1" "$2" "$3")")
  echo "verify-image: $1: $2${3:+ - $3}"
  [ "$2" = FAILED ] && failed=1
  return 0
}
summary() {
  echo
  echo "verify-image: summary"
  printf '  %s\n' "${results[@]}"
  [ "$failed" -eq 0 ] && echo "verify-image: OK" || echo "verify-image: FAILED"
  exit "$failed"
}
tail_log() { sed 's/^/    | /' "$1" | tail -n "${2:-25}"; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls (at most ~30 s) until the admin listener answers /healthz.
wait_healthy() {  # admin_port pid_to_watch
  for _ in $(seq 1 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz" 2>/dev/null && return 0
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

# Curls the demo through the proxy on data_port: plain JSON, then B-FAST, decoded with
# the decoder command given and compared with the JSON document. Prints the sizes.
check_demo() {  # data_port admin_port decoder...
  local port=$1 admin=$2; shift 2
  local dir="$cache/curl"
  rm -rf "$dir" && mkdir -p "$dir"
  local url="http://127.0.0.1:$port/api/users?n=2000"
  curl -fsS -o "$dir/plain.json" "$url" || { echo "plain JSON request failed"; return 1; }
  curl -fsS -D "$dir/headers" -H 'Accept: application/x-bfast' -o "$dir/body.bfast" "$url" \
    || { echo "B-FAST request failed"; return 1; }
  grep -qi '^content-type: application/x-bfast' "$dir/headers" \
    || { echo "no application/x-bfast content type"; cat "$dir/headers"; return 1; }
  "$@" < "$dir/body.bfast" > "$dir/decoded.json" || { echo "decode failed"; return 1; }
  python3 - "$dir/plain.json" "$dir/decoded.json" <<'PY' || return 1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a != b:
    sys.exit("decoded B-FAST differs from the JSON response")
PY
  curl -fsS -o /dev/null "http://127.0.0.1:$admin/readyz" || { echo "/readyz not 200"; return 1; }
  curl -fsS -o "$dir/metrics" "http://127.0.0.1:$admin/metrics" && [ -s "$dir/metrics" ] \
    || { echo "/metrics failed or empty"; return 1; }
  echo "JSON $(stat -c %s "$dir/plain.json") bytes, B-FAST $(stat -c %s "$dir/body.bfast") bytes," \
    "decoded B-FAST equals the JSON; $(grep -i '^bfast-status:' "$dir/headers" | tr -d '\r')"
}

# podman with the settings this kind of host needs: cgroupfs (no systemd); runc, which accepts
# the hybrid cgroup layout crun refuses; and rlimits below the host's hard limits, because
# podman's defaults exceed them and a root without CAP_SYS_RESOURCE cannot raise them.
podman_run() {
  local runtime=()
  command -v runc >/dev/null && runtime=(--runtime runc)
  podman "${runtime[@]}" run --cgroup-manager cgroupfs \
    --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 "$@"
}

have_tools=1
why_not=""
if [ "$(id -u)" -ne 0 ]; then have_tools=0; why_not="not root (debootstrap and buildah storage need root)"; fi
for t in buildah debootstrap curl python3; do
  command -v "$t" >/dev/null || { have_tools=0; why_not="$t not installed (docker/install-deps.sh image)"; }
done
[ "$force_fallback" -eq 1 ] && { have_tools=0; why_not="--fallback given"; }

rootfs="$cache/rootfs-bookworm"

# Leaves no container behind, whatever step stopped the script.
cleanup() {
  if command -v podman >/dev/null; then podman rm -f "$container" >/dev/null 2>&1; fi
  if command -v buildah >/dev/null; then buildah rm "$container" >/dev/null 2>&1; fi
  return 0
}
trap cleanup EXIT

# debootstrap root, cached: the marker is written only once debootstrap succeeded.
make_rootfs() {
  [ -f "$rootfs.done" ] && return 0
  rm -rf "$rootfs" "$rootfs.tmp"
  debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" > "$log/debootstrap.log" 2>&1 \
    || return 1
  # The same apt sources as Debian's own bookworm image: updates and security included.
  rm -f "$rootfs.tmp/etc/apt/sources.list"
  cat > "$rootfs.tmp/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  chroot "$rootfs.tmp" apt-get clean
  rm -rf "$rootfs.tmp"/var/lib/apt/lists/* "$rootfs.tmp"/var/log/*.log
  mv "$rootfs.tmp" "$rootfs" && touch "$rootfs.done"
}

main_path() {
  # 1. base
  if buildah inspect --type image "$base" >/dev/null 2>&1; then
    record base ok "reused $base ($(buildah images --format '{{.Size}}' "$base"))"
  else
    if ! make_rootfs; then
      record base SKIPPED "debootstrap from $mirror failed (no network to the Debian mirror?)"
      tail_log "$log/debootstrap.log" 10
      return 1
    fi
    local ctr mnt
    ctr=$(buildah from scratch) && mnt=$(buildah mount "$ctr") \
      && tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf - \
      && buildah umount "$ctr" >/dev/null \
      && buildah config --cmd /bin/bash \
           --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr" \
      && buildah commit --quiet --rm "$ctr" "$base" > /dev/null \
      || { record base FAILED "importing the debootstrap root with buildah failed"; return 1; }
    record base ok "debootstrap minbase bookworm committed as $base ($(buildah images --format '{{.Size}}' "$base"))"
  fi

  # 2. build
  local t0=$SECONDS
  if ! buildah bud --pull=never --layers -f "$repo/docker/Dockerfile" -t "$image" "$repo" \
        > "$log/build.log" 2>&1; then
    record build FAILED "buildah bud failed, last lines of $log/build.log:"
    tail_log "$log/build.log" 30
    return 1
  fi
  record build ok "buildah bud --pull=never in $((SECONDS - t0)) s -> $image"

  # 3. config
  local user entry ports size bytes
  user=$(buildah inspect --type image --format '{{.OCIv1.Config.User}}' "$image")
  entry=$(buildah inspect --type image --format '{{.OCIv1.Config.Entrypoint}}' "$image")
  ports=$(buildah inspect --type image --format '{{range $p, $_ := .OCIv1.Config.ExposedPorts}}{{$p}} {{end}}' "$image")
  size=$(buildah images --format '{{.Size}}' "$image")
  bytes=$(podman image inspect --format '{{.Size}}' "$image" 2>/dev/null || echo "?")
  if [[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] && [[ "$entry" == *bfast-proxy* ]] \
       && [[ "$ports" == *8080/tcp* ]] && [[ "$ports" == *9901/tcp* ]]; then
    record config ok "user $user, entrypoint $entry, exposes $ports, size $size ($bytes bytes)"
  else
    record config FAILED "user '$user', entrypoint '$entry', exposed '$ports'"
  fi

  # 4. run and 5. curl
  local port admin how pid="" started=0
  local decoder=()
  port=$(free_port); admin=$(free_port)
  local args=(--demo --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin")
  podman rm -f "$container" >/dev/null 2>&1
  if [ "${BFAST_VERIFY_RUNNER:-podman}" = podman ] && command -v podman >/dev/null \
     && podman_run -d --name "$container" --read-only --network host --cap-drop ALL \
          --security-opt no-new-privileges "$image" "${args[@]}" \
          > "$log/podman-run.log" 2>&1 \
     && wait_healthy "$admin"; then
    how="podman run --read-only --cap-drop ALL --network host"
    decoder=(podman_run --rm -i --read-only --network none --entrypoint /usr/local/bin/bfast
             "$image" decode)
    started=1
  else
    if [ "${BFAST_VERIFY_RUNNER:-podman}" = podman ]; then
      echo "verify-image: podman could not run the image (see $log/podman-run.log), trying buildah run"
      tail_log "$log/podman-run.log" 5
      podman logs "$container" 2>&1 | tail -n 5
    fi
    podman rm -f "$container" >/dev/null 2>&1
    buildah rm "$container" >/dev/null 2>&1
    buildah from --pull=never --name "$container" "$image" >/dev/null
    buildah run --isolation chroot "$container" -- /usr/local/bin/bfast-proxy "${args[@]}" \
      > "$log/buildah-run.log" 2>&1 &
    pid=$!
    if wait_healthy "$admin" "$pid"; then
      how="buildah run --isolation chroot (root filesystem not read-only here)"
      decoder=(chroot "$(buildah mount "$container")" /usr/local/bin/bfast decode)
      started=1
    fi
  fi
  if [ "$started" -eq 0 ]; then
    record run FAILED "the image did not answer /healthz"
    tail_log "$log/buildah-run.log" 10
    return 1
  fi
  record run ok "$how"

  local out
  if out=$(check_demo "$port" "$admin" "${decoder[@]}" 2>&1); then
    record curl ok "/api/users?n=2000 (decoded by the image's bfast): $out"
  else
    record curl FAILED "$out"
  fi

  # 6. stop: SIGTERM to the proxy, the exit code and the drain's duration.
  local rc t1=$SECONDS
  if [ -n "$pid" ]; then
    # buildah run is the parent; signal the proxy itself, found among its descendants.
    local p q
    for p in $(pgrep -x bfast-proxy); do
      q=$p
      while [ "$q" -gt 1 ] && [ "$q" != "$pid" ]; do q=$(ps -o ppid= -p "$q" | tr -d ' '); done
      [ "$q" = "$pid" ] && kill -TERM "$p"
    done
    wait "$pid"; rc=$?
    buildah rm "$container" >/dev/null 2>&1
  else
    podman stop --time 60 "$container" >/dev/null 2>&1
    rc=$(podman inspect --format '{{.State.ExitCode}}' "$container")
    podman logs "$container" > "$log/container.log" 2>&1
    podman rm -f "$container" >/dev/null 2>&1
  fi
  if [ "$rc" = 0 ]; then
    record stop ok "SIGTERM: exit 0 after $((SECONDS - t1)) s (drain_delay, then idle)"
  else
    record stop FAILED "SIGTERM: exit code $rc after $((SECONDS - t1)) s"
  fi
  return 0
}

# Fallback checks, also useful on their own: the binary's libraries against the runtime package
# list, and the binary starting in a runtime root under chroot.
fallback() {
  local bin=${BFAST_PROXY_BIN:-}
  if [ -z "$bin" ]; then
    for b in "$repo/build/server/bfast-proxy" "$cache/host-build/server/bfast-proxy"; do
      [ -x "$b" ] && { bin=$b; break; }
    done
  fi
  if [ -z "$bin" ]; then
    echo "verify-image: building bfast-proxy on the host in $cache/host-build"
    if ! { cmake -S "$repo" -B "$cache/host-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
             -DBFAST_BUILD_TESTS=OFF -DBFAST_BUILD_BENCH=OFF \
           && cmake --build "$cache/host-build" --target bfast-proxy bfast -j2; } \
           > "$log/host-build.log" 2>&1; then
      record binary FAILED "host build failed, see $log/host-build.log"
      tail_log "$log/host-build.log" 15
      return 1
    fi
    bin="$cache/host-build/server/bfast-proxy"
  fi
  record binary ok "$bin"

  # ldd + dpkg -S: each library must belong to a package the runtime stage installs.
  local runtime lib pkg bad="" n=0
  runtime=" $("$repo/docker/install-deps.sh" --list runtime) "
  for lib in $(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
    n=$((n + 1))
    pkg=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null)
    pkg=${pkg%%:*}
    if [ -z "$pkg" ]; then bad="$bad $lib(no package)"; continue; fi
    [[ "$runtime" == *" $pkg "* ]] || bad="$bad $lib($pkg)"
  done
  if ldd "$bin" | grep -q 'not found'; then bad="$bad $(ldd "$bin" | grep 'not found' | tr -s ' \t' ' ')"; fi
  if [ -z "$bad" ]; then
    record ldd ok "$n libraries, all from runtime-stage packages:$runtime"
  else
    record ldd FAILED "libraries outside the runtime-stage packages:$bad"
  fi

  # chroot: a copy of the debootstrap root with the runtime packages and the binary.
  if ! make_rootfs; then
    record chroot SKIPPED "no runtime root: debootstrap from $mirror failed"
    tail_log "$log/debootstrap.log" 10
    return 1
  fi
  local rt="$cache/runtime-rootfs"
  if [ ! -f "$rt.done" ]; then
    rm -rf "$rt" && cp -a "$rootfs" "$rt"
    cp "$repo/docker/install-deps.sh" "$rt/tmp/install-deps.sh"
    cp /etc/resolv.conf "$rt/etc/resolv.conf"
    if ! chroot "$rt" /tmp/install-deps.sh runtime > "$log/runtime-rootfs.log" 2>&1; then
      record chroot SKIPPED "installing the runtime packages in the chroot failed"
      tail_log "$log/runtime-rootfs.log" 10
      return 1
    fi
    rm -rf "$rt/var/lib/apt/lists"/* "$rt/tmp/install-deps.sh"
    touch "$rt.done"
  fi
  install -m 0755 "$bin" "$rt/usr/local/bin/bfast-proxy"
  local cli
  for cli in "${BFAST_CLI_BIN:-}" "${bin%/server/bfast-proxy}/cli/bfast" "$repo/build/cli/bfast" ""; do
    [ -n "$cli" ] && [ -x "$cli" ] && break
  done
  if [ -z "$cli" ]; then
    record chroot FAILED "no bfast CLI to decode with (set BFAST_CLI_BIN)"
    return 1
  fi
  install -m 0755 "$cli" "$rt/usr/local/bin/bfast"

  local port admin pid
  port=$(free_port); admin=$(free_port)
  mountpoint -q "$rt/proc" || mount -t proc proc "$rt/proc"
  chroot --userspec=65532:65532 "$rt" /usr/local/bin/bfast-proxy --demo \
    --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" > "$log/chroot-run.log" 2>&1 &
  pid=$!
  if wait_healthy "$admin" "$pid"; then
    local out
    if out=$(check_demo "$port" "$admin" chroot "$rt" /usr/local/bin/bfast decode 2>&1); then
      record chroot ok "bfast-proxy --demo runs as 65532 in the runtime root; $out"
    else
      record chroot FAILED "$out"
    fi
  else
    record chroot FAILED "bfast-proxy did not start in the runtime root"
    tail_log "$log/chroot-run.log" 10
  fi
  kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  umount "$rt/proc" 2>/dev/null
  return 0
}

if [ "$have_tools" -eq 1 ]; then
  main_path || { echo "verify-image: the image path stopped early; running the fallback checks"; fallback; }
else
  record image SKIPPED "$why_not"
  fallback
fi
summary
