#include "metrics.hpp"

#include "bfast/build_info.hpp"
#include "bfast/transport.hpp"
#include "process_stats.hpp"

#include <charconv>
#include <cstdio>

namespace bfast::server {
namespace {

void counter_header(std::string& out, std::string_view name, std::string_view help,
                    std::string_view type = "counter") {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels,
            std::string_view value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t v) {
  sample(out, name, labels, std::string_view(std::to_string(v)));
}

void sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  // The shortest text that reads back as the same double.
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  sample(out, name, labels, std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

std::string label(std::string_view k, std::string_view v) {
  std::string s(k);
  s += "=\"";
  // A route's prefix comes from the configuration: escaped as the text format asks.
  for (const char c : v) {
    if (c == '\\' || c == '"') s += '\\';
    if (c == '\n') s += "\\n";
    else s += c;
  }
  s += '"';
  return s;
}

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

template <class Array, class TokenFn>
void labelled_counter(std::string& out, std::string_view name, std::string_view help,
                      std::string_view key, const Array& values, TokenFn&& token_of) {
  counter_header(out, name, help);
  for (std::size_t i = 0; i < values.size(); ++i)
    sample(out, name, label(key, token_of(i)),
           static_cast<std::int64_t>(values[i].load(std::memory_order_relaxed)));
}

}  // namespace

std::string_view http2_error_name(std::size_t code) noexcept {
  static constexpr std::array<std::string_view, http2_error_codes> names{
      "NO_ERROR",          "PROTOCOL_ERROR",  "INTERNAL_ERROR",    "FLOW_CONTROL_ERROR",
      "SETTINGS_TIMEOUT",  "STREAM_CLOSED",   "FRAME_SIZE_ERROR",  "REFUSED_STREAM",
      "CANCEL",            "COMPRESSION_ERROR", "CONNECT_ERROR",   "ENHANCE_YOUR_CALM",
      "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"};
  return code < names.size() ? names[code] : "INTERNAL_ERROR";
}

void histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  counter_header(out, name, help, "histogram");
  render_samples(out, name, "");
}

void histogram::render_samples(std::string& out, std::string_view name,
                               std::string_view labels) const {
  const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
  std::uint64_t cumulative = 0;
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < bounds.size() ? format_double(bounds[i]) : "+Inf";
    sample(out, bucket, prefix + label("le", le), static_cast<std::int64_t>(cumulative));
  }
  sample(out, std::string(name) + "_sum", labels,
         static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  sample(out, std::string(name) + "_count", labels,
         static_cast<std::int64_t>(count_.load(std::memory_order_relaxed)));
}

std::size_t route_labels::slot_of(std::string_view prefix) {
  const auto find = [&](std::size_t n) {
    for (std::size_t i = other + 1; i < n; ++i)
      if (names_[i] == prefix) return i;
    return slots;
  };
  if (const std::size_t i = find(size()); i != slots) return i;
  const std::lock_guard lock(add_);
  const std::size_t n = used_.load(std::memory_order_relaxed);
  if (const std::size_t i = find(n); i != slots) return i;
  if (n == slots) return other;
  names_[n] = prefix;
  used_.store(n + 1, std::memory_order_release);
  return n;
}

const std::array<decision_label, decision_label_count>& decision_labels() noexcept {
  static const auto table = [] {
    std::array<decision_label, decision_label_count> t{};
    std::size_t n = 0;
    for (std::size_t i = 2; i < filter::reason_count; ++i)
      t[n++] = {"passthrough", filter::reason_token(static_cast<filter::reason>(i))};
    for (const std::string_view c : compression_choice_names) t[n++] = {"transcoded", c};
    for (const std::string_view c : json_coding_tokens) t[n++] = {"json", c};
    for (std::size_t i = 0; i < static_cast<std::size_t>(reject_kind::count_); ++i)
      t[n++] = {"rejected", token(static_cast<reject_kind>(i))};
    t[n++] = {"rejected", "too_many_tunnels"};
    for (const std::string_view r : request_refusal_tokens) t[n++] = {"request_refused", r};
    for (const std::string_view r : exchange_error_tokens) t[n++] = {"error", r};
    for (const std::string_view r : tunnel_end_tokens) t[n++] = {"tunnel", r};
    t[n++] = {"other", "other"};
    return t;
  }();
  return table;
}

std::size_t decision_label_index(std::string_view decision, std::string_view reason) noexcept {
  const auto& table = decision_labels();
  for (std::size_t i = 0; i + 1 < table.size(); ++i)
    if (table[i].decision == decision && table[i].reason == reason) return i;
  return table.size() - 1;
}

void metrics::count_response(std::size_t route_slot, unsigned status) noexcept {
  const std::size_t cls = status / 100;
  if (cls < 1 || cls > status_classes || route_slot >= route_labels::slots) return;
  responses[route_slot][cls - 1].fetch_add(1, std::memory_order_relaxed);
}

void metrics::count_exchange(std::size_t route_slot, std::string_view decision,
                             std::string_view reason, double seconds) noexcept {
  if (route_slot >= route_labels::slots) return;
  const std::size_t i = decision_label_index(decision, reason);
  decisions[route_slot][i].fetch_add(1, std::memory_order_relaxed);
  const std::string_view d = decision_labels()[i].decision;
  std::size_t k = 0;
  while (k + 1 < decision_tokens.size() && decision_tokens[k] != d) ++k;
  request_duration_seconds[k].observe(seconds);
}

std::string_view token(reject_kind k) noexcept {
  switch (k) {
    case reject_kind::bad_request: return "bad_request";
    case reject_kind::smuggling: return "smuggling";
    case reject_kind::header_too_large: return "header_too_large";
    case reject_kind::body_too_large: return "body_too_large";
    case reject_kind::expectation_failed: return "expectation_failed";
    case reject_kind::method_not_allowed: return "method_not_allowed";
    case reject_kind::bad_host: return "bad_host";
    case reject_kind::bad_chunked: return "bad_chunked";
    case reject_kind::count_: break;
  }
  return "unknown";
}

std::string_view token(upstream_error_kind k) noexcept {
  switch (k) {
    case upstream_error_kind::connect_refused: return "connect_refused";
    case upstream_error_kind::connect_timeout: return "connect_timeout";
    case upstream_error_kind::header_timeout: return "header_timeout";
    case upstream_error_kind::bad_response: return "bad_response";
    case upstream_error_kind::reset_before_response: return "reset_before_response";
    case upstream_error_kind::body_reset: return "body_reset";
    case upstream_error_kind::body_timeout: return "body_timeout";
    case upstream_error_kind::send_timeout: return "send_timeout";
    case upstream_error_kind::tls_verify: return "tls_verify";
    case upstream_error_kind::tls_handshake: return "tls_handshake";
    case upstream_error_kind::count_: break;
  }
  return "unknown";
}

void metrics::render_route_families(std::string& out) const {
  const std::size_t routes_seen = routes.size();
  counter_header(out, "bfast_responses_total",
                 "Responses written to clients, the proxy's own and the upstream's, by status "
                 "class and route.");
  static constexpr std::array<std::string_view, status_classes> classes{"1xx", "2xx", "3xx", "4xx",
                                                                        "5xx"};
  for (std::size_t r = 0; r < routes_seen; ++r)
    for (std::size_t c = 0; c < status_classes; ++c)
      sample(out, "bfast_responses_total",
             label("code", classes[c]) + "," + label("route", routes.name(r)),
             static_cast<std::int64_t>(responses[r][c].load(std::memory_order_relaxed)));

  // Only the pairs that happened: every pair on every route would be thousands of zeros.
  counter_header(out, "bfast_decisions_total",
                 "Exchanges by decision (transcoded, json, passthrough, rejected, request_refused, "
                 "error, tunnel), reason and route: the access log's decision and reason.");
  const auto& table = decision_labels();
  for (std::size_t r = 0; r < routes_seen; ++r)
    for (std::size_t i = 0; i < table.size(); ++i)
      if (const auto v = decisions[r][i].load(std::memory_order_relaxed); v > 0)
        sample(out, "bfast_decisions_total",
               label("decision", table[i].decision) + "," + label("reason", table[i].reason) + "," +
                   label("route", routes.name(r)),
               static_cast<std::int64_t>(v));

  counter_header(out, "bfast_request_duration_seconds",
                 "Request's first byte read to its response's last byte written, by decision.",
                 "histogram");
  for (std::size_t d = 0; d < decision_tokens.size(); ++d)
    request_duration_seconds[d].render_samples(out, "bfast_request_duration_seconds",
                                               label("decision", decision_tokens[d]));
}

std::string metrics::render(bool draining) const {
  std::string out;
  out.reserve(8192);
  counter_header(out, "bfast_requests_total", "Requests read from clients.");
  sample(out, "bfast_requests_total", "", static_cast<std::int64_t>(requests.load()));

  render_route_families(out);
  labelled_counter(out, "bfast_transcoded_total",
                   "Transcoded responses by compression (kept for dashboards; also "
                   "bfast_decisions_total{decision=\"transcoded\"}).",
                   "compress", transcoded_by_compression,
                   [](std::size_t i) { return compression_choice_names[i]; });
  labelled_counter(out, "bfast_json_chosen_total",
                   "JSON responses whose representation the proxy chose, by the coding it applied "
                   "(kept for dashboards; also bfast_decisions_total{decision=\"json\"}).",
                   "coding", json_chosen_by_coding, [](std::size_t i) {
                     return content_coding(static_cast<transport_codec>(i));
                   });
  labelled_counter(out, "bfast_rejected_total", "Requests the proxy answered itself with a 4xx (kept for dashboards; also "
                   "bfast_decisions_total{decision=\"rejected\"}).",
                   "kind", rejected, [](std::size_t i) { return token(static_cast<reject_kind>(i)); });
  labelled_counter(out, "bfast_requests_decode_refused_total",
                   "B-FAST request bodies the proxy would not convert, by reason.", "reason",
                   requests_decode_refused, [](std::size_t i) { return request_refusal_tokens[i]; });
  labelled_counter(out, "bfast_upstream_errors_total", "Upstream failures by kind.", "kind",
                   upstream_errors,
                   [](std::size_t i) { return token(static_cast<upstream_error_kind>(i)); });
  labelled_counter(out, "bfast_tls_handshakes_total",
                   "Client TLS handshakes on the data listener, by result.", "result",
                   tls_handshakes, [](std::size_t i) -> std::string_view {
                     static constexpr std::array<std::string_view, 4> names{
                         "ok", "failed", "timeout", "plain_http"};
                     return names[i];
                   });

  auto plain = [&](std::string_view name, std::string_view help, std::int64_t v,
                   std::string_view type = "counter") {
    counter_header(out, name, help, type);
    sample(out, name, "", v);
  };
  plain("bfast_requests_decoded_total", "B-FAST request bodies converted to JSON and sent up.",
        static_cast<std::int64_t>(requests_decoded.load()));
  counter_header(out, "bfast_request_decode_bytes_total",
                 "Bytes of converted request bodies: in as the clients sent them, out as JSON.");
  sample(out, "bfast_request_decode_bytes_total", label("direction", "in"),
         static_cast<std::int64_t>(request_decode_in_bytes.load()));
  sample(out, "bfast_request_decode_bytes_total", label("direction", "out"),
         static_cast<std::int64_t>(request_decode_out_bytes.load()));
  plain("bfast_responses_aborted_total",
        "Client connections reset because the upstream body ended early.",
        static_cast<std::int64_t>(responses_aborted.load()));
  plain("bfast_upstream_retries_total", "Requests retried after a stale pooled connection.",
        static_cast<std::int64_t>(upstream_retries.load()));
  plain("bfast_upstream_reused_total", "Requests sent on a pooled upstream connection.",
        static_cast<std::int64_t>(upstream_reused.load()));
  plain("bfast_upstream_not_reused_total",
        "Upstream connections closed after a response that did not end cleanly at its framing.",
        static_cast<std::int64_t>(upstream_not_reused.load()));
  plain("bfast_upstream_pool_closed_by_peer_total",
        "Idle pooled upstream connections closed because the upstream sent a byte or EOF.",
        static_cast<std::int64_t>(upstream_pool.closed_by_peer.load()));
  plain("bfast_upstream_pool_expired_total",
        "Idle pooled upstream connections closed by the idle timeout or the idle limit.",
        static_cast<std::int64_t>(upstream_pool.expired.load()));
  plain("bfast_upstream_pool_retired_total",
        "Upstream connections closed because their address is no longer the upstream's.",
        static_cast<std::int64_t>(upstream_pool.retired.load()));
  counter_header(out, "bfast_config_reloads_total",
                 "Reloads (SIGHUP) by result: ok, or invalid (the running configuration kept).");
  sample(out, "bfast_config_reloads_total", label("result", "ok"),
         static_cast<std::int64_t>(config_reloads_ok.load()));
  sample(out, "bfast_config_reloads_total", label("result", "invalid"),
         static_cast<std::int64_t>(config_reloads_invalid.load()));
  plain("bfast_config_last_reload_success", "1 if the last reload was applied (or none was tried).",
        config_last_reload_success.load(), "gauge");
  plain("bfast_config_generation", "The running configuration: 1 at start, +1 per applied reload.",
        config_generation.load(), "gauge");
  plain("bfast_upstream_resolve_failures_total",
        "Failed resolutions of the upstream's name; the last good addresses stay in use.",
        static_cast<std::int64_t>(upstream_resolve_failures.load()));
  plain("bfast_upstream_addresses", "Addresses the upstream's name resolves to now.",
        upstream_addresses.load(), "gauge");
  plain("bfast_connections_accepted_total", "Client connections accepted.",
        static_cast<std::int64_t>(connections_accepted.load()));
  plain("bfast_connections_refused_total", "Client connections closed at once: max_connections.",
        static_cast<std::int64_t>(connections_refused.load()));
  plain("bfast_admin_connections_refused_total",
        "Admin connections closed at once: admin_max_connections.",
        static_cast<std::int64_t>(admin_connections_refused.load()));
  plain("bfast_accept_errors_total",
        "Failed accepts on either listener (e.g. out of descriptors); each pauses it briefly.",
        static_cast<std::int64_t>(accept_errors.load()));
  plain("bfast_readyz_upstream_probes_total",
        "Upstream connects /readyz started while it said the upstream was unreachable.",
        static_cast<std::int64_t>(readyz_probes.load()));
  plain("bfast_access_log_dropped_total",
        "Access log lines dropped: stdout too slow for access_log_buffer_bytes.",
        static_cast<std::int64_t>(access_log_dropped.load()));
  plain("bfast_upstream_body_bytes_total", "Response body bytes read from the upstream.",
        static_cast<std::int64_t>(bytes_from_upstream.load()));
  plain("bfast_client_body_bytes_total", "Response body bytes written to clients.",
        static_cast<std::int64_t>(bytes_to_client.load()));
  plain("bfast_transform_in_bytes_total", "JSON bytes transcoded.",
        static_cast<std::int64_t>(transform_json_bytes.load()));
  plain("bfast_transform_out_bytes_total", "Bytes sent for transcoded responses.",
        static_cast<std::int64_t>(transform_out_bytes.load()));
  plain("bfast_tunnels_total", "Upgraded connections (101 relayed) that became byte tunnels.",
        static_cast<std::int64_t>(tunnels_total.load()));
  plain("bfast_tunnels_refused_total", "Upgrade requests answered 503: max_tunnels open.",
        static_cast<std::int64_t>(tunnels_refused.load()));
  plain("bfast_tunnels_idle_closed_total", "Tunnels closed by tunnel_idle_timeout_ms.",
        static_cast<std::int64_t>(tunnels_idle_closed.load()));
  counter_header(out, "bfast_tunnel_bytes_total", "Bytes relayed through tunnels, by direction.");
  sample(out, "bfast_tunnel_bytes_total", label("direction", "to_upstream"),
         static_cast<std::int64_t>(tunnel_bytes_to_upstream.load()));
  sample(out, "bfast_tunnel_bytes_total", label("direction", "to_client"),
         static_cast<std::int64_t>(tunnel_bytes_to_client.load()));
  plain("bfast_tunnels_open", "Tunnels open now.", tunnels_open.load(), "gauge");
  plain("bfast_open_connections", "Client connections open now.", open_connections.load(), "gauge");
  plain("bfast_http2_connections_open", "HTTP/2 client connections open now.",
        http2_connections_open.load(), "gauge");
  plain("bfast_http2_streams_open", "HTTP/2 streams being served now.", http2_streams_open.load(),
        "gauge");
  plain("bfast_http2_streams_total", "HTTP/2 streams opened by clients.",
        static_cast<std::int64_t>(http2_streams_total.load()));
  plain("bfast_http2_streams_refused_total",
        "HTTP/2 streams refused with REFUSED_STREAM: max_connections (streams count with "
        "connections).",
        static_cast<std::int64_t>(http2_streams_refused.load()));
  counter_header(out, "bfast_http2_resets_total",
                 "HTTP/2 RST_STREAM frames, by direction and error code.");
  for (std::size_t i = 0; i < http2_error_codes; ++i) {
    sample(out, "bfast_http2_resets_total",
           label("direction", "sent") + "," + label("code", http2_error_name(i)),
           static_cast<std::int64_t>(http2_resets_sent[i].load()));
    sample(out, "bfast_http2_resets_total",
           label("direction", "received") + "," + label("code", http2_error_name(i)),
           static_cast<std::int64_t>(http2_resets_received[i].load()));
  }
  labelled_counter(out, "bfast_http2_goaway_total", "HTTP/2 GOAWAY frames sent, by error code.",
                   "code", http2_goaway, [](std::size_t i) { return http2_error_name(i); });
  plain("bfast_transforms_in_flight", "Responses being buffered or transcoded now.",
        transforms_in_flight.load(), "gauge");
  plain("bfast_transform_memory_bytes", "Memory reserved by transforms in flight.",
        transform_memory_bytes.load(), "gauge");
  plain("bfast_draining", "1 while the proxy drains for shutdown.", draining ? 1 : 0, "gauge");
  counter_header(out, "bfast_build_info", "The version and git commit built; always 1.", "gauge");
  sample(out, "bfast_build_info",
         label("version", build_info::version) + "," + label("commit", build_info::commit), std::int64_t{1});
  transcode_seconds.render(out, "bfast_transcode_seconds", "Time to transcode one body.");
  compress_seconds.render(out, "bfast_compress_seconds", "Time to compress one body.");
  upstream_latency_seconds.render(out, "bfast_upstream_latency_seconds",
                                  "Upstream request sent to response header received.");
  render_process(out);
  return out;
}

void metrics::render_process(std::string& out) {
  const process_stats p = read_process_stats();
  if (p.proc_ok) {
    counter_header(out, "process_cpu_seconds_total", "User and system CPU time spent in seconds.");
    sample(out, "process_cpu_seconds_total", "", p.cpu_seconds);
    counter_header(out, "process_resident_memory_bytes", "Resident memory size in bytes.", "gauge");
    sample(out, "process_resident_memory_bytes", "", static_cast<std::int64_t>(p.resident_bytes));
    counter_header(out, "process_start_time_seconds",
                   "Start time of the process since unix epoch in seconds.", "gauge");
    sample(out, "process_start_time_seconds", "", p.start_time_seconds);
  }
  if (p.open_fds >= 0) {
    counter_header(out, "process_open_fds", "Number of open file descriptors.", "gauge");
    sample(out, "process_open_fds", "", p.open_fds);
  }
  if (p.max_fds >= 0) {
    counter_header(out, "process_max_fds", "Maximum number of open file descriptors.", "gauge");
    sample(out, "process_max_fds", "", p.max_fds);
  }
}

}  // namespace bfast::server
