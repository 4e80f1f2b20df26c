# Sourced by loadtest/run: the memory an idle keep-alive connection costs each kind of front.
# For each kind a fresh instance (so no earlier cell's buffers count) on the running origin:
# its RSS when fresh, after one warm-up request (before), and while lib/idle_conns.py holds
# $idle_connections connections that have each done one request (after). Cost per connection:
# (after − before) / connections held. Uses run's and lib/fronts.sh's helpers.

# Samples the RSS (kB, summed over the front's processes) of PID.
rss_kb() {
  "$py" "$kit/lib/procstat.py" sample "$1" |
    "$py" -c 'import json, sys; print(json.load(sys.stdin)["rss_kb"])'
}

idle_one() {
  local kind=$1 port admin pid accept=application/json fresh before after client line i held failed
  read -r port admin <<<"$(free_ports 2)"
  case "$kind" in
    nginx-proxy)
      render_nginx "$kit/nginx/front.conf.in" "$state/idle-proxy.conf" idle-proxy "$port" "gzip off;"
      start_nginx idle-proxy "$state/idle-proxy.conf" "$port" ;;
    haproxy) start_haproxy idle-haproxy "$port" ;;
    bfast-pass) start_proxy idle-bfast-pass "$port" "$admin" auto ;;
    bfast-auto) start_proxy idle-bfast-auto "$port" "$admin" auto; accept=application/x-bfast ;;
  esac
  pid=$last_pid
  fresh=$(rss_kb "$pid")
  curl -s -o /dev/null --max-time 10 -H "Accept: $accept" "http://127.0.0.1:$port/gen/users-1k.json" || true
  before=$(rss_kb "$pid")
  spawn "$state/idle-$kind.client" "$py" "$kit/lib/idle_conns.py" "$port" /gen/users-1k.json \
    "$accept" "$idle_connections" 120
  client=$last_pid line=""
  # At most 120 s: the client gives up opening connections by then as well.
  for i in $(seq 1200); do
    line=$(grep -m1 '^ready' "$state/idle-$kind.client" 2>/dev/null || true)
    [ -n "$line" ] && break
    alive "$client" || break
    sleep 0.1
  done
  after=$(rss_kb "$pid")
  forget_pid "$client"
  forget_pid "$pid"
  read -r _ held failed <<<"${line:-ready 0 $idle_connections}"
  [ "$held" -gt 0 ] || log "idle connections: $kind held none"
  "$py" "$kit/lib/record.py" fields workers "$workers" front "$kind" accept "$accept" \
    asked "$idle_connections" held "$held" failed "$failed" fresh_rss_kb "$fresh" \
    before_rss_kb "$before" after_rss_kb "$after" >>"$data/idle.jsonl"
}

measure_idle() {
  local kinds="nginx-proxy haproxy" kind
  [ "$have_proxy" = 1 ] && kinds="$kinds bfast-pass bfast-auto"
  log "memory: $idle_connections idle keep-alive connections on a fresh front of each kind"
  for kind in $kinds; do idle_one "$kind"; done
}

# The RSS each long-running front holds now, after the cells it served.
sample_steady() {
  local front
  for front in "${fronts[@]}"; do
    "$py" "$kit/lib/record.py" fields workers "$workers" front "$front" \
      rss_kb "$(rss_kb "${front_pid[$front]}")" >>"$data/steady.jsonl"
  done
}
