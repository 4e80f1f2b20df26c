// The representation choice as a table of regimes: body (tiny, medium, huge), link (loopback,
// 1 Gbit/s, Wi-Fi, 4G, 3G, Save-Data), the client's decoder (ts, python, native), what it
// accepts, and the route's rule.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>

#include "bfast/representation.hpp"
#include "fixed_speeds.hpp"

namespace bfast {
namespace {

using test::fixed_speeds;

struct link {
  std::optional<double> rtt_s;
  std::optional<double> bandwidth;
  bool save_data = false;
};
const link loopback{0.0001, 5e9};
const link gigabit{0.002, 125e6};
const link wifi{0.02, 6.25e6};
const link mobile_4g{0.07, 1.5e6};
const link mobile_3g{0.3, 200e3};
const link save_data{0.02, 6.25e6, true};

constexpr std::size_t tiny = 200;
constexpr std::size_t medium = 200 * 1024;
constexpr std::size_t huge = 8 * 1024 * 1024;

enum class takes : std::uint8_t { both, bfast_only, json_only };

struct regime {
  std::string name;
  std::size_t json_bytes;
  link net;
  client_decoder decoder;
  representation expect;
  compression_choice coding;  // B-FAST's compression, or JSON's coding
  std::string_view reason;
  takes accepts = takes::both;
  bool codings = true;        // Accept-Encoding: gzip, zstd
  negotiation rule = negotiation::fastest;
  route_mode mode = route_mode::automatic;
  std::optional<std::size_t> message_bytes = {};  // transcoded already
};

representation_decision decide(const regime& r) {
  representation_input in;
  in.link.rtt_s = r.net.rtt_s;
  in.link.bandwidth_bytes_per_s = r.net.bandwidth;
  in.link.save_data = r.net.save_data;
  in.link.load = {2, 0, 0};
  in.link.mode = r.mode;
  in.link.accept_gzip = in.link.accept_zstd = r.codings;
  in.json_bytes = r.json_bytes;
  in.message_bytes = r.message_bytes;
  in.accept_bfast = r.accepts != takes::json_only;
  in.accept_json = r.accepts != takes::bfast_only;
  in.rule = r.rule;
  policy_config config;
  config.client = speeds_of(r.decoder);
  return choose_representation(in, fixed_speeds(), config);
}

// The proxy's two steps: before the body is transcoded; then, unless JSON won already, with the
// message's real size (`ratio` of the JSON).
representation_decision decide_as_the_proxy_does(regime r, double ratio) {
  const representation_decision first = decide(r);
  if (first.chosen == representation::json) return first;
  r.message_bytes = static_cast<std::size_t>(static_cast<double>(r.json_bytes) * ratio);
  return decide(r);
}

class representation_regimes : public ::testing::TestWithParam<regime> {};

TEST_P(representation_regimes, choice_coding_and_reason) {
  const regime& r = GetParam();
  const representation_decision d = r.message_bytes ? decide(r) : decide_as_the_proxy_does(r, 0.85);
  EXPECT_EQ(representation_name(d.chosen), representation_name(r.expect));
  const compression_choice coding =
      d.chosen == representation::json ? d.json_coding : d.bfast.choice;
  EXPECT_EQ(choice_name(coding), choice_name(r.coding));
  EXPECT_EQ(d.reason, r.reason);
  if (r.accepts == takes::both && r.rule == negotiation::fastest && !r.net.save_data) {
    // B-FAST wins only by min_gain of JSON's time; JSON costs this server nothing to send.
    const double margin = 1.0 - policy_config{}.min_gain;
    if (d.chosen == representation::json) EXPECT_GE(d.bfast_total_s, d.json.total_s() * margin);
    else EXPECT_LT(d.bfast_total_s, d.json.total_s() * margin);
  }
}

using c = compression_choice;
constexpr auto json = representation::json;
constexpr auto bfast = representation::bfast;
constexpr auto ts = client_decoder::ts;
constexpr auto py = client_decoder::python;
constexpr auto native = client_decoder::native;

INSTANTIATE_TEST_SUITE_P(
    table, representation_regimes,
    ::testing::Values(
        // Tiny bodies: nothing to gain from either; JSON costs this server nothing.
        regime{"tiny_loopback_ts", tiny, loopback, ts, json, c::none, "min_time_json"},
        regime{"tiny_3g_ts", tiny, mobile_3g, ts, json, c::none, "min_time_json"},
        regime{"tiny_3g_native", tiny, mobile_3g, native, json, c::none, "min_time_json"},
        // B-FAST that came out larger than the JSON is never sent when JSON is acceptable.
        regime{"tiny_larger_message", 106, wifi, native, json, c::none, "min_time_json",
               takes::both, true, negotiation::fastest, route_mode::automatic, 131},
        regime{"tiny_larger_prefer_bfast", 106, wifi, native, json, c::none, "bfast_larger",
               takes::both, true, negotiation::prefer_bfast, route_mode::automatic, 131},
        // Loopback: the link is free, so the fastest parser wins and nothing is compressed.
        regime{"medium_loopback_ts", medium, loopback, ts, json, c::none, "min_time_json"},
        regime{"huge_loopback_ts", huge, loopback, ts, json, c::none, "min_time_json"},
        // ... for the ts decoder; one that reads B-FAST as fast as JSON gets the smaller message
        // once it is transcoded.
        regime{"huge_loopback_python", huge, loopback, py, bfast, c::none, "fast_link"},
        regime{"huge_loopback_native", huge, loopback, native, bfast, c::none, "fast_link"},
        // 1 Gbit/s: slow-start rounds make a coding pay for itself on JSON.
        regime{"medium_gigabit_ts", medium, gigabit, ts, json, c::zstd, "min_time_json_zstd"},
        regime{"huge_gigabit_ts", huge, gigabit, ts, json, c::zstd, "min_time_json_zstd"},
        // ... unless the client decodes B-FAST natively: LZ4 inflates and reads faster than
        // JSON parses.
        regime{"huge_gigabit_native", huge, gigabit, native, bfast, c::lz4_parallel,
               "min_time_lz4_parallel"},
        // Wi-Fi and 4G: JSON under zstd is within a few per cent of B-FAST's size and parses
        // faster than the deployed decoders read B-FAST.
        regime{"medium_wifi_ts", medium, wifi, ts, json, c::zstd, "min_time_json_zstd"},
        regime{"huge_wifi_ts", huge, wifi, ts, json, c::zstd, "min_time_json_zstd"},
        // 4G: B-FAST's message under zstd is a tenth smaller; over 12 Mbit/s that pays for the
        // slower decoder.
        regime{"huge_4g_ts", huge, mobile_4g, ts, bfast, c::zstd, "min_time_zstd"},
        // 3G: bytes dominate, and B-FAST under gzip is the smallest body.
        regime{"medium_3g_ts", medium, mobile_3g, ts, bfast, c::gzip, "min_time_gzip"},
        regime{"huge_3g_ts", huge, mobile_3g, ts, bfast, c::gzip, "min_time_gzip"},
        regime{"huge_3g_python", huge, mobile_3g, py, bfast, c::gzip, "min_time_gzip"},
        // Without Accept-Encoding, JSON can only go as it is: B-FAST + LZ4 wins on slow links.
        regime{"huge_3g_no_codings", huge, mobile_3g, ts, bfast, c::lz4_parallel,
               "min_time_lz4_parallel", takes::both, false},
        regime{"huge_wifi_no_codings_ts", huge, wifi, ts, bfast, c::lz4_parallel,
               "min_time_lz4_parallel", takes::both, false},
        regime{"huge_gigabit_no_codings_ts", huge, gigabit, ts, json, c::none, "min_time_json",
               takes::both, false},
        // Save-Data: the fewest bytes.
        regime{"huge_save_data", huge, save_data, ts, bfast, c::gzip, "save_data"},
        regime{"tiny_save_data", tiny, save_data, ts, bfast, c::none, "small_body"},
        // Only one side acceptable: the best of that side.
        regime{"bfast_only_loopback", huge, loopback, ts, bfast, c::none, "fast_link",
               takes::bfast_only},
        regime{"bfast_only_tiny_larger", 106, wifi, ts, bfast, c::none, "small_body",
               takes::bfast_only, true, negotiation::fastest, route_mode::automatic, 131},
        regime{"json_only_3g", huge, mobile_3g, ts, json, c::zstd, "min_time_json_zstd",
               takes::json_only},
        regime{"json_only_gigabit_never", huge, gigabit, ts, json, c::none, "min_time_json",
               takes::json_only, true, negotiation::fastest, route_mode::never},
        // prefer_bfast: B-FAST unless larger and no faster, whatever JSON's speed.
        regime{"prefer_bfast_loopback", huge, loopback, ts, bfast, c::none, "fast_link",
               takes::both, true, negotiation::prefer_bfast},
        // compress: never holds for JSON too; B-FAST's smaller message still wins on 3G.
        regime{"never_3g", huge, mobile_3g, ts, bfast, c::none, "mode_never", takes::both, true,
               negotiation::fastest, route_mode::never}),
    [](const auto& info) { return info.param.name; });

// Every body size on every link for every decoder, accepting both and gzip and zstd, decided as
// the proxy decides (before transcoding, then on a message 0.85 of the JSON): the winner as
// "json+<coding>" or "bfast+<compression>", columns ts, python, native. Once transcoded, a body
// goes as B-FAST to a client that decodes it about as fast as JSON (python, native), since its
// message is smaller; the ts decoder needs a slow link for that. Tiny bodies stay JSON
// (Save-Data aside: B-FAST's message is fewer bytes); loopback is JSON; slow links favour the
// smallest body; the faster a client decodes B-FAST, the sooner B-FAST pays.
struct grid_row {
  std::string_view size;
  std::size_t json_bytes;
  link net;
  std::string_view link_name;
  std::array<std::string_view, 3> winner;  // ts, python, native
};

const grid_row grid[] = {
    {"tiny", tiny, loopback, "loopback", {"json+none", "json+none", "json+none"}},
    {"tiny", tiny, gigabit, "gigabit", {"json+none", "json+none", "json+none"}},
    {"tiny", tiny, wifi, "wifi", {"json+none", "json+none", "json+none"}},
    {"tiny", tiny, mobile_4g, "4g", {"json+none", "json+none", "json+none"}},
    {"tiny", tiny, mobile_3g, "3g", {"json+none", "json+none", "json+none"}},
    {"tiny", tiny, save_data, "save_data", {"bfast+none", "bfast+none", "bfast+none"}},
    {"medium", medium, loopback, "loopback", {"json+none", "bfast+none", "bfast+none"}},
    {"medium", medium, gigabit, "gigabit", {"json+zstd", "bfast+zstd", "bfast+zstd"}},
    {"medium", medium, wifi, "wifi", {"json+zstd", "bfast+zstd", "bfast+zstd"}},
    {"medium", medium, mobile_4g, "4g", {"json+zstd", "json+zstd", "bfast+zstd"}},
    {"medium", medium, mobile_3g, "3g", {"bfast+gzip", "bfast+gzip", "bfast+gzip"}},
    {"medium", medium, save_data, "save_data", {"bfast+gzip", "bfast+gzip", "bfast+gzip"}},
    {"huge", huge, loopback, "loopback", {"json+none", "bfast+none", "bfast+none"}},
    {"huge", huge, gigabit, "gigabit", {"json+zstd", "bfast+lz4-parallel", "bfast+lz4-parallel"}},
    {"huge", huge, wifi, "wifi", {"json+zstd", "bfast+zstd", "bfast+zstd"}},
    {"huge", huge, mobile_4g, "4g", {"bfast+zstd", "bfast+zstd", "bfast+zstd"}},
    {"huge", huge, mobile_3g, "3g", {"bfast+gzip", "bfast+gzip", "bfast+gzip"}},
    {"huge", huge, save_data, "save_data", {"bfast+gzip", "bfast+gzip", "bfast+gzip"}},
};

TEST(representation, grid_of_sizes_links_and_decoders) {
  for (const grid_row& g : grid) {
    for (std::size_t i = 0; i < 3; ++i) {
      const regime r{"", g.json_bytes, g.net, static_cast<client_decoder>(i), json, c::none, ""};
      const representation_decision d = decide_as_the_proxy_does(r, 0.85);
      const compression_choice coding =
          d.chosen == representation::json ? d.json_coding : d.bfast.choice;
      const std::string got =
          std::string(representation_name(d.chosen)) + "+" + std::string(choice_name(coding));
      EXPECT_EQ(got, g.winner[i]) << g.size << " " << g.link_name << " "
                                  << client_decoder_names[i];
    }
  }
}

TEST(representation, transcoding_counts_only_while_it_is_ahead) {
  regime r{"", medium, mobile_3g, ts, bfast, c::gzip, ""};
  const representation_decision before = decide(r);
  r.message_bytes = static_cast<std::size_t>(medium * 0.45 + 1);  // the estimate, exactly
  const representation_decision after = decide(r);
  EXPECT_NEAR(before.bfast_total_s - after.bfast_total_s, medium / 600e6, 1e-9);
}

TEST(representation, before_transcoding_json_wins_only_against_a_small_message) {
  // ts on loopback: JSON beats even a message 0.45 of the JSON, so nothing is transcoded.
  EXPECT_EQ(decide(regime{"", huge, loopback, ts, json, c::none, ""}).chosen, representation::json);
  // python: a message that small would win, so the body is transcoded and its size decides.
  EXPECT_EQ(decide(regime{"", huge, loopback, py, json, c::none, ""}).chosen, representation::bfast);
  // The calibrated ratio is used where it is smaller still.
  server_speeds small = fixed_speeds();
  small.message_ratio = 0.1;
  representation_input in;
  in.link.rtt_s = 0.3;
  in.link.bandwidth_bytes_per_s = 200e3;
  in.json_bytes = medium;
  in.accept_bfast = in.accept_json = true;
  const auto d = choose_representation(in, small, policy_config{});
  EXPECT_EQ(d.bfast.candidates[0].wire_bytes, static_cast<double>(static_cast<std::size_t>(medium * 0.1 + 1)));
}

TEST(representation, a_measured_message_replaces_the_estimate) {
  // Estimated at 0.85 of the JSON, B-FAST wins on 3G; measured at 1.2, it loses.
  regime r{"", medium, mobile_3g, ts, bfast, c::gzip, ""};
  EXPECT_EQ(decide(r).chosen, representation::bfast);
  r.message_bytes = medium * 6 / 5;
  EXPECT_EQ(decide(r).chosen, representation::json);
}

TEST(representation, decoder_profiles_differ_where_measured) {
  const client_speeds t = speeds_of(client_decoder::ts);
  const client_speeds p = speeds_of(client_decoder::python);
  const client_speeds n = speeds_of(client_decoder::native);
  EXPECT_EQ(t.decode_bytes_per_s, client_speeds{}.decode_bytes_per_s);  // ts is the default
  EXPECT_LT(t.decode_bytes_per_s, t.json_bytes_per_s);  // the premise of this choice
  EXPECT_GT(p.decode_bytes_per_s, t.decode_bytes_per_s);
  EXPECT_GT(n.decode_bytes_per_s, n.json_bytes_per_s);
  for (std::string_view name : client_decoder_names)
    EXPECT_EQ(client_decoder_names[static_cast<std::size_t>(*parse_client_decoder(name))], name);
  EXPECT_FALSE(parse_client_decoder("TS"));
  EXPECT_EQ(parse_negotiation("prefer_bfast"), negotiation::prefer_bfast);
  EXPECT_FALSE(parse_negotiation("fast"));
}

}  // namespace
}  // namespace bfast
