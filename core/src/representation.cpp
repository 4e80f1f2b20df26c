#include "bfast/representation.hpp"

#include <algorithm>

namespace bfast {
namespace {

// Reason tokens when JSON wins, by its coding, with a known link and with the assumed one.
constexpr std::array<std::string_view, compression_choice_count> json_known_reason = {
    "min_time_json", "", "", "min_time_json_gzip", "min_time_json_zstd"};
constexpr std::array<std::string_view, compression_choice_count> json_default_reason = {
    "default_link_json", "", "", "default_link_json_gzip", "default_link_json_zstd"};

struct json_model {
  const representation_input& in;
  const policy_config& config;
  double rtt;
  double bandwidth;
  double contention;

  [[nodiscard]] policy_estimate estimate(compression_choice c, const codec_speed* codec = nullptr,
                                         int level = 0) const noexcept {
    const double payload = static_cast<double>(in.json_bytes);
    const client_speeds& cl = config.client;
    policy_estimate e;
    e.choice = c;
    e.level = level;
    e.wire_bytes = codec ? payload * codec->ratio : payload;
    if (codec) e.server_s = payload / codec->compress_bytes_per_s * contention;
    e.transfer_s = transfer_seconds(e.wire_bytes, rtt, bandwidth, config,
                                    in.link.window_bytes.value_or(0));
    e.client_s = payload / cl.json_bytes_per_s;
    if (c == compression_choice::gzip) e.client_s += payload / cl.gzip_bytes_per_s;
    if (c == compression_choice::zstd) e.client_s += payload / cl.zstd_bytes_per_s;
    return e;
  }
};

[[nodiscard]] bool measured(const codec_speed& s) noexcept {
  return s.compress_bytes_per_s > 0 && s.ratio > 0;
}

// The best JSON candidate: as sent, or under a coding that saves min_gain of its time.
policy_estimate best_json(const representation_input& in, const server_speeds& speeds,
                          const policy_config& config) {
  const policy_input& link = in.link;
  const json_model m{in, config, link.rtt_s.value_or(config.default_rtt_s),
                     link.bandwidth_bytes_per_s.value_or(config.default_bandwidth_bytes_per_s),
                     arena_contention(link.load)};
  const policy_estimate identity = m.estimate(compression_choice::none);
  policy_estimate best = identity;
  if (link.mode == route_mode::never || config.sizes.too_small(in.json_bytes)) return best;
  auto consider = [&](compression_choice c, const codec_speed& codec, int level) {
    if (!measured(codec)) return;
    const policy_estimate e = m.estimate(c, &codec, level);
    const bool better = link.save_data ? e.wire_bytes < best.wire_bytes
                                       : e.total_s() < best.total_s() &&
                                             e.total_s() <= identity.total_s() * (1.0 - config.min_gain);
    if (better) best = e;
  };
  if (link.accept_gzip) {
    consider(compression_choice::gzip, speeds.json_gzip, speeds.gzip_level);
    if (speeds.gzip_fast_level != speeds.gzip_level)
      consider(compression_choice::gzip, speeds.json_gzip_fast, speeds.gzip_fast_level);
  }
  if (link.accept_zstd) consider(compression_choice::zstd, speeds.json_zstd, speeds.zstd_level);
  return best;
}

}  // namespace

representation_decision choose_representation(const representation_input& in,
                                               const server_speeds& speeds,
                                               const policy_config& config) noexcept {
  representation_decision d;
  const bool link_known =
      in.link.rtt_s.has_value() || in.link.bandwidth_bytes_per_s.has_value();
  if (in.accept_json) {
    d.json = best_json(in, speeds, config);
    d.json_coding = d.json.choice;
    d.json_level = d.json.level;
  }
  if (in.accept_bfast) {
    policy_input p = in.link;
    const double json = static_cast<double>(in.json_bytes);
    const double ratio = speeds.message_ratio > 0
                             ? std::min(speeds.message_ratio, config.message_ratio_before_transcode)
                             : config.message_ratio_before_transcode;
    p.payload_bytes = in.message_bytes.value_or(static_cast<std::size_t>(json * ratio + 1));
    d.bfast = choose_compression(p, speeds, config);
    const double transcode_s = !in.message_bytes && speeds.transcode_bytes_per_s > 0
                                   ? json / speeds.transcode_bytes_per_s
                                   : 0.0;
    d.bfast_total_s = d.bfast.chosen.total_s() + transcode_s;
  }

  auto pick_json = [&](std::string_view reason) {
    d.chosen = representation::json;
    d.reason = !reason.empty() ? reason
               : link_known     ? json_known_reason[static_cast<std::size_t>(d.json_coding)]
                                : json_default_reason[static_cast<std::size_t>(d.json_coding)];
    return d;
  };
  auto pick_bfast = [&] {
    d.chosen = representation::bfast;
    d.reason = d.bfast.reason;
    return d;
  };
  if (!in.accept_bfast) return pick_json({});
  if (!in.accept_json) return pick_bfast();

  const policy_estimate& b = d.bfast.chosen;
  if (in.rule == negotiation::prefer_bfast) {
    // B-FAST unless it is larger and no faster.
    if (b.wire_bytes >= d.json.wire_bytes && d.bfast_total_s >= d.json.total_s())
      return pick_json("bfast_larger");
    return pick_bfast();
  }
  if (in.link.save_data) {
    if (b.wire_bytes < d.json.wire_bytes) return pick_bfast();
    return pick_json("save_data");
  }
  // B-FAST must save min_gain of JSON's time: JSON costs this server nothing to send.
  if (d.bfast_total_s < d.json.total_s() * (1.0 - config.min_gain)) return pick_bfast();
  return pick_json({});
}

}  // namespace bfast
