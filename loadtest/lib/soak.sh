# The soak phase of loadtest/run (--soak). Sourced by run after its setup and tool checks: it
# uses run's helpers (log, spawn, bounded, forget_pid, wait_http, free_ports, render_nginx,
# start_nginx) and its cleanup, and ends the script with run's exit status.
#
# One bfast-proxy in front of one nginx origin that closes upstream connections often
# (keepalive_timeout and keepalive_requests far below the proxy's pool idle timeout), under one
# long wrk run mixing pass-through JSON, B-FAST and 304s of both, while the proxy's RSS and open
# fds are sampled every second. Writes DIR/report.md, DIR/soak.png and DIR/data/.

[ "$have_proxy" = 1 ] || { echo "run: --soak needs the bfast-proxy binary ($proxy)" >&2; exit 1; }

# Payloads the requests rotate over: small enough that a million responses take minutes.
soak_paths="/gen/users-1k.json /gen/users-10k.json"
soak_wrk_threads=1

mkdir -p "$out/data"
data=$out/data
state=$work/state payloads=$work/payloads
mkdir -p "$state"
# nginx workers drop privileges when started as root; they must be able to read the payloads.
chmod 755 "$work"
: >"$data/checks.jsonl"; : >"$data/fds.jsonl"
rm -f "$data/samples.jsonl" "$data/wrk.json"
soak_failed=0

log "generating payloads"
"$py" "$kit/lib/gen_payloads.py" "$payloads" >"$data/payloads.txt"

read -r origin_port soak_port soak_admin <<<"$(free_ports 3)"
log "starting nginx origin (keepalive_timeout $origin_keepalive_timeout, keepalive_requests $origin_keepalive_requests)"
render_nginx "$kit/nginx/origin.conf.in" "$state/origin.conf" origin "$origin_port" ""
start_nginx origin "$state/origin.conf" "$origin_port"

log "starting bfast-proxy (upstream pool idle timeout ${soak_pool_idle_ms} ms)"
proxy_version="sha256 $(sha256sum "$proxy" | cut -c1-12), built $(date -u -r "$proxy" +%Y-%m-%dT%H:%MZ)"
"$py" "$kit/lib/proxy_config.py" auto "$workers" >"$state/soak.json"
spawn "$state/soak.out" "$proxy" --listen "127.0.0.1:$soak_port" \
  --upstream "http://127.0.0.1:$origin_port" --admin-listen "127.0.0.1:$soak_admin" \
  --config "$state/soak.json" --threads "$workers" \
  --upstream-pool-idle-timeout-ms "$soak_pool_idle_ms"
proxy_pid=$last_pid
wait_http "http://127.0.0.1:$soak_admin/healthz" "$proxy_pid" ||
  { echo "run: bfast-proxy did not start:" >&2; tail -5 "$state/soak.out" >&2; exit 1; }

snapshot() { "$py" "$kit/lib/soak_sampler.py" snapshot "$proxy_pid" "$1"; }

# Waits until the proxy's fd count has not changed for 3 s, or is WANT when WANT is given;
# at most SECONDS. Leaves the last count in $settled_fds and the time taken in $settled_s.
settle_fds() {
  local seconds=$1 want=${2:-} last="" same=0 i n start
  start=$(date +%s)
  for i in $(seq "$seconds"); do
    n=$(ls "/proc/$proxy_pid/fd" 2>/dev/null | wc -l)
    if [ -n "$want" ]; then
      [ "$n" = "$want" ] && break
    else
      if [ "$n" = "$last" ]; then same=$((same + 1)); else same=0; fi
      [ "$same" -ge 3 ] && break
    fi
    last=$n
    sleep 1
  done
  settled_fds=$n settled_s=$(( $(date +%s) - start ))
}

settle_fds 15
snapshot before >>"$data/fds.jsonl"
fds_before=$settled_fds
curl -s --max-time 10 -o "$data/metrics-before.txt" "http://127.0.0.1:$soak_admin/metrics" || true

# Each path's ETags, and a check that every kind gets the answer the soak counts as right.
header_of() { tr -d '\r' <"$1" | awk -v h="$2" 'BEGIN{IGNORECASE=1} index(tolower($0), h ":")==1 {sub(/^[^:]*:[ \t]*/, ""); print; exit}'; }
fetch() {
  local head=$1; shift
  curl -s --max-time 30 -o /dev/null -D "$head" -w '%{http_code}' "$@" || echo 000
}
check_kind() {
  local path=$1 kind=$2 code=$3 want_code=$4 etag=$5 want_etag=$6 type=$7 want_type=$8 verdict=ok
  [ "$code" = "$want_code" ] && [ "$etag" = "$want_etag" ] || verdict=fail
  [ -z "$want_type" ] || [ "$type" = "$want_type" ] || verdict=fail
  [ "$verdict" = ok ] || { soak_failed=1; log "check failed: $path $kind: HTTP $code, ETag $etag, type $type"; }
  "$py" "$kit/lib/record.py" fields path "$path" kind "$kind" status "$code" etag "$etag" \
    content_type "$type" verdict "$verdict" >>"$data/checks.jsonl"
}
lua_args=()
base=http://127.0.0.1:$soak_port
for path in $soak_paths; do
  h=$work/head
  code=$(fetch "$h" "$base$path")
  plain=$(header_of "$h" etag)
  check_kind "$path" json "$code" 200 "$plain" "$plain" \
    "$(header_of "$h" content-type | cut -d';' -f1)" application/json
  variant="W/\"$(sed -e 's/^W\///' -e 's/^"//' -e 's/"$//' <<<"$plain")-bfast\""
  code=$(fetch "$h" -H "Accept: application/x-bfast" "$base$path")
  check_kind "$path" bfast "$code" 200 "$(header_of "$h" etag)" "$variant" \
    "$(header_of "$h" content-type | cut -d';' -f1)" application/x-bfast
  code=$(fetch "$h" -H "If-None-Match: $plain" "$base$path")
  check_kind "$path" json-304 "$code" 304 "$(header_of "$h" etag)" "$plain" "" ""
  code=$(fetch "$h" -H "Accept: application/x-bfast" -H "If-None-Match: $variant" "$base$path")
  check_kind "$path" bfast-304 "$code" 304 "$(header_of "$h" etag)" "$variant" "" ""
  lua_args+=("$path" "$plain" "$variant")
