// Counters the admin listener exposes in the Prometheus text format. Everything is a relaxed
// atomic: sessions on every I/O thread bump them, and a scrape reads a consistent-enough view.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
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

[[nodiscard]] std::string_view token(reject_kind k) noexcept;
[[nodiscard]] std::string_view token(upstream_error_kind k) noexcept;

// What the upstream pools did with idle connections (every I/O thread's pool adds here).
struct pool_counters {
  std::atomic<std::uint64_t> closed_by_peer{0};  // EOF or a stray byte while idle
  std::atomic<std::uint64_t> expired{0};         // idle past the timeout, or past max_idle
  std::atomic<std::uint64_t> retired{0};         // its address is no longer the upstream's
};

// HTTP/2 error codes (RFC 9113 §7), 0..13, as labels.
inline constexpr std::size_t http2_error_codes = 14;
[[nodiscard]] std::string_view http2_error_name(std::size_t code) noexcept;

struct metrics final : filter::decision_sink {
  std::array<std::atomic<std::uint64_t>, filter::reason_count> decisions{};
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
  std::atomic<std::uint64_t> access_log_dropped{0};  // lines past access_log_buffer_bytes
  std::atomic<std::uint64_t> bytes_from_upstream{0}; // response body bytes read
  std::atomic<std::uint64_t> bytes_to_client{0};     // response body bytes written
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

  void count(filter::reason r) noexcept override {
    decisions[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(reject_kind k) noexcept {
    rejected[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(tls_handshake_result r) noexcept {
    tls_handshakes[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  void count(upstream_error_kind k) noexcept {
    upstream_errors[static_cast<std::size_t>(k)].fetch_add(1, std::memory_order_relaxed);
  }

  [[nodiscard]] std::string render(bool draining) const;
};

}  // namespace bfast::server
