# Sourced by loadtest/run: the TLS pass-through cell. nginx with an `ssl` listener
# (nginx/front.conf.in + nginx/tls.conf.in) and bfast-proxy with a TLS listener, both in front of
# the running cleartext origin, on one throwaway certificate made here with the openssl CLI.
# Each is checked on $tls_payloads (curl, verifying the certificate), its negotiated protocol and
# cipher are recorded (openssl s_client, as offered by default and with TLS 1.2 only), then wrk
# over HTTPS takes the cells, interleaved, into data/tls.jsonl. Both fronts stop afterwards.
# Uses run's and lib/fronts.sh's helpers.

# The proxy's default tls_ciphers, set explicitly on both fronts.
tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
tls_fronts=() tls_cert="" tls_note=""
if [ "$tls" = 0 ]; then tls_note="skipped (--no-tls)"
elif [ -z "$tls_payloads" ]; then tls_note="not part of this mode"
fi

# An ECDSA P-256 certificate for 127.0.0.1 and localhost, valid for a day, in the work directory
# (deleted on exit, so no key outlives the run).
make_certificate() {
  local dir=$state/tls
  mkdir -p "$dir"
  bounded 60 "$dir/openssl.log" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -days 1 -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" ||
    { echo "run: openssl req failed:" >&2; tail -5 "$dir/openssl.log" >&2; exit 1; }
  chmod 600 "$dir/key.pem"
  tls_cert=$dir/cert.pem tls_key=$dir/key.pem
}

add_tls_front() {
  tls_fronts+=("$1"); front_port[$1]=$2; front_pid[$1]=$3
  front_accept[$1]=application/json front_encoding[$1]="" front_scheme[$1]=https
}

start_tls_fronts() {
  local nginx_port proxy_port proxy_admin
  read -r nginx_port proxy_port proxy_admin <<<"$(free_ports 3)"
  tls_fronts=()
  log "starting the TLS fronts: nginx ssl and bfast-proxy TLS ($workers worker(s)/thread(s) each)"
  sed -e "s|@CERT@|$tls_cert|g" -e "s|@KEY@|$tls_key|g" -e "s|@CIPHERS@|$tls_ciphers|g" \
    "$kit/nginx/tls.conf.in" >"$state/nginx-tls.ssl.conf"
  render_nginx "$kit/nginx/front.conf.in" "$state/nginx-tls.conf" nginx-tls "$nginx_port" "gzip off;" \
    "$state/nginx-tls.ssl.conf"
  start_nginx nginx-tls "$state/nginx-tls.conf" "$nginx_port" https
  add_tls_front nginx-tls "$nginx_port" "$last_pid"
  [ "$have_proxy" = 1 ] || return 0
  start_proxy bfast-tls "$proxy_port" "$proxy_admin" auto "$tls_cert" "$tls_key" "$tls_ciphers"
  add_tls_front bfast-tls "$proxy_port" "$last_pid"
}

stop_tls_fronts() {
  local front
  for front in "${tls_fronts[@]}"; do forget_pid "${front_pid[$front]}"; done
}

# What a client offering OFFER (default, or -tls1_2) gets from FRONT: one JSON line.
record_session() {
  local front=$1 offer=$2 out=$work/s_client.out protocol cipher group
  local args=(s_client -connect "127.0.0.1:${front_port[$front]}" -servername localhost -CAfile "$tls_cert")
  [ "$offer" = default ] || args+=("$offer")
  # Its stdin ends a second later: s_client prints the session (protocol, cipher) once a TLS 1.3
  # server's ticket has come, after the handshake, and an immediate EOF races that.
  bounded 20 "$out" bash -c 'sleep 1 | openssl "$@"' openssl "${args[@]}" || true
  protocol=$(sed -n 's/^ *Protocol *: *//p' "$out" | head -1)
  cipher=$(sed -n 's/^ *Cipher *: *//p' "$out" | head -1)
  group=$(sed -n 's/^Server Temp Key: *//p' "$out" | head -1)
  "$py" "$kit/lib/record.py" fields workers "$workers" front "$front" offer "$offer" \
    protocol "$protocol" cipher "$cipher" key_exchange "$group" \
    verify "$(sed -n 's/^ *Verify return code: *//p' "$out" | tail -1)" >>"$data/tls_sessions.jsonl"
}

run_tls() {
  local payload front rep cells
  [ -n "$tls_payloads" ] || return 0
  make_certificate
  start_tls_fronts
  log "TLS: checking ${#tls_fronts[@]} fronts × $(wc -w <<<"$tls_payloads") payloads"
  for payload in $tls_payloads; do
    for front in "${tls_fronts[@]}"; do check_one "$front" "$payload"; done
  done
  for front in "${tls_fronts[@]}"; do
    record_session "$front" default
    record_session "$front" -tls1_2
  done
  cells=$(( $(wc -w <<<"$tls_payloads") * ${#tls_fronts[@]} ))
  if [ "$warmup" = 1 ]; then
    log "TLS wrk warm-up: $cells cells × 1 s"
    for payload in $tls_payloads; do
      for front in "${tls_fronts[@]}"; do wrk_cell "$front" "$payload" 0 1 ""; done
    done
  fi
  log "TLS wrk: $cells cells × $reps rep(s) × ${duration} s"
  for rep in $(seq "$reps"); do
    for payload in $tls_payloads; do
      for front in "${tls_fronts[@]}"; do wrk_cell "$front" "$payload" "$rep" "$duration" "$data/tls.jsonl"; done
    done
  done
  stop_tls_fronts
}
