// Counters the admin listener exposes in the Prometheus text format. Everything is a relaxed
// atomic: sessions on every I/O thread bump them, and a scrape reads a consistent-enough view.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "bfast/coding.hpp"
#include "bfast/filter/decision.hpp"
#include "bfast/filter/exchange.hpp"

namespace bfast::server {

class histogram {
 public:
  static constexpr std::array<double, 16> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                 1,      2.5,     5,      10};
  void observe(double seconds) noexcept;
  void render(std::string& out, std::string_view name, std::string_view help) const;
  // The samples only, each with `labels` before `le` (a labelled family's member).
  void render_samples(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};
};

// Why the proxy answered by itself instead of forwarding.
enum class reject_kind : std::uint8_t {
  bad_request,
  smuggling,
  header_too_large,
  body_too_large,
  expectation_failed,
  method_not_allowed,
  bad_host,      // HTTP/1.1 without exactly one valid Host, or a bad absolute-form target
  bad_chunked,   // malformed chunked body, or a chunk line or trailer past its bound
  count_,
};

enum class upstream_error_kind : std::uint8_t {
  connect_refused,
  connect_timeout,
  header_timeout,
  bad_response,
  reset_before_response,
  body_reset,
  body_timeout,
  send_timeout,  // the request body stalled on its way up
  tls_verify,     // the upstream's certificate was refused
  tls_handshake,  // the TLS handshake with the upstream failed otherwise
  count_,
};

// How a client's TLS handshake on the data listener ended.
enum class tls_handshake_result : std::uint8_t { ok, failed, timeout, plain_http, count_ };

// Why a B-FAST request body was not converted: the tokens of BFast-Status, in a fixed order.
inline constexpr std::array<std::string_view, 16> request_refusal_tokens{
    "unsupported_encoding", "bad_content_encoding", "message_too_large", "json_too_large",
    "nan", "overloaded", "bad_magic", "bad_version", "truncated", "bad_tag",
    "bad_key_index", "too_deep", "invalid_utf8", "too_large", "bad_compression", "body_too_large"};

[[nodiscard]] std::string_view token(reject_kind k) noexcept;
[[nodiscard]] std::string_view token(upstream_error_kind k) noexcept;

// The route label of the per-route families: a route's prefix. Routes come from the
// configuration (labelled at start and on each reload), and reloads may bring new prefixes, so
// the first `route_label_bound` keep a label of their own and any later one counts as "other";
// "none" is a request no route matched, or one refused before its route was known. Labels are
// never removed.
inline constexpr std::size_t route_label_bound = 32;

class route_labels {
 public:
  static constexpr std::size_t none = 0;
  static constexpr std::size_t other = 1;
  static constexpr std::size_t slots = route_label_bound + 2;

  // The slot of `prefix`, taken on first sight while there is room.
  [[nodiscard]] std::size_t slot_of(std::string_view prefix);
  [[nodiscard]] std::size_t size() const noexcept { return used_.load(std::memory_order_acquire); }
  // Valid below size(): a slot's name is written once, before size() counts it.
  [[nodiscard]] std::string_view name(std::size_t slot) const noexcept { return names_[slot]; }

 private:
  std::array<std::string, slots> names_{"none", "other"};
  std::atomic<std::size_t> used_{2};
  std::mutex add_;
};

// The decision family's label pairs: the access log's decision and reason. For transcoded and
// json the reason is the coding the proxy applied; the last pair is "other".
struct decision_label {
  std::string_view decision;
  std::string_view reason;
};
inline constexpr std::array<std::string_view, 4> exchange_error_tokens{
    "client_closed", "upstream_error", "upstream_timeout", "upstream_tls"};
inline constexpr std::array<std::string_view, 4> tunnel_end_tokens{"client_gone", "idle_timeout",
                                                                   "broken", "closed"};
inline constexpr std::array<std::string_view, 3> json_coding_tokens{"identity", "gzip", "zstd"};
inline constexpr std::size_t decision_label_count =
    (filter::reason_count - 2) + compression_choice_count + json_coding_tokens.size() +
    (static_cast<std::size_t>(reject_kind::count_) + 1) + request_refusal_tokens.size() +
    exchange_error_tokens.size() + tunnel_end_tokens.size() + 1;
[[nodiscard]] const std::array<decision_label, decision_label_count>& decision_labels() noexcept;
[[nodiscard]] std::size_t decision_label_index(std::string_view decision,
                                               std::string_view reason) noexcept;

// The request duration histogram's decision label: the decisions of decision_labels().
inline constexpr std::array<std::string_view, 8> decision_tokens{
    "transcoded", "json", "passthrough", "rejected", "request_refused", "error", "tunnel", "other"};

// 1xx..5xx.
inline constexpr std::size_t status_classes = 5;

// What the upstream pools did with idle connections (every I/O thread's pool adds here).
struct pool_counters {
  std::atomic<std::uint64_t> closed_by_peer{0};  // EOF or a stray byte while idle
  std::atomic<std::uint64_t> expired{0};         // idle past the timeout, or past max_idle
  std::atomic<std::uint64_t> retired{0};         // its address is no longer the upstream's
};

// HTTP/2 error codes (RFC 9113 §7), 0..13, as labels.
inline constexpr std::size_t http2_error_codes = 14;
[[nodiscard]] std::string_view http2_error_name(std::size_t code) noexcept;

