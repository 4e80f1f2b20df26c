#include "bfast/policy.hpp"

#include <algorithm>
#include <cmath>

namespace bfast {
namespace {

// Reason tokens per chosen codec, with a known link and with the assumed one.
constexpr std::array<std::string_view, compression_choice_count> known_link_reason = {
    "fast_link", "min_time_lz4", "min_time_lz4_parallel", "min_time_gzip", "min_time_zstd"};
constexpr std::array<std::string_view, compression_choice_count> default_link_reason = {
    "default_link_none", "default_link_lz4", "default_link_lz4_parallel", "default_link_gzip",
    "default_link_zstd"};

std::size_t index_of(compression_choice c) noexcept { return static_cast<std::size_t>(c); }

struct model {
  const policy_input& in;
  const server_speeds& speeds;
  const policy_config& config;
  double rtt;
  double bandwidth;
  double payload;
  arena_load load;

  [[nodiscard]] int max_threads() const noexcept {
    int t = config.max_threads > 0 ? config.max_threads : load.concurrency;
    return std::max(1, std::min(t, load.concurrency));
  }

  // Threads the parallel layout can use now: free arena slots, never fewer than one.
  [[nodiscard]] int parallel_threads() const noexcept {
    const double chunks = std::ceil(payload / static_cast<double>(std::max<std::size_t>(config.sizes.chunk_bytes, 1)));
    int t = std::min(max_threads(), std::max(1, load.idle()));
    return std::max(1, std::min(t, static_cast<int>(std::min(chunks, 1e6))));
  }

  [[nodiscard]] double contention() const noexcept { return arena_contention(load); }

