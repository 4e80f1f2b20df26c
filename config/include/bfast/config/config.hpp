// The proxy's configuration: defaults, then a JSON file, then BFAST_PROXY_* environment
// variables, then command-line flags (each beats the one before). Errors name the field.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bfast/coding.hpp"
#include "bfast/config/cidr.hpp"
#include "bfast/policy.hpp"
#include "bfast/representation.hpp"

namespace bfast::config {

struct route_rule {
  std::string prefix = "/";
  bool enabled = true;
  std::uint64_t max_body_bytes = 16ull << 20;
  route_mode compress = route_mode::automatic;  // every coding the proxy applies, JSON's too
  negotiation negotiation_rule = negotiation::fastest;  // when the client accepts JSON and B-FAST
  bool compress_json = false;  // gzip/zstd JSON for clients that accept only JSON (nginx's gzip on)
  bool pack_floats = false;
  // Off: an Upgrade request is served as plain HTTP with Upgrade stripped (Envoy's default).
  bool upgrades = true;
  // Off: an application/x-bfast request body goes up as sent. On: it is converted to JSON.
  bool decode_requests = false;
  std::uint64_t max_request_message_bytes = 16ull << 20;  // after gzip/zstd and LZ4 are undone
  std::uint64_t max_decoded_request_bytes = 32ull << 20;  // the JSON text sent up
  client_speeds client;  // client_decoder, client_*_bytes_per_s: what this route's clients decode at
};

struct endpoint {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string to_string() const;
};

// TLS on the data listener: on when both files are set. The defaults are Mozilla's
// "intermediate" profile: TLS 1.2 and 1.3, ECDHE with AEAD ciphers only.
struct listener_tls {
  std::string certificate;  // PEM, the leaf first, then its chain
  std::string certificate_key;
  std::string min_version = "1.2";  // "1.2" or "1.3"; 1.3 is always the most
  std::string ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
      "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  [[nodiscard]] bool enabled() const { return !certificate.empty(); }
};

// TLS to an https:// upstream.
struct upstream_tls {
  bool enabled = false;   // from the upstream's scheme
  bool verify = true;     // the certificate chain and the name
  std::string ca_file;    // empty: the system's trust store
  std::string server_name;  // SNI and the name checked; empty: the upstream's host
  std::string certificate;  // a client certificate (mTLS), with its key
  std::string certificate_key;
};

struct proxy_config {
  endpoint listen{"127.0.0.1", 8080};
  endpoint admin_listen{"127.0.0.1", 9901};
  std::string upstream = "http://127.0.0.1:8000";
  endpoint upstream_endpoint{"127.0.0.1", 8000};  // parsed from `upstream`
  upstream_tls upstream_tls_settings;
  listener_tls tls;
  // The upstream's name is resolved again this often, so rotating addresses are followed.
  std::uint32_t upstream_resolve_interval_ms = 5'000;  // 0 = resolved once, at start
  unsigned threads = 0;            // I/O threads; 0 = one per usable CPU (affinity, cgroup quota)
  unsigned transform_threads = 0;  // transcoding threads; 0 = one per usable CPU
  // Up to this, a transform costs less than the hop to a transcoding thread and back.
  std::uint64_t transform_inline_max_bytes = 32 * 1024;
  bool access_log = true;
  std::uint64_t access_log_buffer_bytes = 1ull << 20;  // queued lines past it are dropped
  bool request_id = true;  // X-Request-Id made when the client sent none, sent up and back
  bool demo = false;
  bool http2 = true;  // h2 by ALPN on a TLS listener, h2c with prior knowledge on cleartext
  std::uint32_t http2_max_concurrent_streams = 100;
  std::uint32_t http2_max_header_list_bytes = 64 * 1024;
  endpoint demo_listen{"127.0.0.1", 0};

  // Deadlines, in milliseconds.
  std::uint32_t client_header_timeout_ms = 10'000;
  std::uint32_t tls_handshake_timeout_ms = 10'000;
  std::uint32_t keepalive_idle_timeout_ms = 60'000;
  std::uint32_t client_body_idle_timeout_ms = 30'000;
  std::uint32_t client_write_timeout_ms = 30'000;
  std::uint32_t upstream_connect_timeout_ms = 2'000;
  std::uint32_t upstream_header_timeout_ms = 30'000;
  std::uint32_t upstream_body_idle_timeout_ms = 30'000;
  std::uint32_t upstream_pool_idle_timeout_ms = 1'500;  // below gunicorn's 2 s and Node's 5 s
  std::uint32_t drain_delay_ms = 5'000;
  std::uint32_t shutdown_timeout_ms = 30'000;
  // This many upstream connect failures in a row make /readyz 503 until a connect succeeds;
  // 0 = /readyz ignores the upstream.
  std::uint32_t readyz_upstream_failures = 0;
  // HAProxy's `timeout tunnel 1h`: nginx's 60 s cuts WebSocket apps that ping less often.
  std::uint32_t tunnel_idle_timeout_ms = 3'600'000;

  // Limits.
  std::uint32_t max_header_bytes = 60 * 1024;
  std::uint64_t max_request_body_bytes = 16ull << 20;
  std::uint32_t max_connections = 10'000;
  std::uint32_t admin_max_connections = 64;
  std::uint32_t max_tunnels = 1'000;  // upgraded connections open at once; past it, 503
  std::uint64_t transform_memory_budget_bytes = 1024ull << 20;
  std::uint32_t upstream_pool_max_idle = 64;  // idle upstream connections kept per I/O thread

  // Adaptivity.
  std::vector<std::string> trusted_proxies;  // CIDRs whose RTT header and X-Forwarded-* count
  std::vector<cidr> trusted_ranges;          // parsed from trusted_proxies
  std::string client_rtt_header;             // e.g. "X-Client-RTT"; empty = not used

  std::vector<route_rule> routes{route_rule{}};

  // The rule with the longest prefix that matches the path (the target without its query).
  [[nodiscard]] const route_rule& route_for(std::string_view target) const;
};

// Where each setting that is not at its default came from: "file PATH", "env NAME", "flag --x".
using sources_map = std::map<std::string, std::string, std::less<>>;

struct load_result {
  proxy_config config;
  std::vector<std::string> errors;  // empty when the configuration is valid
  bool check_only = false;          // --check-config
  bool show_help = false;           // --help
  bool show_version = false;        // --version
  bool print_only = false;          // --print-config
  sources_map sources;
};

using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

// args excludes the program name. env defaults to the process environment.
[[nodiscard]] load_result load(std::span<const std::string_view> args, const env_lookup& env = {});

// Loads only a JSON document (for tests and for --check-config of a file alone).
[[nodiscard]] load_result load_json_text(std::string_view json_text);

[[nodiscard]] std::string usage();

// Every setting's effective value and its source (default, file, env or flag), one per line.
[[nodiscard]] std::string describe(const load_result& loaded);

// Warnings for BFAST_PROXY_* names (from the process environment) that are no setting: a typo
// would otherwise be ignored in silence. Each names the closest known variable.
[[nodiscard]] std::vector<std::string> unknown_env_warnings(std::span<const std::string_view> names);
[[nodiscard]] std::optional<endpoint> parse_endpoint(std::string_view host_port);

}  // namespace bfast::config