struct metrics {
  route_labels routes;
  // By route, then class: every response the proxy wrote, its own and the upstream's.
  std::array<std::array<std::atomic<std::uint64_t>, status_classes>, route_labels::slots>
      responses{};
  // By route, then decision_labels(): every exchange that ended in a response, once.
  std::array<std::array<std::atomic<std::uint64_t>, decision_label_count>, route_labels::slots>
      decisions{};
  // From the request's first byte to its response's last byte written, by decision_tokens.
  std::array<histogram, decision_tokens.size()> request_duration_seconds;
  std::array<std::atomic<std::uint64_t>, compression_choice_count> transcoded_by_compression{};
  // JSON chosen over B-FAST (or coded for a JSON-only client), by transport_codec.
  std::array<std::atomic<std::uint64_t>, 3> json_chosen_by_coding{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(reject_kind::count_)> rejected{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(upstream_error_kind::count_)>
      upstream_errors{};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(tls_handshake_result::count_)>
      tls_handshakes{};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> responses_aborted{0};   // truncated upstream body: client reset
  std::atomic<std::uint64_t> upstream_retries{0};    // stale pooled connection, retried once
  std::atomic<std::uint64_t> upstream_reused{0};     // requests sent on a pooled connection
  std::atomic<std::uint64_t> upstream_not_reused{0}; // closed after a response: not clean
  pool_counters upstream_pool;
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0}; // over max_connections
  std::atomic<std::uint64_t> admin_connections_refused{0};  // over admin_max_connections
  std::atomic<std::uint64_t> accept_errors{0};       // failed accepts (out of descriptors...)
  std::atomic<std::uint64_t> readyz_probes{0};       // upstream connects /readyz started
  std::atomic<std::uint64_t> access_log_dropped{0};  // lines past access_log_buffer_bytes
  std::atomic<std::uint64_t> bytes_from_upstream{0}; // response body bytes read
  std::atomic<std::uint64_t> bytes_to_client{0};     // response body bytes written
  std::atomic<std::uint64_t> requests_decoded{0};         // B-FAST request bodies sent up as JSON
  std::array<std::atomic<std::uint64_t>, request_refusal_tokens.size()> requests_decode_refused{};
  std::atomic<std::uint64_t> request_decode_in_bytes{0};  // their bodies as the clients sent them
  std::atomic<std::uint64_t> request_decode_out_bytes{0}; // the JSON sent up
  std::atomic<std::uint64_t> transform_json_bytes{0};
  std::atomic<std::uint64_t> transform_out_bytes{0};
  std::atomic<std::uint64_t> config_reloads_ok{0};
  std::atomic<std::uint64_t> config_reloads_invalid{0};  // refused: the old one kept
  std::atomic<std::int64_t> config_last_reload_success{1};
  std::atomic<std::int64_t> config_generation{1};        // 1 at start, +1 per applied reload
  std::atomic<std::uint64_t> upstream_resolve_failures{0};  // the last good addresses kept
  std::atomic<std::int64_t> upstream_addresses{0};
  std::atomic<std::uint64_t> tunnels_total{0};        // 101s relayed: tunnels opened
  std::atomic<std::uint64_t> tunnels_refused{0};      // upgrade requests past max_tunnels: 503
  std::atomic<std::uint64_t> tunnels_idle_closed{0};  // closed by tunnel_idle_timeout_ms
  std::atomic<std::uint64_t> tunnel_bytes_to_upstream{0};
  std::atomic<std::uint64_t> tunnel_bytes_to_client{0};
  std::atomic<std::int64_t> tunnels_open{0};
  std::atomic<std::int64_t> open_connections{0};
  std::atomic<std::int64_t> http2_connections_open{0};
  std::atomic<std::int64_t> http2_streams_open{0};
  std::atomic<std::uint64_t> http2_streams_total{0};
  std::atomic<std::uint64_t> http2_streams_refused{0};  // past max_connections
  std::array<std::atomic<std::uint64_t>, http2_error_codes> http2_resets_sent{};
  std::array<std::atomic<std::uint64_t>, http2_error_codes> http2_resets_received{};
  std::array<std::atomic<std::uint64_t>, http2_error_codes> http2_goaway{};  // sent, by code
  std::atomic<std::int64_t> transforms_in_flight{0};
  std::atomic<std::int64_t> transform_memory_bytes{0};
  histogram transcode_seconds;
  histogram compress_seconds;
  histogram upstream_latency_seconds;  // request sent to response header received

  // The filter's decisions are counted with the rest of the exchange, by count_exchange.
  void count_response(std::size_t route_slot, unsigned status) noexcept;
  void count_exchange(std::size_t route_slot, std::string_view decision, std::string_view reason,
                      double seconds) noexcept;
  void count(reject_kind k) noexcept {
    rejected[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  }
  void count_request_refused(std::string_view reason) noexcept {
    for (std::size_t i = 0; i < request_refusal_tokens.size(); ++i)
      if (request_refusal_tokens[i] == reason)
        requests_decode_refused[i].fetch_add(1, std::memory_order_relaxed);
  }
  void count(tls_handshake_result r) noexcept {
    tls_handshakes[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(upstream_error_kind k) noexcept {
    upstream_errors[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] std::string render(bool draining) const;

 private:
  void render_route_families(std::string& out) const;
  static void render_process(std::string& out);
};

}  // namespace bfast::server
