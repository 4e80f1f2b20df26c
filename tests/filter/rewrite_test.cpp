#include <gtest/gtest.h>

#include "bfast/filter/headers.hpp"
#include "bfast/filter/rewrite.hpp"

namespace bfast::filter {
namespace {

TEST(valid_switching_response, needs_upgrade_and_no_body_framing) {
  http::fields f;
  EXPECT_FALSE(valid_switching_response(f));
  f.set(http::field::upgrade, "websocket");
  EXPECT_TRUE(valid_switching_response(f));
  f.set(http::field::content_length, "0");
  EXPECT_TRUE(valid_switching_response(f));
  f.set(http::field::content_length, "5");
  EXPECT_FALSE(valid_switching_response(f));
  f.erase(http::field::content_length);
  f.set(http::field::transfer_encoding, "chunked");
  EXPECT_FALSE(valid_switching_response(f));
}

TEST(rewrite_switching_response, keeps_only_the_switch) {
  http::fields f;
  f.set(http::field::connection, "Upgrade, X-Private");
  f.set("X-Private", "1");
  f.set(http::field::upgrade, "websocket");
  f.set(http::field::content_length, "0");
  f.set(http::field::keep_alive, "timeout=5");
  f.set("Sec-WebSocket-Accept", "abc");
  rewrite_switching_response(f);
  EXPECT_EQ(f[http::field::connection], "upgrade");
  EXPECT_EQ(f[http::field::upgrade], "websocket");
  EXPECT_EQ(f.count("X-Private"), 0u);
  EXPECT_EQ(f.count(http::field::content_length), 0u);
  EXPECT_EQ(f.count(http::field::keep_alive), 0u);
  EXPECT_EQ(f["Sec-WebSocket-Accept"], "abc");
}

TEST(rewrite_request_for_upstream, negotiated) {
  http::fields f;
  f.set(http::field::host, "api.example");
  f.set(http::field::accept, "application/x-bfast, application/json;q=0.5");
  f.set(http::field::accept_encoding, "gzip, zstd");
  f.set(http::field::connection, "keep-alive, X-Secret");
  f.set("X-Secret", "1");
  f.set(http::field::expect, "100-continue");
  f.set(http::field::if_none_match, "W/\"abc-bfast\", \"json-tag\"");
  f.set("X-Forwarded-For", "6.6.6.6");
  rewrite_request_for_upstream(f, {"192.0.2.1", "http", false, true});
  EXPECT_EQ(f[http::field::accept], "application/json");
  EXPECT_EQ(f[http::field::accept_encoding], "identity");
  EXPECT_EQ(f.count(http::field::connection), 0u);
  EXPECT_EQ(f.count("X-Secret"), 0u);
  EXPECT_EQ(f.count(http::field::expect), 0u);
  EXPECT_EQ(f[http::field::if_none_match], "\"abc\"");
  EXPECT_EQ(f["X-Forwarded-For"], "192.0.2.1");  // untrusted peer: its chain is not believed
  EXPECT_EQ(f["X-Forwarded-Proto"], "http");
  EXPECT_EQ(f["X-Forwarded-Host"], "api.example");
  EXPECT_EQ(f[http::field::host], "api.example");
}

TEST(rewrite_request_for_upstream, not_negotiated_keeps_the_rest) {
  http::fields f;
  f.set(http::field::accept, "text/html, application/x-bfast;q=0.1");
  f.set(http::field::accept_encoding, "gzip");
  f.set(http::field::if_none_match, "\"json-tag\"");
  f.set("X-Forwarded-For", "10.1.1.1");
  f.set("X-Forwarded-Proto", "https");
  rewrite_request_for_upstream(f, {"10.0.0.2", "http", true, false});
  EXPECT_EQ(f[http::field::accept], "text/html");
  EXPECT_EQ(f[http::field::accept_encoding], "gzip");
  EXPECT_EQ(f[http::field::if_none_match], "\"json-tag\"");
  EXPECT_EQ(f["X-Forwarded-For"], "10.1.1.1, 10.0.0.2");  // trusted ingress: chain kept
  EXPECT_EQ(f["X-Forwarded-Proto"], "https");
}

TEST(rewrite_request_for_upstream, a_client_that_takes_either_keeps_its_json_tags) {
  forward_info info{"192.0.2.1"};
  http::fields g;
  g.set(http::field::accept, "application/x-bfast, application/json;q=0.9");
  g.set(http::field::if_none_match, "W/\"abc-bfast\", \"json-tag\"");
  info.negotiated = info.json_acceptable = true;
  rewrite_request_for_upstream(g, info);
  EXPECT_EQ(g[http::field::accept], "application/json");
  EXPECT_EQ(g[http::field::if_none_match], "\"abc\", \"json-tag\"");
}

TEST(rewrite_request_for_upstream, only_other_tags_drops_if_none_match) {
  http::fields f;
  f.set(http::field::accept, "application/x-bfast");
  f.set(http::field::if_none_match, "\"json-tag\"");
  rewrite_request_for_upstream(f, {"::1", "http", false, true});
  EXPECT_EQ(f.count(http::field::if_none_match), 0u);
}

TEST(etags, variant_round_trip) {
  EXPECT_EQ(variant_etag("\"abc\""), "W/\"abc-bfast\"");
  EXPECT_EQ(variant_etag("W/\"abc\""), "W/\"abc-bfast\"");
  EXPECT_EQ(variant_etag("abc"), std::nullopt);
  EXPECT_EQ(upstream_etag_of("W/\"abc-bfast\""), "\"abc\"");
  EXPECT_EQ(upstream_etag_of("\"abc-bfast\""), std::nullopt);
  EXPECT_EQ(upstream_etag_of("W/\"abc\""), std::nullopt);
  EXPECT_EQ(map_if_none_match("*"), "*");
  EXPECT_EQ(map_if_none_match("W/\"a-bfast\",W/\"b,c-bfast\""), "\"a\", \"b,c\"");
  EXPECT_EQ(map_if_none_match("\"a\""), std::nullopt);
  // A client that takes JSON too may hold either variant: its JSON tags stay.
  EXPECT_EQ(map_if_none_match("\"a\", W/\"b-bfast\", W/\"c\"", true), "\"a\", \"b\", W/\"c\"");
}

TEST(rewrite_transformed_response, headers) {
  http::fields f;
  f.set(http::field::content_type, "application/json");
  f.set(http::field::content_length, "1000");
  f.set(http::field::accept_ranges, "bytes");
  f.set(http::field::content_md5, "x");
  f.set("Digest", "sha-256=x");
  f.set(http::field::etag, "\"v1\"");
  f.set(http::field::vary, "Origin");
  f.set(http::field::transfer_encoding, "chunked");
  f.set(http::field::cache_control, "max-age=60");
  transformed_body b;
  b.json_bytes = 1000;
  b.body_bytes = 321;
  b.compress = "lz4";
  b.content_encoding = "zstd";
  b.policy_reason = "slow_link";
  rewrite_transformed_response(f, b);
  EXPECT_EQ(f[http::field::content_type], "application/x-bfast");
  EXPECT_EQ(f[http::field::content_length], "321");
  EXPECT_EQ(f[http::field::content_encoding], "zstd");
  EXPECT_EQ(f[http::field::vary], "Origin, Accept, Accept-Encoding");
  EXPECT_EQ(f[http::field::etag], "W/\"v1-bfast\"");
  EXPECT_EQ(f["BFast-Status"], "transcoded; compress=lz4; in=1000; out=321; reason=slow_link");
  EXPECT_EQ(f[http::field::cache_control], "max-age=60");
  for (std::string_view name : dropped_on_transform_headers()) EXPECT_EQ(f.count(name), 0u);
  EXPECT_EQ(f.count(http::field::transfer_encoding), 0u);
}

TEST(rewrite_passthrough_response, vary_and_status) {
  http::fields f;
  f.set(http::field::vary, "accept");
  f.set(http::field::connection, "close");
  header_decision d;
  d.vary_accept = true;
  d.status_header = true;
  rewrite_passthrough_response(f, d, reason::invalid_json);
  EXPECT_EQ(f[http::field::vary], "accept, Accept-Encoding");  // Accept not repeated
  EXPECT_EQ(f["BFast-Status"], "passthrough; reason=invalid_json");
  EXPECT_EQ(f.count(http::field::connection), 0u);

  http::fields g;
  // An upstream's own BFast-Status would pass for this proxy's (upstream_error on its 502).
  g.set("BFast-Status", "upstream_error; reason=connect_refused");
  rewrite_passthrough_response(g, header_decision{}, reason::not_json);
  EXPECT_EQ(g.count("BFast-Status"), 0u);
  EXPECT_EQ(g.count(http::field::vary), 0u);
}

TEST(rewrite_not_modified_for_variant, etag_and_vary) {
  http::fields f;
  f.set(http::field::etag, "\"v1\"");
  rewrite_not_modified_for_variant(f);
  EXPECT_EQ(f[http::field::etag], "W/\"v1-bfast\"");
  EXPECT_EQ(f[http::field::vary], "Accept, Accept-Encoding");
}

TEST(merged_accept_ch, upstream_first_then_the_proxys_without_repeats) {
  EXPECT_EQ(merged_accept_ch(""), "RTT, Downlink, ECT, Save-Data");
  EXPECT_EQ(merged_accept_ch("Sec-CH-UA-Platform, downlink"),
            "Sec-CH-UA-Platform, downlink, RTT, ECT, Save-Data");
  EXPECT_EQ(merged_accept_ch(" , DPR,,DPR "), "DPR, RTT, Downlink, ECT, Save-Data");
  EXPECT_EQ(merged_accept_ch("rtt, ect, save-data, DOWNLINK"), "rtt, ect, save-data, DOWNLINK");
}

TEST(merge_accept_ch, keeps_the_upstreams_hints_on_every_rewrite) {
  http::fields f;
  f.insert("Accept-CH", "Sec-CH-UA-Model");
  f.insert("Accept-CH", "Viewport-Width, RTT");
  header_decision d;
  d.status_header = true;
  rewrite_passthrough_response(f, d, reason::not_acceptable);
  EXPECT_EQ(f.count("Accept-CH"), 1u);
  EXPECT_EQ(f["Accept-CH"], "Sec-CH-UA-Model, Viewport-Width, RTT, Downlink, ECT, Save-Data");

  http::fields t;
  t.set("Accept-CH", "Width");
  transformed_body body;
  rewrite_transformed_response(t, body);
  EXPECT_EQ(t["Accept-CH"], "Width, RTT, Downlink, ECT, Save-Data");

  http::fields j;
  j.set("Accept-CH", "Width");
  rewrite_json_response(j, json_body{});
  EXPECT_EQ(j["Accept-CH"], "Width, RTT, Downlink, ECT, Save-Data");
}

}  // namespace
}  // namespace bfast::filter
