#include <gtest/gtest.h>

#include "bfast/filter/decision.hpp"
#include "bfast/filter/network_hints.hpp"

namespace bfast::filter {
namespace {

struct eligibility_case {
  const char* name;
  unsigned status;
  std::vector<std::pair<std::string, std::string>> headers;
  bool negotiated;
  bool route_enabled;
  bool transform;
  reason why;
  bool vary;
  bool status_header;
};

TEST(decide_on_headers, table) {
  const eligibility_case cases[] = {
      {"json 200", 200, {{"Content-Type", "application/json"}}, true, true, true,
       reason::transcoded, true, true},
      {"json charset", 200, {{"Content-Type", "Application/JSON; charset=utf-8"}}, true, true,
       true, reason::transcoded, true, true},
      {"+json", 200, {{"Content-Type", "application/problem+json"}}, true, true, true,
       reason::transcoded, true, true},
      {"not asked", 200, {{"Content-Type", "application/json"}}, false, true, false,
       reason::not_acceptable, true, true},
      {"route off", 200, {{"Content-Type", "application/json"}}, true, false, false,
       reason::route_disabled, false, true},
      {"404", 404, {{"Content-Type", "application/json"}}, true, true, false, reason::status,
       false, true},
      {"204", 204, {}, true, true, false, reason::status, false, true},
      {"206", 206, {{"Content-Type", "application/json"}}, true, true, false, reason::status,
       false, true},
      {"304", 304, {}, false, true, false, reason::status, true, false},
      {"304 html", 304, {{"Content-Type", "text/html"}}, false, true, false, reason::status, false,
       false},
      {"html", 200, {{"Content-Type", "text/html"}}, true, true, false, reason::not_json, false,
       true},
      {"sse", 200, {{"Content-Type", "text/event-stream"}}, true, true, false, reason::not_json,
       false, true},
      {"ndjson", 200, {{"Content-Type", "application/x-ndjson"}}, true, true, false,
       reason::not_json, false, true},
      {"no type", 200, {}, true, true, false, reason::not_json, false, true},
      {"json-ish", 200, {{"Content-Type", "application/jsonp"}}, true, true, false,
       reason::not_json, false, true},
      {"gzip", 200, {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}}, true,
       true, false, reason::encoded, false, true},
      {"identity", 200, {{"Content-Type", "application/json"}, {"Content-Encoding", "identity"}},
       true, true, true, reason::transcoded, true, true},
      {"no-transform", 200,
       {{"Content-Type", "application/json"}, {"Cache-Control", "public, no-transform"}}, true,
       true, false, reason::no_transform, false, true},
      {"too large", 200, {{"Content-Type", "application/json"}, {"Content-Length", "1001"}}, true,
       true, false, reason::too_large, true, true},
      {"at limit", 200, {{"Content-Type", "application/json"}, {"Content-Length", "1000"}}, true,
       true, true, reason::transcoded, true, true},
  };
  for (const auto& c : cases) {
    http::fields f;
    for (const auto& [n, v] : c.headers) f.insert(n, v);
    exchange_facts facts;
    facts.negotiated = c.negotiated;
    facts.route_enabled = c.route_enabled;
    facts.size_limit = 1000;
    const header_decision d = decide_on_headers(c.status, f, facts);
    EXPECT_EQ(d.transform, c.transform) << c.name;
    EXPECT_EQ(d.why, c.why) << c.name << ": " << reason_token(d.why);
    EXPECT_EQ(d.vary_accept, c.vary) << c.name;
    EXPECT_EQ(d.status_header, c.status_header) << c.name;
  }
}

TEST(reason, tokens_are_distinct_and_match_core) {
  for (std::size_t i = 0; i < reason_count; ++i)
    for (std::size_t j = i + 1; j < reason_count; ++j)
      EXPECT_NE(reason_token(static_cast<reason>(i)), reason_token(static_cast<reason>(j)));
  for (auto e : {transcode_error::invalid_json, transcode_error::key_too_long,
                 transcode_error::too_many_keys, transcode_error::too_deep,
                 transcode_error::lone_surrogate, transcode_error::proto_key,
                 transcode_error::too_large, transcode_error::leading_bom,
                 transcode_error::negative_zero})
    EXPECT_EQ(reason_token(reason_from(e)), bfast::reason_token(e));
}

TEST(status_header, formats) {
  EXPECT_EQ(format_passthrough_status(reason::invalid_json), "passthrough; reason=invalid_json");
  EXPECT_EQ(format_transcoded_status("lz4", 1000, 300, "slow_link"),
            "transcoded; compress=lz4; in=1000; out=300; reason=slow_link");
}

TEST(client_hints, parse) {
  http::fields f;
  f.set("RTT", "125");
  f.set("Downlink", "1.75");
  f.set("ECT", "3g");
  f.set("Save-Data", "on");
  const client_network n = read_client_hints(f);
  ASSERT_TRUE(n.rtt_ms);
  EXPECT_EQ(*n.rtt_ms, 125u);
  EXPECT_EQ(n.rtt_from, rtt_source::client_hint);
  ASSERT_TRUE(n.downlink_kbps);
  EXPECT_EQ(*n.downlink_kbps, 1750u);
  ASSERT_TRUE(n.ect_rtt_ms);
  EXPECT_EQ(*n.ect_rtt_ms, 270u);
  EXPECT_TRUE(n.save_data);

  http::fields bad;
  bad.set("RTT", "fast");
  bad.set("Downlink", "-1");
  bad.set("Save-Data", "off");
  const client_network m = read_client_hints(bad);
  EXPECT_FALSE(m.rtt_ms);
  EXPECT_FALSE(m.downlink_kbps);
  EXPECT_FALSE(m.save_data);

  EXPECT_EQ(parse_rtt_ms("12"), 12u);
  EXPECT_EQ(parse_rtt_ms(" 12.6ms "), 13u);
  EXPECT_FALSE(parse_rtt_ms("x12"));
  EXPECT_FALSE(parse_rtt_ms(""));
}

TEST(client_hints, socket_measure_only_raises_rtt_and_lifts_the_capped_downlink) {
  struct row {
    const char* name;
    std::optional<std::uint32_t> hint_rtt;
    std::optional<std::uint64_t> hint_kbps;
    socket_measure socket;
    std::optional<std::uint32_t> rtt;
    rtt_source from;
    std::optional<std::uint64_t> kbps;
  };
  const row rows[] = {
      // Behind a relay the socket sees loopback: the client's own figures stand.
      {"relay", 300, 1600, {0, 80'000'000}, 300, rtt_source::client_hint, 1600},
      {"no hints", {}, {}, {40, 20'000}, 40, rtt_source::tcp_info, 20'000},
      {"socket slower", 20, 50'000, {90, 5'000}, 90, rtt_source::tcp_info, 50'000},
      // 10 Mbps is the browsers' cap: a faster measured delivery rate replaces it.
      {"capped downlink", 50, 10'000, {2, 400'000}, 50, rtt_source::client_hint, 400'000},
      {"capped, slower socket", 50, 10'000, {2, 3'000}, 50, rtt_source::client_hint, 10'000},
      {"nothing", {}, {}, {}, {}, rtt_source::none, {}},
  };
  for (const row& r : rows) {
    client_network n;
    n.rtt_ms = r.hint_rtt;
    if (r.hint_rtt) n.rtt_from = rtt_source::client_hint;
    n.downlink_kbps = r.hint_kbps;
    const client_network m = with_socket_measure(n, r.socket);
    EXPECT_EQ(m.rtt_ms, r.rtt) << r.name;
    EXPECT_EQ(m.rtt_from, r.from) << r.name;
    EXPECT_EQ(m.downlink_kbps, r.kbps) << r.name;
    EXPECT_FALSE(m.window_bytes) << r.name;
  }
  // The congestion window can only come from the socket.
  client_network n;
  n.rtt_ms = 50;
  EXPECT_EQ(with_socket_measure(n, {{}, {}, 640'000}).window_bytes, 640'000u);
}

TEST(decide_on_headers, a_not_modified_varies_as_its_200_would) {
  exchange_facts plain;  // a client that did not ask for B-FAST: its 200 still varies
  http::fields bare;
  bare.set(http::field::etag, "\"v1\"");
  header_decision d = decide_on_headers(304, bare, plain);
  EXPECT_FALSE(d.transform);
  EXPECT_EQ(d.why, reason::status);
  EXPECT_TRUE(d.vary_accept);
  EXPECT_FALSE(d.status_header);

  http::fields html;
  html.set(http::field::content_type, "text/html");
  EXPECT_FALSE(decide_on_headers(304, html, plain).vary_accept);
  http::fields fixed;
  fixed.set(http::field::cache_control, "max-age=60, no-transform");
  EXPECT_FALSE(decide_on_headers(304, fixed, plain).vary_accept);
  http::fields coded;
  coded.set(http::field::content_encoding, "gzip");
  EXPECT_FALSE(decide_on_headers(304, coded, plain).vary_accept);
  exchange_facts off;
  off.route_enabled = false;
  EXPECT_FALSE(decide_on_headers(304, bare, off).vary_accept);
}

TEST(status_header, upstream_error) {
  EXPECT_EQ(format_upstream_error_status("connect_refused"),
            "upstream_error; reason=connect_refused");
}

}  // namespace
}  // namespace bfast::filter
