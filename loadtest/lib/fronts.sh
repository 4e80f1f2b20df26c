# Sourced by loadtest/run: starts the origin and every front with $workers workers or threads,
# and stops them again, so a run can measure at more than one worker count. Uses run's helpers
# (spawn, forget_pid, wait_http, free_ports, render_nginx, start_nginx) and its globals
# ($state, $kit, $py, $proxy, $have_proxy, $workers).

declare -A front_port front_accept front_encoding front_pid front_scheme front_h2 front_admin
fronts=()
add_front() {
  fronts+=("$1"); front_port[$1]=$2; front_accept[$1]=$3; front_encoding[$1]=$4; front_pid[$1]=$5
}

# http, or https for the fronts lib/tls.sh starts.
scheme_of() {
  echo "${front_scheme[$1]:-http}"
}

# HAProxy in the foreground (-db), so its PID is the one spawn recorded and cleanup stops it.
start_haproxy() {
  local name=$1 port=$2 conf=$state/$1.cfg
  sed -e "s|@WORKERS@|$workers|g" -e "s|@NAME@|$name|g" -e "s|@PORT@|$port|g" \
      -e "s|@ORIGIN_PORT@|$origin_port|g" "$kit/haproxy/front.cfg.in" >"$conf"
  haproxy -c -q -f "$conf" >"$state/$name.test.log" 2>&1 || { cat "$state/$name.test.log" >&2; exit 1; }
  spawn "$state/$name.out" haproxy -db -f "$conf"
  wait_http "http://127.0.0.1:$port/" "$last_pid" ||
    { echo "run: $name did not start:" >&2; tail -5 "$state/$name.out" >&2; exit 1; }
}

# One bfast-proxy per policy, so each front's CPU and memory are its own process's. Extra
# arguments (certificate, key, ciphers) go to proxy_config.py and make the listener TLS-only;
# the admin listener stays cleartext, so readiness is polled there either way.
start_proxy() {
  local name=$1 port=$2 admin=$3 mode=$4
  shift 4
  "$py" "$kit/lib/proxy_config.py" "$mode" "$workers" "$@" >"$state/$name.json"
  spawn "$state/$name.out" "$proxy" --listen "127.0.0.1:$port" \
    --upstream "http://127.0.0.1:$origin_port" --admin-listen "127.0.0.1:$admin" \
    --config "$state/$name.json" --threads "$workers"
  wait_http "http://127.0.0.1:$admin/healthz" "$last_pid" ||
    { echo "run: $name did not start:" >&2; tail -5 "$state/$name.out" >&2; exit 1; }
}

# The origin, which is also the nginx-direct front.
start_origin() {
  read -r origin_port <<<"$(free_ports 1)"
  fronts=()
  log "starting the nginx origin ($workers worker(s))"
  render_nginx "$kit/nginx/origin.conf.in" "$state/origin.conf" origin "$origin_port" ""
  start_nginx origin "$state/origin.conf" "$origin_port"
  add_front nginx-direct "$origin_port" application/json "" "$last_pid"
  origin_pid=$last_pid
}

start_fronts() {
  local proxy_port gzip1_port gzip6_port haproxy_port auto_port lz4_port none_port \
    pass_port auto_admin lz4_admin none_admin pass_admin level port_var gzip
  start_origin
  read -r proxy_port gzip1_port gzip6_port haproxy_port auto_port lz4_port none_port \
    pass_port auto_admin lz4_admin none_admin pass_admin <<<"$(free_ports 12)"

  log "starting nginx and HAProxy fronts ($workers worker(s)/thread(s) each)"

  render_nginx "$kit/nginx/front.conf.in" "$state/proxy.conf" proxy "$proxy_port" "gzip off;"
  start_nginx proxy "$state/proxy.conf" "$proxy_port"
  add_front nginx-proxy "$proxy_port" application/json "" "$last_pid"

  for level in 1 6; do
    port_var=gzip${level}_port
    gzip="gzip on; gzip_comp_level $level; gzip_types application/json; gzip_proxied any; gzip_vary on;"
    render_nginx "$kit/nginx/front.conf.in" "$state/gzip$level.conf" "gzip$level" "${!port_var}" "$gzip"
    start_nginx "gzip$level" "$state/gzip$level.conf" "${!port_var}"
    add_front "nginx-gzip$level" "${!port_var}" application/json gzip "$last_pid"
  done

  start_haproxy haproxy "$haproxy_port"
  add_front haproxy "$haproxy_port" application/json "" "$last_pid"

  [ "$have_proxy" = 1 ] || return 0
  start_proxy bfast-auto "$auto_port" "$auto_admin" auto
  add_front bfast-auto "$auto_port" application/x-bfast "" "$last_pid"
  start_proxy bfast-lz4 "$lz4_port" "$lz4_admin" always
  add_front bfast-lz4 "$lz4_port" application/x-bfast "" "$last_pid"
  start_proxy bfast-none "$none_port" "$none_admin" never
  add_front bfast-none "$none_port" application/x-bfast "" "$last_pid"
  start_proxy bfast-pass "$pass_port" "$pass_admin" auto
  add_front bfast-pass "$pass_port" application/json "" "$last_pid"
}

# The origin last: the fronts' upstream connections close before it goes.
stop_fronts() {
  local front
  for front in "${fronts[@]}"; do
    [ "$front" = nginx-direct ] || forget_pid "${front_pid[$front]}"
  done
  forget_pid "$origin_pid"
  fronts=()
}
