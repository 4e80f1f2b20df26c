// Whether and how to compress one B-FAST response: a pure function of what is known about the
// body, the client, the link and the server, with a reason token the proxy echoes and counts.
//
// Cost model (seconds until the client holds the decoded value), for each candidate c:
//   total(c)    = server(c) + transfer(wire(c)) + client(c)
//   wire(c)     = payload * ratio(c)                       ratio measured by calibrate()
//   server(c)   = payload / (speed(c) * threads) * (1 + arena backlog / concurrency)
//   transfer(b) = rtt * ceil(log2(1 + b / (initcwnd * mss))) + b / bandwidth   (TCP slow start)
//   client(c)   = payload / client_decode + payload / client_decompress(c)     (none: no inflate)
// The smallest total wins; compression must beat `none` by min_gain. Save-Data picks the fewest
// wire bytes instead. Unknown RTT or bandwidth take the configured defaults (reason default_link_*).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bfast/compress_arena.hpp"

namespace bfast {

enum class route_mode : std::uint8_t { automatic, always, never };

enum class compression_choice : std::uint8_t { none, lz4, lz4_parallel, gzip, zstd };

// "none", "lz4", "lz4-parallel", "gzip", "zstd".
[[nodiscard]] std::string_view choice_name(compression_choice c) noexcept;

struct codec_speed {
  double compress_bytes_per_s = 0;  // input bytes per second on one thread; 0: not measured
  double ratio = 1;                 // wire bytes / input bytes
};

// This server's codecs, measured at start-up by calibrate() (see calibrate.hpp).
struct server_speeds {
  codec_speed lz4;
  codec_speed gzip;
  codec_speed zstd;
  int gzip_level = 6;
  int zstd_level = 3;
};

// The client's side. Defaults come from the deployed TypeScript decoder measured on 50,000 records
// (8.5 MB of JSON): 142 ms for raw B-FAST, 206 ms with LZ4 (lz4js), taking the message as about
// 6.3 MB; gzip and zstd are undone natively by the HTTP stack. Configure them per deployment.
struct client_speeds {
  double decode_bytes_per_s = 44e6;    // B-FAST message bytes per second
  double lz4_bytes_per_s = 98e6;       // uncompressed bytes per second out of lz4js
  double gzip_bytes_per_s = 300e6;     // uncompressed bytes per second, native inflate
  double zstd_bytes_per_s = 600e6;
};

struct policy_config {
  std::size_t min_bytes = 257;             // smaller bodies are never compressed
  std::size_t parallel_threshold = 1'000'000;
  std::size_t chunk_bytes = std::size_t{256} * 1024;
  int max_threads = 0;                     // per response; 0: the arena's concurrency
  double default_rtt_s = 0.05;             // assumed when the client's RTT is unknown
  double default_bandwidth_bytes_per_s = 1.25e6;  // 10 Mbit/s, assumed when unknown
  double initcwnd_segments = 10;
  double mss_bytes = 1460;
  double min_gain = 0.02;                  // compression must save this fraction of none's time
  client_speeds client;
};

struct policy_input {
  std::size_t payload_bytes = 0;           // the uncompressed message (or an estimate of it)
  std::optional<double> rtt_s;             // client round-trip time, when known
  std::optional<double> bandwidth_bytes_per_s;  // client downlink, when known
  bool save_data = false;                  // Save-Data: on; bytes matter more than CPU
  arena_load load;
  route_mode mode = route_mode::automatic;
  bool accept_gzip = false;                // Accept-Encoding allows gzip
  bool accept_zstd = false;
};

struct policy_estimate {
  compression_choice choice = compression_choice::none;
  int threads = 1;
  double wire_bytes = 0;
  double server_s = 0;
  double transfer_s = 0;
  double client_s = 0;
  [[nodiscard]] double total_s() const noexcept { return server_s + transfer_s + client_s; }
};

struct compression_decision {
  compression_choice choice = compression_choice::none;
  int threads = 1;                 // lz4-parallel: threads for this response
  int level = 0;                   // gzip / zstd: the level the speeds were measured at
  std::string_view reason;         // snake_case token, static storage
  policy_estimate chosen;          // the estimate of the choice (zero for rule-based choices)
  std::array<policy_estimate, 4> candidates{};  // every estimate made, for logs and -v
  std::size_t candidate_count = 0;
};

[[nodiscard]] compression_decision choose_compression(const policy_input& in,
                                                      const server_speeds& speeds,
                                                      const policy_config& config) noexcept;

// The slow-start and bandwidth term of the model, exposed for tests and logs.
[[nodiscard]] double transfer_seconds(double wire_bytes, double rtt_s, double bandwidth_bytes_per_s,
                                      const policy_config& config) noexcept;

}  // namespace bfast
