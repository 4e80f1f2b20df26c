// Whether and how to compress one B-FAST response: a pure function of what is known about the
// body, the client, the link and the server, with a reason token the proxy echoes and counts.
//
// Cost model (seconds until the client holds the decoded value), for each candidate c:
//   total(c)    = server(c) + transfer(wire(c)) + client(c)
//   wire(c)     = payload * ratio(c)                       ratio measured by calibrate()
//   server(c)   = payload / (speed(c) * threads) * (1 + arena backlog / concurrency)
//   transfer(b) = rtt * ceil(log2(1 + b / window)) + b / bandwidth              (TCP slow start)
//   window      = the client socket's congestion window when known (a warm connection sends
//                 most bodies in one round), else initcwnd * mss (a new or idle one)
//   client(c)   = payload / client_decode + payload / client_decompress(c)     (none: no inflate)
// The candidates: none, LZ4 (single or parallel), and when Accept-Encoding allows them gzip at its
// thorough and its fast level, and zstd. The smallest total wins; compression must beat `none` by
// min_gain. Save-Data picks the fewest wire bytes instead. Unknown RTT or bandwidth take the
// configured defaults (reason default_link_*). The proxy passes the client's RTT as the larger of
// its hint and the socket's, and its Downlink hint (see filter/network_hints.hpp).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bfast/coding.hpp"
#include "bfast/compress_arena.hpp"

namespace bfast {

struct codec_speed {
  double compress_bytes_per_s = 0;  // input bytes per second on one thread; 0: not measured
  double ratio = 1;                 // wire bytes / input bytes
};

// This server's codecs, measured at start-up by calibrate() (see calibrate.hpp). gzip is
// measured at two levels: the thorough one for slow links, and a fast one for links where the
// thorough level's server time costs more than its extra bytes save.
struct server_speeds {
  codec_speed lz4;
  codec_speed gzip;
  codec_speed gzip_fast;
  codec_speed zstd;
  // The same transport codecs over JSON text, for clients that accept JSON as well.
  codec_speed json_gzip;
  codec_speed json_gzip_fast;
  codec_speed json_zstd;
  // JSON -> B-FAST on one thread: JSON bytes per second, and message bytes per JSON byte (the
  // estimate of the message before the body is transcoded). 0: not measured.
  double transcode_bytes_per_s = 0;
  double message_ratio = 0;
  int gzip_level = 6;
  int gzip_fast_level = 1;
  int zstd_level = 3;
};

// The client's side: how fast it turns bytes into a value. Each deployed decoder has a profile
// (client_decoder); the defaults are the deployed TypeScript decoder in node, as the load-test kit
// measures it (loadtest/, "Decoder speeds"). LZ4 is undone by lz4js inside that decoder, after the
// last byte; gzip and zstd natively by the HTTP stack, while the body arrives. Each route may set
// its own (config: client_decoder, client_*_bytes_per_s), and a client may name its decoder in a
// request header (filter/client_decoder.hpp).
struct client_speeds {
  double decode_bytes_per_s = 80e6;    // B-FAST message bytes per second
  double json_bytes_per_s = 250e6;     // JSON text bytes per second (JSON.parse, json.loads)
  double lz4_bytes_per_s = 300e6;      // uncompressed bytes per second out of lz4js
  double gzip_bytes_per_s = 420e6;     // uncompressed bytes per second, native inflate
  // node 20 has no zstd; browsers inflate it natively, about twice as fast as gzip.
  double zstd_bytes_per_s = 800e6;
};

// The decoders clients run: the deployed TypeScript one (node, browsers), the deployed Python
// one (a Rust extension; json.loads beside it), and a native one (Rust, C++).
enum class client_decoder : std::uint8_t { ts, python, native };

inline constexpr std::array<std::string_view, 3> client_decoder_names = {"ts", "python", "native"};

[[nodiscard]] constexpr std::optional<client_decoder> parse_client_decoder(std::string_view s) noexcept {
  for (std::size_t i = 0; i < client_decoder_names.size(); ++i)
    if (client_decoder_names[i] == s) return static_cast<client_decoder>(i);
  return std::nullopt;
}

// The measured speeds of each profile (see the definitions for where they come from).
[[nodiscard]] client_speeds speeds_of(client_decoder d) noexcept;

struct policy_config {
  compression_sizes sizes;
  int max_threads = 0;                     // per response; 0: the arena's concurrency
  double default_rtt_s = 0.05;             // assumed when the client's RTT is unknown
  double default_bandwidth_bytes_per_s = 1.25e6;  // 10 Mbit/s, assumed when unknown
  double initcwnd_segments = 10;
  double mss_bytes = 1460;
  double min_gain = 0.02;                  // compression must save this fraction of none's time
  // Before a body is transcoded its message is assumed this small against the JSON (at most;
  // the calibrated ratio when lower): JSON is then chosen without transcoding only where it beats
  // a message that small. The realworld corpus runs from 0.19 to 0.89 (twitter.json 0.48), while
  // the calibration's records give 0.87.
  double message_ratio_before_transcode = 0.45;
  client_speeds client;
};

struct policy_input {
  std::size_t payload_bytes = 0;           // the uncompressed message (or an estimate of it)
  std::optional<double> rtt_s;             // client round-trip time, when known
  std::optional<double> bandwidth_bytes_per_s;  // client downlink, when known
  std::optional<double> window_bytes;      // the congestion window the body will start with
  bool save_data = false;                  // Save-Data: on; bytes matter more than CPU
  arena_load load;
  route_mode mode = route_mode::automatic;
  bool accept_gzip = false;                // Accept-Encoding allows gzip
  bool accept_zstd = false;
};

struct policy_estimate {
  compression_choice choice = compression_choice::none;
  int threads = 1;
  int level = 0;                   // gzip / zstd: the level estimated
  double wire_bytes = 0;
  double server_s = 0;
  double transfer_s = 0;
  double client_s = 0;
  [[nodiscard]] double total_s() const noexcept { return server_s + transfer_s + client_s; }
};

struct compression_decision {
  compression_choice choice = compression_choice::none;
  int threads = 1;                 // lz4-parallel: threads for this response
  int level = 0;                   // gzip / zstd: the level to apply (the one estimated)
  std::string_view reason;         // snake_case token, static storage
  policy_estimate chosen;          // the estimate of the choice (of `none` for small_body, mode_never)
  std::array<policy_estimate, compression_choice_count> candidates{};  // every estimate made, for logs and -v
  std::size_t candidate_count = 0;
};

// How much longer work waits on a saturated arena: 1 when a slot is free, else 1 + the backlog
// per slot.
[[nodiscard]] double arena_contention(const arena_load& load) noexcept;

[[nodiscard]] compression_decision choose_compression(const policy_input& in,
                                                      const server_speeds& speeds,
                                                      const policy_config& config) noexcept;

// The slow-start and bandwidth term of the model, exposed for tests and logs.
// `window_bytes` 0: the configured initial window.
[[nodiscard]] double transfer_seconds(double wire_bytes, double rtt_s, double bandwidth_bytes_per_s,
                                      const policy_config& config,
                                      double window_bytes = 0) noexcept;

}  // namespace bfast
