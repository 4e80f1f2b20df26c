// The request direction's conversion: decode_to_json's text exactly, with its bounds, the NaN
// refusal, the codings undone, and every allocation asked of the memory gate first.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bfast/compress.hpp"
#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/request_decode.hpp"
#include "bfast/transport.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::span<const std::uint8_t> span_of(const std::vector<std::uint8_t>& v) { return {v.data(), v.size()}; }

struct refusing_gate final : memory_gate {
  std::size_t allow = 0;
  std::size_t asked = 0;
  bool reserve(std::size_t bytes) noexcept override {
    asked += bytes;
    return asked <= allow;
  }
};

TEST(request_decode, same_text_as_decode_to_json) {
  const auto m = encode(R"({"a":[1,2.5,"s\n",null,true,1e400,-0.0],"b":{"c":9007199254740993}})").bytes;
  std::string ref, json;
  ASSERT_TRUE(decode_to_json(span_of(m), ref).ok());
  const auto r = decode_request_body(transport_codec::identity, span_of(m), {}, json);
  ASSERT_TRUE(r.ok()) << r.reason();
  EXPECT_EQ(json, ref);
  EXPECT_EQ(r.json_bytes, json.size());
  EXPECT_EQ(r.message_bytes, m.size());
}

TEST(request_decode, bytes_uuid_and_dates_as_decode_to_json) {
  message_builder b;
  b.key("b").key("u").key("d");
  b.u8(tag::object).u32(0).sized(tag::bytes, std::string("\x00\xff\"", 3));
  b.u32(1).sized(tag::uuid, "12345678123412341234123456789abc");
  b.u32(2).sized(tag::datetime, "2024-01-02T03:04:05").u8(tag::object_end);
  const auto m = b.build();
  std::string json;
  ASSERT_TRUE(decode_request_body(transport_codec::identity, span_of(m), {}, json).ok());
  EXPECT_EQ(json, R"({"b":"AP8i","u":"12345678-1234-1234-1234-123456789abc","d":"2024-01-02T03:04:05"})");
}

TEST(request_decode, nan_is_refused_infinity_is_1e999) {
  message_builder nan;
  nan.u8(tag::array).u32(1).u8(tag::float64_array).u32(2).f64(1.0).f64(std::nan(""));
  std::string json;
  const auto r = decode_request_body(transport_codec::identity, span_of(nan.build()), {}, json);
  EXPECT_EQ(r.refusal, request_refusal::nan);
  EXPECT_EQ(r.reason(), "nan");
  EXPECT_TRUE(json.empty());
  message_builder inf;
  inf.u8(tag::float64).f64(-std::numeric_limits<double>::infinity());
  ASSERT_TRUE(decode_request_body(transport_codec::identity, span_of(inf.build()), {}, json).ok());
  EXPECT_EQ(json, "-1e999");
}

TEST(request_decode, json_bound_is_exact) {
  const auto m = encode(R"([null,null,null])").bytes;  // 16 bytes of JSON
  std::string json;
  request_decode_limits limits;
  limits.max_json_bytes = 16;
  EXPECT_TRUE(decode_request_body(transport_codec::identity, span_of(m), limits, json).ok());
  limits.max_json_bytes = 15;
  const auto r = decode_request_body(transport_codec::identity, span_of(m), limits, json);
  EXPECT_EQ(r.refusal, request_refusal::json_too_large);
  EXPECT_TRUE(r.too_large());
}

TEST(request_decode, lz4_bomb_refused_before_allocation) {
  std::vector<std::uint8_t> bomb{0xF0, 0xFF, 0xFF, 0x0F, 0x00, 0x00, 0x00, 0x00};
  refusing_gate gate;
  std::string json;
  const auto r = decode_request_body(transport_codec::identity, span_of(bomb), {}, json, &gate);
  EXPECT_EQ(r.refusal, request_refusal::message_too_large);
  EXPECT_EQ(gate.asked, 0u);
}

TEST(request_decode, gzip_and_zstd_bombs_stop_at_the_bound) {
  std::vector<std::uint8_t> big(std::size_t{4} << 20, 0);
  big[0] = 'B';
  big[1] = 'F';
  transport_encoder codec;
  request_decode_limits limits;
  limits.max_message_bytes = 1 << 20;
  for (const auto c : {transport_codec::gzip, transport_codec::zstd}) {
    byte_buffer coded;
    ASSERT_TRUE(codec.encode(c, 1, span_of(big), coded));
    std::string json;
    EXPECT_EQ(decode_request_body(c, coded.span(), limits, json).refusal,
              request_refusal::message_too_large);
    // A stream cut short before the bound is broken, not a bomb.
    const auto small = encode(R"({"a":"some text to compress"})").bytes;
    ASSERT_TRUE(codec.encode(c, 1, span_of(small), coded));
    const std::vector<std::uint8_t> broken(coded.data(), coded.data() + coded.size() / 2);
    EXPECT_EQ(decode_request_body(c, span_of(broken), limits, json).refusal,
              request_refusal::bad_content_encoding);
  }
}

TEST(request_decode, lz4_layouts_and_codings_agree) {
  std::string doc = "[";
  for (int i = 0; i < 5000; ++i) doc += (i ? ",{\"id\":" : "{\"id\":") + std::to_string(i) + "}";
  doc += "]";
  const auto m = encode(doc).bytes;
  std::string ref;
  ASSERT_TRUE(decode_to_json(span_of(m), ref).ok());
  for (const auto layout : {message_layout::lz4_single, message_layout::lz4_parallel}) {
    lz4_options o;
    o.layout = layout;
    o.sizes.chunk_bytes = 4096;
    lz4_compressor lz4(nullptr, o);
    byte_buffer packed;
    ASSERT_TRUE(lz4.compress(span_of(m), packed).ok());
    for (const auto c : {transport_codec::identity, transport_codec::gzip, transport_codec::zstd}) {
      byte_buffer coded;
      transport_encoder codec;
      ASSERT_TRUE(codec.encode(c, 1, packed.span(), coded));
      std::string json;
      const auto r = decode_request_body(c, coded.span(), {}, json);
      ASSERT_TRUE(r.ok()) << r.reason();
      EXPECT_EQ(r.layout, layout);
      EXPECT_EQ(json, ref);
    }
  }
}

TEST(request_decode, every_allocation_goes_through_the_gate) {
  const auto m = encode(R"({"k":"a value of some length"})").bytes;
  refusing_gate gate;
  std::string json;
  EXPECT_EQ(decode_request_body(transport_codec::identity, span_of(m), {}, json, &gate).refusal,
            request_refusal::over_budget);
  EXPECT_EQ(gate.asked, 30u);  // the JSON's exact size, asked before it was written
  EXPECT_TRUE(json.empty());
  gate.allow = 30;
  gate.asked = 0;
  EXPECT_TRUE(decode_request_body(transport_codec::identity, span_of(m), {}, json, &gate).ok());
  EXPECT_EQ(json.size(), 30u);
}

TEST(request_decode, malformed_messages_keep_the_decoders_tokens) {
  const auto m = encode(R"({"a":[1,2,3]})").bytes;
  std::string json;
  for (std::size_t cut = 0; cut < m.size(); ++cut) {
    const std::vector<std::uint8_t> part(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(cut));
    std::string ref;
    const decode_result d = decode_to_json(span_of(part), ref);
    const auto r = decode_request_body(transport_codec::identity, span_of(part), {}, json);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.reason(), reason_token(d.error)) << cut;
  }
}

}  // namespace
}  // namespace bfast::test
