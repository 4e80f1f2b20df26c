#include "bfast/filter/exchange.hpp"

#include <array>

#include <gtest/gtest.h>

namespace bfast::filter {
namespace {

struct tally final : decision_sink {
  std::array<int, reason_count> counts{};
  int total = 0;
  void count(reason r) noexcept override {
    ++counts[static_cast<std::size_t>(r)];
    ++total;
  }
};

http::fields json_response() {
  http::fields f;
  f.set(http::field::content_type, "application/json");
  f.set(http::field::content_length, "100");
  return f;
}

TEST(exchange_filter, negotiates_only_on_enabled_routes) {
  tally t;
  exchange_filter on(t);
  on.on_request("application/x-bfast", route_facts{true, 1000});
  EXPECT_TRUE(on.negotiated());
  exchange_filter off(t);
  off.on_request("application/x-bfast", route_facts{false, 1000});
  EXPECT_FALSE(off.negotiated());
}

TEST(exchange_filter, a_passthrough_is_counted_once_with_its_reason) {
  tally t;
  exchange_filter f(t);
  f.on_request("application/json", route_facts{});
  http::fields res = json_response();
  const header_decision d = f.on_response_header(200, res);
  EXPECT_FALSE(d.transform);
  EXPECT_EQ(f.result(), exchange_filter::outcome::passthrough);
  EXPECT_EQ(f.reason_token(), "not_acceptable");
  // A later body phase cannot count the exchange a second time.
  f.pass_body(reason::overloaded, res);
  EXPECT_EQ(t.total, 1);
  EXPECT_EQ(t.counts[static_cast<std::size_t>(reason::not_acceptable)], 1);
}

TEST(exchange_filter, a_transform_is_counted_when_the_body_phase_ends) {
  tally t;
  exchange_filter f(t);
  f.on_request("application/x-bfast", route_facts{});
  http::fields res = json_response();
  EXPECT_TRUE(f.on_response_header(200, res).transform);
  EXPECT_EQ(t.total, 0);
  EXPECT_EQ(f.reason_token(), "");
  transformed_body body;
  body.json_bytes = 100;
  body.body_bytes = 40;
  body.compress = "lz4";
  body.policy_reason = "fast_link";
  f.transformed(res, body);
  EXPECT_EQ(t.total, 1);
  EXPECT_EQ(f.decision_token(), "transcoded");
  EXPECT_EQ(res[http::field::content_type], "application/x-bfast");
  EXPECT_EQ(res[http::field::content_length], "40");
}

TEST(exchange_filter, a_body_phase_fallback_names_its_reason) {
  tally t;
  exchange_filter f(t);
  f.on_request("application/x-bfast", route_facts{});
  http::fields res = json_response();
  ASSERT_TRUE(f.on_response_header(200, res).transform);
  f.pass_body(reason::too_deep, res);
  EXPECT_EQ(t.counts[static_cast<std::size_t>(reason::too_deep)], 1);
  EXPECT_EQ(res["BFast-Status"], "passthrough; reason=too_deep");
  EXPECT_EQ(f.decision_token(), "passthrough");
}

TEST(exchange_filter, a_304_for_the_variant_carries_the_variant_etag) {
  tally t;
  exchange_filter f(t);
  f.on_request("application/x-bfast", route_facts{});
  http::fields res;
  res.set(http::field::etag, "\"abc\"");
  EXPECT_FALSE(f.on_response_header(304, res).transform);
  EXPECT_EQ(res[http::field::etag], "W/\"abc-bfast\"");
  EXPECT_EQ(f.reason_token(), "status");
}

}  // namespace
}  // namespace bfast::filter
