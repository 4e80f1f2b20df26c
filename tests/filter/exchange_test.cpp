#include "bfast/filter/exchange.hpp"

#include <gtest/gtest.h>

namespace bfast::filter {
namespace {

using outcome = exchange_filter::outcome;

request_facts accepting(std::string_view accept, bool codings = false) {
  request_facts r;
  r.accept = accept;
  r.has_accept = true;
  r.coding_accepted = codings;
  return r;
}

http::fields json_response() {
  http::fields f;
  f.set(http::field::content_type, "application/json");
  f.set(http::field::content_length, "100");
  return f;
}

TEST(exchange_filter, negotiates_only_on_enabled_routes) {
  exchange_filter on;
  on.on_request(accepting("application/x-bfast"), route_facts{true, 1000});
  EXPECT_TRUE(on.negotiated());
  exchange_filter off;
  off.on_request(accepting("application/x-bfast"), route_facts{false, 1000});
  EXPECT_FALSE(off.negotiated());
}

TEST(exchange_filter, a_passthrough_is_counted_once_with_its_reason) {
  exchange_filter f;
  f.on_request(accepting("application/json"), route_facts{});
  http::fields res = json_response();
  const header_decision d = f.on_response_header(200, res);
  EXPECT_FALSE(d.transform);
  EXPECT_EQ(f.result(), exchange_filter::outcome::passthrough);
  EXPECT_EQ(f.reason_token(), "not_acceptable");
  // A later body phase cannot count the exchange a second time.
  f.pass_body(reason::overloaded, res);
  EXPECT_NE(f.result(), outcome::undecided);
  EXPECT_EQ(f.why(), reason::not_acceptable);
}

TEST(exchange_filter, a_transform_is_counted_when_the_body_phase_ends) {
  exchange_filter f;
  f.on_request(accepting("application/x-bfast"), route_facts{});
  http::fields res = json_response();
  EXPECT_TRUE(f.on_response_header(200, res).transform);
  EXPECT_EQ(f.result(), outcome::undecided);
  EXPECT_EQ(f.reason_token(), "");
  transformed_body body;
  body.json_bytes = 100;
  body.body_bytes = 40;
  body.compress = "lz4";
  body.policy_reason = "fast_link";
  f.transformed(res, body);
  EXPECT_NE(f.result(), outcome::undecided);
  EXPECT_EQ(f.decision_token(), "transcoded");
  EXPECT_EQ(res[http::field::content_type], "application/x-bfast");
  EXPECT_EQ(res[http::field::content_length], "40");
}

TEST(exchange_filter, a_body_phase_fallback_names_its_reason) {
  exchange_filter f;
  f.on_request(accepting("application/x-bfast"), route_facts{});
  http::fields res = json_response();
  ASSERT_TRUE(f.on_response_header(200, res).transform);
  f.pass_body(reason::too_deep, res);
  EXPECT_EQ(f.why(), reason::too_deep);
  EXPECT_EQ(res["BFast-Status"], "passthrough; reason=too_deep");
  EXPECT_EQ(f.decision_token(), "passthrough");
}

TEST(exchange_filter, a_304_for_the_variant_carries_the_variant_etag) {
  exchange_filter f;
  f.on_request(accepting("application/x-bfast"), route_facts{});
  http::fields res;
  res.set(http::field::etag, "\"abc\"");
  EXPECT_FALSE(f.on_response_header(304, res).transform);
  EXPECT_EQ(res[http::field::etag], "W/\"abc-bfast\"");
  EXPECT_EQ(f.reason_token(), "status");
}

TEST(exchange_filter, candidates_follow_accept_and_the_route_rule) {
  struct row {
    std::string_view accept;
    negotiation rule;
    bool compress_json;
    bool codings;
    bool bfast, json, chooses;
  };
  const row rows[] = {
      {"application/x-bfast", negotiation::fastest, false, true, true, false, true},
      {"application/x-bfast, application/json;q=0.9", negotiation::fastest, false, true, true, true, true},
      // Under fastest any q > 0 makes B-FAST a candidate; under prefer_bfast only a q as high as JSON's.
      {"application/x-bfast;q=0.5, application/json", negotiation::fastest, false, false, true, true, true},
      {"application/x-bfast;q=0.5, application/json", negotiation::prefer_bfast, false, false, false, true, false},
      {"application/x-bfast, */*;q=0.1", negotiation::prefer_bfast, false, false, true, true, true},
      // JSON-only clients: the proxy chooses only where the route codes JSON and a coding is accepted.
      {"application/json", negotiation::fastest, false, true, false, true, false},
      {"application/json", negotiation::fastest, true, false, false, true, false},
      {"application/json", negotiation::fastest, true, true, false, true, true},
      {"text/html", negotiation::fastest, true, true, false, false, false},
  };
  for (const row& r : rows) {
    exchange_filter f;
    route_facts route;
    route.rule = r.rule;
    route.compress_json = r.compress_json;
    f.on_request(accepting(r.accept, r.codings), route);
    EXPECT_EQ(f.negotiated(), r.bfast) << r.accept;
    EXPECT_EQ(f.json_acceptable(), r.json) << r.accept;
    EXPECT_EQ(f.chooses(), r.chooses) << r.accept;
  }
  exchange_filter none;
  request_facts absent;  // no Accept at all: anything, so JSON
  none.on_request(absent, route_facts{});
  EXPECT_TRUE(none.json_acceptable());
  EXPECT_FALSE(none.negotiated());
}

TEST(exchange_filter, json_chosen_is_counted_once_with_the_policy_reason) {
  exchange_filter f;
  f.on_request(accepting("application/x-bfast, application/json;q=0.9", true), route_facts{});
  http::fields res = json_response();
  res.set(http::field::etag, "\"abc\"");
  ASSERT_TRUE(f.on_response_header(200, res).transform);
  EXPECT_EQ(f.result(), outcome::undecided);
  json_body body;
  body.json_bytes = 100;
  body.body_bytes = 40;
  body.coding = "gzip";
  body.policy_reason = "min_time_json_gzip";
  f.json_chosen(res, body);
  EXPECT_NE(f.result(), outcome::undecided);
  EXPECT_EQ(f.why(), reason::json_chosen);
  EXPECT_EQ(f.decision_token(), "json");
  EXPECT_EQ(f.reason_token(), "min_time_json_gzip");
  EXPECT_EQ(res[http::field::content_encoding], "gzip");
  EXPECT_EQ(res[http::field::content_length], "40");
  EXPECT_EQ(res[http::field::etag], "W/\"abc\"");  // coded bytes: a weak validator
  EXPECT_EQ(res[http::field::vary], "Accept, Accept-Encoding");
  EXPECT_EQ(res[status_header_name], "json; coding=gzip; in=100; out=40; reason=min_time_json_gzip");
  http::fields other = json_response();
  f.pass_body(reason::overloaded, other);  // a second decision does not replace the first
  EXPECT_EQ(f.why(), reason::json_chosen);
  EXPECT_EQ(f.decision_token(), "json");
}

TEST(exchange_filter, a_not_modified_keeps_the_json_tag_the_client_held) {
  for (const bool held_variant : {false, true}) {
    exchange_filter f;
    request_facts r = accepting("application/x-bfast, application/json;q=0.9");
    r.if_none_match = held_variant ? "W/\"abc-bfast\"" : "\"abc\"";
    f.on_request(r, route_facts{});
    http::fields res;
    res.set(http::field::etag, "\"abc\"");
    (void)f.on_response_header(304, res);
    EXPECT_EQ(res[http::field::etag], held_variant ? "W/\"abc-bfast\"" : "\"abc\"");
  }
}

TEST(exchange_filter, a_not_modified_for_json_carries_the_vary_of_its_200) {
  for (const char* accept : {"application/json", "application/x-bfast, application/json;q=0.9"}) {
    exchange_filter f;
    request_facts r = accepting(accept);
    r.if_none_match = "\"abc\"";
    f.on_request(r, route_facts{});
    http::fields ok = json_response();
    // The JSON variant's 200: passed through, or chosen by the proxy when it had the choice.
    if (f.on_response_header(200, ok).transform) f.json_chosen(ok, json_body{});
    exchange_filter g;
    g.on_request(r, route_facts{});
    http::fields res;
    res.set(http::field::etag, "\"abc\"");
    (void)g.on_response_header(304, res);
    EXPECT_EQ(res[http::field::vary], ok[http::field::vary]) << accept;
    EXPECT_EQ(res[http::field::vary], "Accept, Accept-Encoding") << accept;
  }
}

}  // namespace
}  // namespace bfast::filter
