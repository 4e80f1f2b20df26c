// The compression policy as a table of regimes: link (loopback, 1 Gbit/s, 3G, unknown), body
// (tiny, medium, huge), arena (idle, saturated), Save-Data, route mode, accepted encodings.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "bfast/calibrate.hpp"
#include "bfast/policy.hpp"
#include "fixed_speeds.hpp"

namespace bfast {
namespace {

using test::fixed_speeds;

// A slow decoder (the first measurement of the deployed TypeScript one) keeps the table
// independent of the profiles' defaults, which the kit re-measures.
policy_config fixed_config() {
  policy_config c;
  c.client.decode_bytes_per_s = 16e6;
  c.client.lz4_bytes_per_s = 98e6;
  c.client.gzip_bytes_per_s = 300e6;
  c.client.zstd_bytes_per_s = 600e6;
  return c;
}

struct link {
  std::optional<double> rtt_s;
  std::optional<double> bandwidth;
  std::optional<double> window = {};  // the socket's congestion window, when known
};
const link loopback{0.0001, 5e9};
const link gigabit{0.002, 125e6};
const link gigabit_warm{0.002, 125e6, 4e6};  // a warm connection: no slow-start rounds left
const link wifi{0.02, 6.25e6};     // 50 Mbit/s
const link mobile_4g{0.07, 1.5e6};  // 12 Mbit/s
const link mobile_3g{0.3, 200e3};  // 1.6 Mbit/s
const link unknown{};

constexpr std::size_t tiny = 200;
constexpr std::size_t medium = 200 * 1024;
constexpr std::size_t huge = 8 * 1024 * 1024;

const arena_load idle{2, 0, 0};
const arena_load saturated{2, 2, 6};

struct regime {
  std::string name;
  std::size_t payload;
  link net;
  arena_load load;
  bool save_data;
  route_mode mode;
  bool gzip;
  bool zstd;
  compression_choice expect;
  std::string_view reason;
  int threads;    // checked for lz4-parallel only
  int level = 0;  // checked for gzip and zstd when set
};

class policy_regimes : public ::testing::TestWithParam<regime> {};

TEST_P(policy_regimes, decision_and_reason) {
  const regime& r = GetParam();
  policy_input in;
  in.payload_bytes = r.payload;
  in.rtt_s = r.net.rtt_s;
  in.bandwidth_bytes_per_s = r.net.bandwidth;
  in.window_bytes = r.net.window;
  in.load = r.load;
  in.save_data = r.save_data;
  in.mode = r.mode;
  in.accept_gzip = r.gzip;
  in.accept_zstd = r.zstd;
  const compression_decision d = choose_compression(in, fixed_speeds(), fixed_config());
  EXPECT_EQ(choice_name(d.choice), choice_name(r.expect));
  EXPECT_EQ(d.reason, r.reason);
  if (r.expect == compression_choice::lz4_parallel) EXPECT_EQ(d.threads, r.threads);
  if (r.level != 0) EXPECT_EQ(d.level, r.level);
  if (r.expect == compression_choice::none || r.expect == compression_choice::lz4 ||
      r.expect == compression_choice::lz4_parallel)
    EXPECT_EQ(d.level, 0);
  // Pure: the same inputs give the same decision.
  const compression_decision again = choose_compression(in, fixed_speeds(), fixed_config());
  EXPECT_EQ(again.choice, d.choice);
  EXPECT_EQ(again.reason, d.reason);
  EXPECT_EQ(again.threads, d.threads);
}

using c = compression_choice;
const route_mode aut = route_mode::automatic;

INSTANTIATE_TEST_SUITE_P(
    table, policy_regimes,
    ::testing::Values(
        // Tiny bodies are never compressed, whatever the link.
        regime{"tiny_3g", tiny, mobile_3g, idle, false, aut, true, true, c::none, "small_body", 1},
        regime{"tiny_save_data", tiny, mobile_3g, idle, true, aut, true, true, c::none, "small_body", 1},
        regime{"tiny_always", tiny, loopback, idle, false, route_mode::always, false, false, c::none, "small_body", 1},
        // Loopback: transfer is free, compressing only costs time on both ends.
        regime{"medium_loopback", medium, loopback, idle, false, aut, true, true, c::none, "fast_link", 1},
        regime{"huge_loopback", huge, loopback, idle, false, aut, true, true, c::none, "fast_link", 1},
        // 1 Gbit/s: slow-start rounds make LZ4 pay for a medium body; for a huge one the
        // client's lz4js time outweighs the transfer saved.
        regime{"medium_gigabit", medium, gigabit, idle, false, aut, false, false, c::lz4, "min_time_lz4", 1},
        regime{"huge_gigabit", huge, gigabit, idle, false, aut, false, false, c::none, "fast_link", 1},
        // On a warm connection the body needs no slow-start rounds, and the medium body's
        // compression no longer pays either, gzip included.
        regime{"medium_gigabit_warm", medium, gigabit_warm, idle, false, aut, true, false, c::none, "fast_link", 1},
        // 3G: bytes dominate.
        regime{"huge_3g_lz4_only", huge, mobile_3g, idle, false, aut, false, false, c::lz4_parallel, "min_time_lz4_parallel", 2},
        regime{"huge_3g_encodings", huge, mobile_3g, idle, false, aut, true, true, c::gzip, "min_time_gzip", 1, 6},
        regime{"medium_3g_zstd", medium, mobile_3g, idle, false, aut, false, true, c::zstd, "min_time_zstd", 1, 3},
        regime{"medium_3g_lz4", medium, mobile_3g, idle, false, aut, false, false, c::lz4, "min_time_lz4", 1},
        // Between them the level of gzip follows the link: the thorough level where bytes are
        // dear (4G), the fast one where its server time would cost more than the bytes it saves
        // (Wi-Fi), none at all on 1 Gbit/s where even the fast level costs more than it saves.
        regime{"huge_4g_gzip", huge, mobile_4g, idle, false, aut, true, false, c::gzip, "min_time_gzip", 1, 6},
        regime{"huge_wifi_gzip", huge, wifi, idle, false, aut, true, false, c::gzip, "min_time_gzip", 1, 1},
        regime{"huge_gigabit_gzip", huge, gigabit, idle, false, aut, true, false, c::none, "fast_link", 1},
        // A saturated arena: fewer threads, or none at all where the gain was thin.
        regime{"huge_3g_saturated", huge, mobile_3g, saturated, false, aut, false, false, c::lz4_parallel, "min_time_lz4_parallel", 1},
        regime{"medium_gigabit_saturated", medium, gigabit, saturated, false, aut, false, false, c::none, "overloaded", 1},
        // Save-Data: the fewest bytes, even where time says otherwise.
        regime{"save_data_loopback", medium, loopback, idle, true, aut, false, false, c::lz4, "save_data", 1},
        regime{"save_data_encodings", medium, gigabit, idle, true, aut, true, true, c::gzip, "save_data", 1, 6},
        regime{"save_data_huge_saturated", huge, gigabit, saturated, true, aut, false, false, c::lz4_parallel, "save_data", 1},
        // Route modes.
        regime{"never_3g", huge, mobile_3g, idle, true, route_mode::never, true, true, c::none, "mode_never", 1},
        regime{"always_loopback", medium, loopback, idle, false, route_mode::always, true, true, c::lz4, "mode_always", 1},
        regime{"always_huge", huge, loopback, idle, false, route_mode::always, false, false, c::lz4_parallel, "mode_always", 2},
        // Nothing known about the link: the configured defaults (50 ms, 10 Mbit/s).
        regime{"medium_unknown", medium, unknown, idle, false, aut, false, false, c::lz4, "default_link_lz4", 1},
        regime{"huge_unknown", huge, unknown, idle, false, aut, false, false, c::lz4_parallel, "default_link_lz4_parallel", 2},
        regime{"huge_unknown_gzip", huge, unknown, idle, false, aut, true, false, c::gzip, "default_link_gzip", 1, 6}),
    [](const auto& info) { return info.param.name; });

TEST(policy, unmeasured_codecs_are_never_chosen) {
  policy_input in;
  in.payload_bytes = huge;
  in.rtt_s = 0.3;
  in.bandwidth_bytes_per_s = 200e3;
  in.accept_gzip = in.accept_zstd = true;
  in.load = idle;
  const compression_decision d = choose_compression(in, server_speeds{}, policy_config{});
  EXPECT_EQ(d.choice, compression_choice::none);
  EXPECT_EQ(d.candidate_count, 1u);
}

TEST(policy, configuration_bounds_threads_and_thresholds) {
  policy_input in;
  in.payload_bytes = huge;
  in.rtt_s = 0.3;
  in.bandwidth_bytes_per_s = 200e3;
  in.load = {8, 0, 0};
  policy_config config;
  EXPECT_EQ(choose_compression(in, fixed_speeds(), config).threads, 8);
  config.max_threads = 3;
  EXPECT_EQ(choose_compression(in, fixed_speeds(), config).threads, 3);
  in.load = {8, 6, 0};  // two slots left
  EXPECT_EQ(choose_compression(in, fixed_speeds(), config).threads, 2);
  config.sizes.parallel_threshold = huge + 1;
  EXPECT_EQ(choose_compression(in, fixed_speeds(), config).choice, compression_choice::lz4);
  config.sizes.min_bytes = huge + 1;
  EXPECT_EQ(choose_compression(in, fixed_speeds(), config).reason, "small_body");
}

TEST(policy, estimates_follow_the_documented_formula) {
  policy_config config;
  const double window = config.initcwnd_segments * config.mss_bytes;
  EXPECT_DOUBLE_EQ(transfer_seconds(0, 0.1, 1e6, config), 0.0);
  EXPECT_DOUBLE_EQ(transfer_seconds(window, 0.1, 1e6, config), 0.1 + window / 1e6);
  EXPECT_DOUBLE_EQ(transfer_seconds(3 * window, 0.1, 1e6, config), 0.2 + 3 * window / 1e6);
  EXPECT_DOUBLE_EQ(transfer_seconds(3 * window + 1, 0.1, 1e6, config), 0.3 + (3 * window + 1) / 1e6);
  // A known congestion window replaces initcwnd * mss.
  EXPECT_DOUBLE_EQ(transfer_seconds(3 * window + 1, 0.1, 1e6, config, 4 * window),
                   0.1 + (3 * window + 1) / 1e6);

  policy_input in;
  in.payload_bytes = medium;
  in.rtt_s = 0.3;
  in.bandwidth_bytes_per_s = 200e3;
  in.load = idle;
  const compression_decision d = choose_compression(in, fixed_speeds(), config);
  ASSERT_EQ(d.candidate_count, 2u);
  const policy_estimate& lz4 = d.candidates[1];
  EXPECT_DOUBLE_EQ(lz4.wire_bytes, medium * 0.30);
  EXPECT_DOUBLE_EQ(lz4.server_s, medium / 600e6);
  EXPECT_DOUBLE_EQ(lz4.client_s, medium / config.client.decode_bytes_per_s +
                                     medium / config.client.lz4_bytes_per_s);
  EXPECT_DOUBLE_EQ(lz4.transfer_s, transfer_seconds(medium * 0.30, 0.3, 200e3, config));
  EXPECT_DOUBLE_EQ(d.chosen.total_s(), lz4.total_s());
}

// calibrate() measures; the test only checks that it measured something plausible.
TEST(calibration, measures_every_codec_on_the_built_in_sample) {
  calibration_options o;
  o.sample_records = 500;
  o.rounds = 1;
  const server_speeds s = calibrate(o);
  for (const codec_speed& c : {s.lz4, s.gzip, s.gzip_fast, s.zstd}) {
    EXPECT_GT(c.compress_bytes_per_s, 0);
    EXPECT_GT(c.ratio, 0);
    EXPECT_LT(c.ratio, 1);
  }
  EXPECT_EQ(s.gzip_level, 6);
  EXPECT_EQ(s.gzip_fast_level, 1);
  EXPECT_GE(s.gzip_fast.ratio, s.gzip.ratio * 0.99);  // the fast level never compresses better
  EXPECT_EQ(sample_records_json(100), sample_records_json(100));  // deterministic
}

}  // namespace
}  // namespace bfast