done

sample_seconds=$(( soak_max_seconds + soak_pool_idle_ms / 1000 + 120 ))
spawn "$data/samples.jsonl" "$py" "$kit/lib/soak_sampler.py" watch "$proxy_pid" 1 "$sample_seconds"
sampler_pid=$last_pid

per_thread=$(( (soak_requests + soak_wrk_threads - 1) / soak_wrk_threads ))
log "wrk: $soak_requests responses at $connections connections (at most $soak_max_seconds s)"
done_file=$work/wrk.done
rm -f "$done_file"
t_start=$(date +%s.%N)
spawn "$work/wrk.out" wrk -t "$soak_wrk_threads" -c "$connections" -d "${soak_max_seconds}s" \
  --timeout 10s -s "$kit/wrk/soak.lua" "$base/" -- "$done_file" "$per_thread" "${lua_args[@]}"
wrk_pid=$last_pid
# wrk's main thread sleeps for all of -d; once every thread has its share, SIGINT wakes it and
# it prints its summary. Bounded by -d plus a minute in any case.
t_end="" deadline=$(( $(date +%s) + soak_max_seconds + 60 ))
while alive "$wrk_pid" && [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -z "$t_end" ] && [ "$(cat "$done_file" 2>/dev/null | wc -l)" -ge "$soak_wrk_threads" ]; then
    t_end=$(date +%s.%N)
    kill -INT "$wrk_pid" 2>/dev/null || true
  fi
  sleep 0.2
done
alive "$wrk_pid" && log "wrk still running after $((soak_max_seconds + 60)) s: stopping it"
wrk_status=0
if alive "$wrk_pid"; then stop_pid "$wrk_pid"; wrk_status=124; else wait "$wrk_pid" || wrk_status=$?; fi
drop_pid "$wrk_pid"
t_end=${t_end:-$(date +%s.%N)}
cp "$work/wrk.out" "$data/wrk.out"
result=$(sed -n 's/^SOAK-RESULT //p' "$work/wrk.out")
[ -n "$result" ] || { soak_failed=1; log "wrk printed no result (exit $wrk_status)"; }

proxy_alive=false
alive "$proxy_pid" && proxy_alive=true
if [ "$proxy_alive" = true ]; then
  snapshot wrk-exit >>"$data/fds.jsonl"
  # Idle upstream connections may stay until the pool's idle timeout; wait that long at most.
  log "waiting for the proxy's fds to return to $fds_before (at most $(( soak_pool_idle_ms / 1000 + 10 )) s)"
  settle_fds $(( soak_pool_idle_ms / 1000 + 10 )) "$fds_before"
  snapshot after >>"$data/fds.jsonl"
  curl -s --max-time 10 -o "$data/metrics-after.txt" "http://127.0.0.1:$soak_admin/metrics" || true
else
  soak_failed=1 settled_s=0
  log "bfast-proxy exited during the soak: $(tail -3 "$state/soak.out")"
fi
forget_pid "$sampler_pid"
cp "$state/soak.out" "$data/proxy.log"

printf '{"wrk":%s,"wrk_exit":%d,"t_start":%s,"t_end":%s,"settle_s":%s,"proxy_alive":%s}\n' \
  "${result:-null}" "$wrk_status" "$t_start" "$t_end" "$settled_s" "$proxy_alive" >"$data/wrk.json"

log "writing the report"
"$py" "$kit/lib/record.py" meta date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" mode=soak \
  commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)" \
  workers="$workers" connections="$connections" requests_target="$soak_requests" \
  max_seconds="$soak_max_seconds" wrk_threads="$soak_wrk_threads" paths="$soak_paths" \
  origin_keepalive_timeout="$origin_keepalive_timeout" \
  origin_keepalive_requests="$origin_keepalive_requests" \
  pool_idle_timeout_ms="$soak_pool_idle_ms" proxy="$proxy" proxy_version="$proxy_version" \
  >"$data/meta.json"
"$py" "$kit/lib/soak_report.py" "$out" || soak_failed=1
[ -s "$out/report.md" ] || { echo "run: no report written" >&2; exit 1; }
log "report: $out/report.md"
exit "$soak_failed"