  // `codec` and `level`: the measured speed of a transport encoding, for gzip and zstd.
  [[nodiscard]] policy_estimate estimate(compression_choice c, const codec_speed* codec = nullptr,
                                         int level = 0) const noexcept {
    policy_estimate e;
    e.choice = c;
    e.level = level;
    const client_speeds& cl = config.client;
    double client_inflate = 0;
    switch (c) {
      case compression_choice::none:
        e.wire_bytes = payload;
        break;
      case compression_choice::lz4:
      case compression_choice::lz4_parallel:
        e.threads = c == compression_choice::lz4_parallel ? parallel_threads() : 1;
        e.wire_bytes = payload * speeds.lz4.ratio;
        e.server_s = payload / (speeds.lz4.compress_bytes_per_s * e.threads) * contention();
        client_inflate = payload / cl.lz4_bytes_per_s;
        break;
      case compression_choice::gzip:
      case compression_choice::zstd:
        e.wire_bytes = payload * codec->ratio;
        e.server_s = payload / codec->compress_bytes_per_s * contention();
        client_inflate = payload / (c == compression_choice::gzip ? cl.gzip_bytes_per_s
                                                                   : cl.zstd_bytes_per_s);
        break;
    }
    e.transfer_s = transfer_seconds(e.wire_bytes, rtt, bandwidth, config, in.window_bytes.value_or(0));
    e.client_s = payload / cl.decode_bytes_per_s + client_inflate;
    return e;
  }
};

[[nodiscard]] bool measured(const codec_speed& s) noexcept {
  return s.compress_bytes_per_s > 0 && s.ratio > 0;
}

compression_decision rule(compression_choice c, std::string_view reason, int threads = 1) {
  compression_decision d;
  d.choice = c;
  d.reason = reason;
  d.threads = threads;
  return d;
}

// Unknown RTT and bandwidth take the configured defaults.
model model_of(const policy_input& in, const server_speeds& speeds, const policy_config& config,
               arena_load load) {
  return {in,
          speeds,
          config,
          in.rtt_s.value_or(config.default_rtt_s),
          in.bandwidth_bytes_per_s.value_or(config.default_bandwidth_bytes_per_s),
          static_cast<double>(in.payload_bytes),
          load};
}

// The cost-model decision for one arena load.
compression_decision by_cost(const policy_input& in, const server_speeds& speeds,
                             const policy_config& config, arena_load load, bool link_known) {
  const model m = model_of(in, speeds, config, load);
  compression_decision d;
  auto add = [&](compression_choice c, const codec_speed* codec = nullptr, int level = 0) {
    d.candidates[d.candidate_count++] = m.estimate(c, codec, level);
  };
  add(compression_choice::none);
  if (measured(speeds.lz4)) {
    add(config.sizes.parallel(in.payload_bytes) ? compression_choice::lz4_parallel
                                                : compression_choice::lz4);
  }
  if (in.accept_gzip && measured(speeds.gzip))
    add(compression_choice::gzip, &speeds.gzip, speeds.gzip_level);
  if (in.accept_gzip && measured(speeds.gzip_fast) && speeds.gzip_fast_level != speeds.gzip_level)
    add(compression_choice::gzip, &speeds.gzip_fast, speeds.gzip_fast_level);
  if (in.accept_zstd && measured(speeds.zstd))
    add(compression_choice::zstd, &speeds.zstd, speeds.zstd_level);

  const policy_estimate& none = d.candidates[0];
  std::size_t best = 0;
  for (std::size_t i = 1; i < d.candidate_count; ++i) {
    const policy_estimate& e = d.candidates[i];
    const bool better = in.save_data
                            ? e.wire_bytes < d.candidates[best].wire_bytes
                            : e.total_s() < d.candidates[best].total_s();
    if (better) best = i;
  }
  // Compressing must pay for itself by a margin, or the CPU is better left to other requests.
  if (!in.save_data && best != 0 &&
      d.candidates[best].total_s() > none.total_s() * (1.0 - config.min_gain)) {
    best = 0;
  }
  d.chosen = d.candidates[best];
  d.choice = d.chosen.choice;
  d.threads = d.chosen.threads;
  d.level = d.chosen.level;
  if (in.save_data && best != 0) {
    d.reason = "save_data";
  } else {
    d.reason = (link_known ? known_link_reason : default_link_reason)[index_of(d.choice)];
  }
  return d;
}

policy_estimate uncompressed_estimate(const policy_input& in, const server_speeds& speeds,
                                      const policy_config& config, arena_load load) {
  const model m = model_of(in, speeds, config, load);
  return m.estimate(compression_choice::none);
}

}  // namespace

double transfer_seconds(double wire_bytes, double rtt_s, double bandwidth_bytes_per_s,
                        const policy_config& config, double window_bytes) noexcept {
  const double window = std::max(
      1.0, window_bytes > 0 ? window_bytes : config.initcwnd_segments * config.mss_bytes);
  const double rounds = wire_bytes > 0 ? std::ceil(std::log2(1.0 + wire_bytes / window)) : 0.0;
  const double stream = bandwidth_bytes_per_s > 0 ? wire_bytes / bandwidth_bytes_per_s : 0.0;
  return std::max(0.0, rtt_s) * rounds + stream;
}

client_speeds speeds_of(client_decoder d) noexcept {
  // Bytes per second: B-FAST decode, JSON parse, LZ4, gzip and zstd out.
  static constexpr std::array<client_speeds, client_decoder_names.size()> by_decoder = {{
      // ts: the defaults, the deployed TypeScript decoder in node.
      client_speeds{},
      // python: the deployed Rust extension against json.loads (loadtest/, "Decoder speeds"):
      // about as fast per byte as each other; its LZ4 (lz4_flex) costs next to nothing.
      {170e6, 185e6, 2.5e9, 415e6, 1.55e9},
      // native: a compiled decoder reads B-FAST as a copy of strings and fixed-width numbers,
      // as this proxy's own decoder does, well above any JSON parser (simdjson-class here).
      {1e9, 400e6, 2.5e9, 415e6, 1.55e9},
  }};
  return by_decoder[static_cast<std::size_t>(d)];
}

double arena_contention(const arena_load& load) noexcept {
  if (!load.saturated() || load.concurrency <= 0) return 1.0;
  const double backlog = load.busy + load.queued + 1 - load.concurrency;
  return 1.0 + std::max(0.0, backlog) / load.concurrency;
}

compression_decision choose_compression(const policy_input& in, const server_speeds& speeds,
                                        const policy_config& config) noexcept {
  arena_load load = in.load;
  if (load.concurrency <= 0) load.concurrency = 1;
  const bool link_known = in.rtt_s.has_value() || in.bandwidth_bytes_per_s.has_value();
  if (config.sizes.too_small(in.payload_bytes) || in.mode == route_mode::never) {
    // Nothing to choose, but the estimate of sending it as it is still counts against JSON.
    compression_decision r = rule(compression_choice::none,
                                  in.mode == route_mode::never && !config.sizes.too_small(in.payload_bytes)
                                      ? "mode_never"
                                      : "small_body");
    r.chosen = uncompressed_estimate(in, speeds, config, load);
    r.candidates[0] = r.chosen;
    r.candidate_count = 1;
    return r;
  }
  if (in.mode == route_mode::always) {
    // The route asked for LZ4: the model only picks the thread count.
    compression_decision d = by_cost(in, speeds, config, load, link_known);
    const bool parallel = config.sizes.parallel(in.payload_bytes);
    compression_decision r =
        rule(parallel ? compression_choice::lz4_parallel : compression_choice::lz4, "mode_always");
    for (std::size_t i = 0; i < d.candidate_count; ++i) {
      if (d.candidates[i].choice == r.choice) {
        r.chosen = d.candidates[i];
        r.threads = r.chosen.threads;
      }
    }
    r.candidates = d.candidates;
    r.candidate_count = d.candidate_count;
    return r;
  }

  compression_decision d = by_cost(in, speeds, config, load, link_known);
  if (d.choice == compression_choice::none && load.saturated()) {
    // Would an idle arena have compressed? Then the load is the reason not to.
    arena_load idle = load;
    idle.busy = idle.queued = 0;
    if (by_cost(in, speeds, config, idle, link_known).choice != compression_choice::none)
      d.reason = "overloaded";
  }
  return d;
}

}  // namespace bfast
