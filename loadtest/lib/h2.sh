# Sourced by loadtest/run: the HTTP/2 cells. nginx with `http2` listeners (direct, proxy_pass,
# proxy_pass + gzip 1) and bfast-proxy (http2 is on by default: pass-through, x-bfast auto,
# x-bfast LZ4), all h2c with prior knowledge on the running cleartext origin; and one h2 pair
# over TLS (ALPN) on the throwaway certificate of lib/tls.sh. Each front is checked over HTTP/2
# (curl, bodies as the other checks), then h2load takes the cells, interleaved, into
# data/h2.jsonl, with each bfast-proxy's decisions during the cell (its /metrics, before and
# after): under load a transform past the memory budget passes JSON through instead. The fronts stop afterwards. Uses run's, lib/fronts.sh's and lib/tls.sh's helpers.

# A few connections, each carrying h2load -m streams at once (a stream per request).
h2_connections=4
h2_fronts=() h2_note=""
if [ "$h2" = 0 ]; then h2_note="skipped (--no-h2)"
elif [ -z "$h2_payloads" ] && [ -z "$h2_tls_payloads" ]; then h2_note="not part of this mode"
fi

# NAME PORT PID ACCEPT ENCODING h2c|h2
add_h2_front() {
  h2_fronts+=("$1"); front_port[$1]=$2; front_pid[$1]=$3
  front_accept[$1]=$4 front_encoding[$1]=$5 front_h2[$1]=$6
  if [ "$6" = h2 ]; then front_scheme[$1]=https; fi
}

start_h2_fronts() {
  local direct_port proxy_port gzip1_port pass_port auto_port lz4_port pass_admin auto_admin lz4_admin
  local gzip="gzip on; gzip_comp_level 1; gzip_types application/json; gzip_proxied any; gzip_vary on;"
  read -r direct_port proxy_port gzip1_port pass_port auto_port lz4_port pass_admin auto_admin \
    lz4_admin <<<"$(free_ports 9)"
  h2_fronts=()
  log "starting the HTTP/2 fronts: nginx http2 and bfast-proxy, h2c ($workers worker(s)/thread(s) each)"
  render_nginx "$kit/nginx/origin.conf.in" "$state/h2-direct.conf" h2-direct "$direct_port" "" "" http2
  # Over HTTP/2, nginx 1.22's sendfile path stalls about 45 ms per 1 KB response (h2load -m 1);
  # without it nginx answers as fast as its proxy fronts do.
  sed -i 's/^\( *\)sendfile on;/\1sendfile off;/' "$state/h2-direct.conf"
  start_nginx h2-direct "$state/h2-direct.conf" "$direct_port" http --http2-prior-knowledge
  add_h2_front nginx-h2-direct "$direct_port" "$last_pid" "" "" h2c
  render_nginx "$kit/nginx/front.conf.in" "$state/h2-proxy.conf" h2-proxy "$proxy_port" "gzip off;" "" http2
  start_nginx h2-proxy "$state/h2-proxy.conf" "$proxy_port" http --http2-prior-knowledge
  add_h2_front nginx-h2-proxy "$proxy_port" "$last_pid" "" "" h2c
  render_nginx "$kit/nginx/front.conf.in" "$state/h2-gzip1.conf" h2-gzip1 "$gzip1_port" "$gzip" "" http2
  start_nginx h2-gzip1 "$state/h2-gzip1.conf" "$gzip1_port" http --http2-prior-knowledge
  add_h2_front nginx-h2-gzip1 "$gzip1_port" "$last_pid" "" gzip h2c
  [ "$have_proxy" = 1 ] || return 0
  start_proxy bfast-h2-pass "$pass_port" "$pass_admin" auto
  add_h2_front bfast-h2-pass "$pass_port" "$last_pid" "" "" h2c
  front_admin[bfast-h2-pass]=$pass_admin
  start_proxy bfast-h2-auto "$auto_port" "$auto_admin" auto
  add_h2_front bfast-h2-auto "$auto_port" "$last_pid" application/x-bfast "" h2c
  front_admin[bfast-h2-auto]=$auto_admin
  start_proxy bfast-h2-lz4 "$lz4_port" "$lz4_admin" always
  add_h2_front bfast-h2-lz4 "$lz4_port" "$last_pid" application/x-bfast "" h2c
  front_admin[bfast-h2-lz4]=$lz4_admin
}

# nginx `ssl http2` and bfast-proxy's TLS listener, passing JSON through (h2 by ALPN).
start_h2_tls_fronts() {
  local nginx_port proxy_port proxy_admin
  read -r nginx_port proxy_port proxy_admin <<<"$(free_ports 3)"
  log "starting the HTTP/2 TLS fronts: nginx ssl http2 and bfast-proxy TLS (h2 by ALPN)"
  sed -e "s|@CERT@|$tls_cert|g" -e "s|@KEY@|$tls_key|g" -e "s|@CIPHERS@|$tls_ciphers|g" \
    "$kit/nginx/tls.conf.in" >"$state/h2-tls.ssl.conf"
  render_nginx "$kit/nginx/front.conf.in" "$state/h2-tls.conf" h2-tls "$nginx_port" "gzip off;" \
    "$state/h2-tls.ssl.conf" http2
  start_nginx h2-tls "$state/h2-tls.conf" "$nginx_port" https --http2
  add_h2_front nginx-h2-tls "$nginx_port" "$last_pid" "" "" h2
  [ "$have_proxy" = 1 ] || return 0
  start_proxy bfast-h2-tls "$proxy_port" "$proxy_admin" auto "$tls_cert" "$tls_key" "$tls_ciphers"
  add_h2_front bfast-h2-tls "$proxy_port" "$last_pid" "" "" h2
  front_admin[bfast-h2-tls]=$proxy_admin
}

