#include <gtest/gtest.h>

#include "bfast/filter/request_body.hpp"

namespace bfast::filter {
namespace {

http::fields bfast_request(std::string_view type, std::string_view coding = {}) {
  http::fields f;
  f.set(http::field::content_type, type);
  if (!coding.empty()) f.set(http::field::content_encoding, coding);
  return f;
}

TEST(decide_request_body, only_bfast_bodies_on_routes_that_decode) {
  const auto f = bfast_request("application/x-bfast");
  EXPECT_EQ(decide_request_body(f, true, true).action, request_body_action::decode);
  EXPECT_EQ(decide_request_body(f, true, false).action, request_body_action::pass);
  EXPECT_EQ(decide_request_body(f, false, true).action, request_body_action::pass);
  EXPECT_EQ(decide_request_body(bfast_request("application/json"), true, true).action,
            request_body_action::pass);
  EXPECT_EQ(decide_request_body(bfast_request("application/x-bfast-other"), true, true).action,
            request_body_action::pass);
  EXPECT_EQ(decide_request_body(http::fields{}, true, true).action, request_body_action::pass);
}

TEST(decide_request_body, media_type_parameters_and_case) {
  EXPECT_EQ(decide_request_body(bfast_request(" Application/X-BFAST ; v=1"), true, true).action,
            request_body_action::decode);
}

TEST(decide_request_body, codings) {
  struct row {
    std::string_view coding;
    request_body_action action;
    transport_codec codec;
  };
  const row rows[] = {
      {"identity", request_body_action::decode, transport_codec::identity},
      {"gzip", request_body_action::decode, transport_codec::gzip},
      {"X-GZIP", request_body_action::decode, transport_codec::gzip},
      {"zstd", request_body_action::decode, transport_codec::zstd},
      {"br", request_body_action::unsupported_encoding, transport_codec::identity},
      {"gzip, zstd", request_body_action::unsupported_encoding, transport_codec::identity},
  };
  for (const row& r : rows) {
    const auto d = decide_request_body(bfast_request("application/x-bfast", r.coding), true, true);
    EXPECT_EQ(d.action, r.action) << r.coding;
    EXPECT_EQ(d.coding, r.codec) << r.coding;
  }
}

TEST(rewrite_decoded_request, describes_the_json) {
  http::fields f = bfast_request("application/x-bfast", "gzip");
  f.set(http::field::transfer_encoding, "chunked");
  f.set("Content-Digest", "sha-256=:x:");
  f.set("X-Keep", "1");
  rewrite_decoded_request(f, 10, 42);
  EXPECT_EQ(f[http::field::content_type], "application/json");
  EXPECT_EQ(f[http::field::content_length], "42");
  EXPECT_EQ(f.count(http::field::content_encoding), 0u);
  EXPECT_EQ(f.count(http::field::transfer_encoding), 0u);
  EXPECT_EQ(f.count("Content-Digest"), 0u);
  EXPECT_EQ(f["BFast-Request"], "decoded; in=10; out=42");
  EXPECT_EQ(f["X-Keep"], "1");
  EXPECT_EQ(format_request_refused("truncated"), "request_refused; reason=truncated");
}

}  // namespace
}  // namespace bfast::filter