# A bfast-proxy front's metrics into FILE (empty for the others).
h2_metrics() {
  local front=$1 file=$2
  : >"$file"
  [ -n "${front_admin[$front]:-}" ] || return 0
  curl -s --max-time 5 -o "$file" "http://127.0.0.1:${front_admin[$front]}/metrics" || true
}

# One h2load run against a front, STREAMS streams per connection; recorded in the file $6
# unless that is empty (a warm-up).
h2_cell() {
  local front=$1 payload=$2 streams=$3 rep=$4 seconds=$5 record=$6
  local pid=${front_pid[$front]} url size before after origin_before origin_after
  url="$(scheme_of "$front")://127.0.0.1:${front_port[$front]}$(payload_path "$payload")"
  size=$(stat -c %s "$(payload_file "$payload")")
  local args=(-t 1 -c "$h2_connections" -m "$streams" -D "$seconds" --log-file "$work/h2load.log")
  [ -n "${front_accept[$front]}" ] && args+=(-H "accept: ${front_accept[$front]}")
  [ -n "${front_encoding[$front]}" ] && args+=(-H "accept-encoding: ${front_encoding[$front]}")
  rm -f "$work/h2load.log"
  procstat reset "$pid"
  h2_metrics "$front" "$work/metrics.before"
  before=$(procstat sample "$pid") origin_before=$(procstat sample "$origin_pid")
  bounded $((seconds + 60)) "$work/h2load.out" h2load "${args[@]}" "$url" || true
  after=$(procstat sample "$pid") origin_after=$(procstat sample "$origin_pid")
  h2_metrics "$front" "$work/metrics.after"
  [ -n "$record" ] || return 0
  "$py" "$kit/lib/record.py" h2load "$front" "$payload" "$rep" "$streams" "$size" "$h2_connections" \
    "$workers" "$work/h2load.out" "$work/h2load.log" "$work/metrics.before" "$work/metrics.after" \
    "$before" "$after" "$origin_before" "$origin_after" >>"$record"
}

# Every (payload, streams, front) of one group, each once: a warm-up when REP is 0.
h2_pass() {
  # Not `payloads`: that is run's directory of generated payloads.
  local rep=$1 seconds=$2 payload_list=$3 streams_list=$4 record="" payload streams front
  shift 4
  [ "$rep" = 0 ] || record=$data/h2.jsonl
  for payload in $payload_list; do
    for streams in $streams_list; do
      for front in "$@"; do h2_cell "$front" "$payload" "$streams" "$rep" "$seconds" "$record"; done
    done
  done
}

run_h2() {
  local payload front rep clear=() tls=() cells
  [ -n "$h2_payloads" ] || [ -n "$h2_tls_payloads" ] || return 0
  if [ -n "$h2_payloads" ]; then
    start_h2_fronts
    clear=("${h2_fronts[@]}")
  fi
  if [ -n "$h2_tls_payloads" ]; then
    [ -n "$tls_cert" ] || make_certificate
    start_h2_tls_fronts
    tls=("${h2_fronts[@]:${#clear[@]}}")
  fi
  log "HTTP/2: checking ${#h2_fronts[@]} fronts"
  for payload in $h2_payloads; do
    for front in "${clear[@]}"; do check_one "$front" "$payload"; done
  done
  for payload in $h2_tls_payloads; do
    for front in "${tls[@]}"; do check_one "$front" "$payload"; done
  done
  cells=$(( $(wc -w <<<"$h2_payloads") * $(wc -w <<<"$h2_streams") * ${#clear[@]}
            + $(wc -w <<<"$h2_tls_payloads") * $(wc -w <<<"$h2_tls_streams") * ${#tls[@]} ))
  if [ "$warmup" = 1 ]; then
    log "HTTP/2 h2load warm-up: $cells cells × 1 s"
    h2_pass 0 1 "$h2_payloads" "$h2_streams" "${clear[@]}"
    h2_pass 0 1 "$h2_tls_payloads" "$h2_tls_streams" "${tls[@]}"
  fi
  log "HTTP/2 h2load: $cells cells × $reps rep(s) × ${duration} s, $h2_connections connections"
  for rep in $(seq "$reps"); do
    h2_pass "$rep" "$duration" "$h2_payloads" "$h2_streams" "${clear[@]}"
    h2_pass "$rep" "$duration" "$h2_tls_payloads" "$h2_tls_streams" "${tls[@]}"
    log "HTTP/2: rep $rep/$reps done"
  done
  for front in "${h2_fronts[@]}"; do forget_pid "${front_pid[$front]}"; done
}
