// encode(): the one place a coding is chosen and applied; the padded input; per-thread scratch
// that gives its pages back after a large body.
#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bfast/calibrate.hpp"
#include "bfast/encode.hpp"
#include "bfast/padded_view.hpp"
#include "bfast/transcoder.hpp"
#include "bfast/transport.hpp"
#include "test_support.hpp"

namespace bfast {
namespace {

std::vector<std::uint8_t> to_vector(const byte_buffer& b) { return {b.data(), b.data() + b.size()}; }

byte_buffer message_of(std::string_view json) {
  transcoder t;
  byte_buffer m;
  EXPECT_TRUE(t.transcode(json, m).ok());
  return m;
}

// Speeds that make the route's forced LZ4 a candidate, so the model picks its thread count.
server_speeds lz4_known() {
  server_speeds s;
  s.lz4 = {1e9, 0.5};
  return s;
}

policy_input forced_lz4() {
  policy_input in;
  in.mode = route_mode::always;
  return in;
}

TEST(encode, a_small_message_is_the_body_as_it_is) {
  const std::vector<std::uint8_t> want = test::encode(R"({"a":1})").bytes;
  encode_scratch scratch;
  const encoded e = encode(message_of(R"({"a":1})"), forced_lz4(), lz4_known(), {}, scratch);
  EXPECT_EQ(e.coding, compression_choice::none);
  EXPECT_EQ(e.compress_token, "none");
  EXPECT_EQ(e.policy_reason, "small_body");
  EXPECT_TRUE(e.content_encoding.empty());
  EXPECT_EQ(e.message_bytes, want.size());
  EXPECT_EQ(to_vector(e.body), want);
}

TEST(encode, lz4_by_size_gives_the_compressor_bytes_with_the_shared_thresholds) {
  const std::string json = sample_records_json(9000);
  for (const std::size_t chunk : {std::size_t{256} * 1024, std::size_t{16} * 1024}) {
    policy_config config;
    config.sizes.chunk_bytes = chunk;
    config.sizes.parallel_threshold = 200'000;
    const byte_buffer message = message_of(json);
    lz4_options o;
    o.sizes = config.sizes;
    lz4_compressor reference;
    reference.set_options(o);
    byte_buffer want;
    ASSERT_TRUE(reference.compress(message.span(), want).ok());

    encode_scratch scratch;
    const encoded e = encode(message_of(json), forced_lz4(), lz4_known(), config, scratch);
    EXPECT_EQ(e.coding, compression_choice::lz4_parallel);
    EXPECT_EQ(e.compress_token, "lz4-parallel");
    EXPECT_EQ(e.policy_reason, "mode_always");
    EXPECT_EQ(e.lz4.layout, message_layout::lz4_parallel);
    EXPECT_EQ(e.message_bytes, message.size());
    EXPECT_EQ(to_vector(e.body), to_vector(want)) << chunk;
  }
}

TEST(encode, never_sends_the_message_and_says_why) {
  const std::string json = sample_records_json(100);
  encode_scratch scratch;
  policy_input in;
  in.mode = route_mode::never;
  const encoded e = encode(message_of(json), in, lz4_known(), {}, scratch);
  EXPECT_EQ(e.coding, compression_choice::none);
  EXPECT_EQ(e.policy_reason, "mode_never");
  EXPECT_EQ(to_vector(e.body), test::encode(json).bytes);
}

// A slow link, a client that takes gzip, and gzip measured as the smallest: the policy picks it.
TEST(encode, gzip_is_applied_as_content_encoding_or_only_reported) {
  const std::string json = sample_records_json(2000);
  server_speeds speeds;
  speeds.gzip = {50e6, 0.1};
  policy_input in;
  in.accept_gzip = true;
  in.rtt_s = 0.3;
  in.bandwidth_bytes_per_s = 50e3;
  encode_scratch scratch;
  const encoded e = encode(message_of(json), in, speeds, {}, scratch);
  ASSERT_EQ(e.decision.choice, compression_choice::gzip);
  EXPECT_EQ(e.coding, compression_choice::gzip);
  // BFast-Status names the coding as the metric does, though inside B-FAST nothing is compressed.
  EXPECT_EQ(e.compress_token, "gzip");
  EXPECT_EQ(e.content_encoding, "gzip");
  transport_encoder undo;
  byte_buffer plain;
  ASSERT_TRUE(undo.decode(transport_codec::gzip, e.body.span(), plain, e.message_bytes));
  EXPECT_EQ(to_vector(plain), test::encode(json).bytes);

  const encoded reported = encode(message_of(json), in, speeds, {}, scratch, false);
  EXPECT_EQ(reported.decision.choice, compression_choice::gzip);
  EXPECT_EQ(reported.coding, compression_choice::none);
  EXPECT_TRUE(reported.content_encoding.empty());
  EXPECT_EQ(to_vector(reported.body), test::encode(json).bytes);
}

// JSON text under a transport coding, for clients that take JSON; LZ4 is not one.
TEST(encode, text_takes_gzip_and_zstd_only) {
  const std::string json = sample_records_json(300);
  const std::span<const std::uint8_t> text(reinterpret_cast<const std::uint8_t*>(json.data()),
                                           json.size());
  encode_scratch scratch;
  transport_encoder undo;
  for (const auto [choice, codec] : {std::pair{compression_choice::gzip, transport_codec::gzip},
                                     std::pair{compression_choice::zstd, transport_codec::zstd}}) {
    byte_buffer out, plain;
    ASSERT_TRUE(encode_text(text, choice, choice == compression_choice::gzip ? 6 : 3, scratch, out));
    EXPECT_LT(out.size(), json.size() / 3);
    ASSERT_TRUE(undo.decode(codec, out.span(), plain, json.size()));
    EXPECT_EQ(plain.view(), json);
  }
  byte_buffer out;
  EXPECT_FALSE(encode_text(text, compression_choice::lz4, 0, scratch, out));
  EXPECT_FALSE(encode_text(text, compression_choice::none, 0, scratch, out));
  EXPECT_TRUE(out.empty());
}

// A slow-path document (an integer beyond 64 bits) is coded like any other.
TEST(encode, slow_path_documents_are_chunked_the_same_way) {
  std::string json = sample_records_json(8000);
  json.insert(1, "123456789012345678901234567890,");
  policy_config config;
  config.sizes.parallel_threshold = 1000;
  config.sizes.chunk_bytes = 64 * 1024;
  const byte_buffer message = message_of(json);
  lz4_options o;
  o.sizes = config.sizes;
  lz4_compressor reference(nullptr, o);
  byte_buffer want;
  ASSERT_TRUE(reference.compress(message.span(), want).ok());
  compress_arena arena(4);
  encode_scratch scratch(&arena);
  policy_input in = forced_lz4();
  in.load = arena.load();
  const encoded e = encode(message_of(json), in, lz4_known(), config, scratch);
  EXPECT_EQ(e.coding, compression_choice::lz4_parallel);
  EXPECT_EQ(to_vector(e.body), to_vector(want));
}

TEST(coding, one_name_table_for_choices_and_route_modes) {
  EXPECT_EQ(choice_name(compression_choice::lz4_parallel), "lz4-parallel");
  EXPECT_EQ(choice_name(compression_choice::zstd), "zstd");
  for (std::size_t i = 0; i < route_mode_names.size(); ++i) {
    const auto m = static_cast<route_mode>(i);
    EXPECT_EQ(parse_route_mode(route_mode_name(m)), m);
  }
  EXPECT_FALSE(parse_route_mode("automatic").has_value());
  compression_sizes sizes;
  EXPECT_TRUE(sizes.too_small(never_compressed_bytes));
  EXPECT_FALSE(sizes.too_small(never_compressed_bytes + 1));
  sizes.min_bytes = 1;  // the floor holds whatever is configured
  EXPECT_TRUE(sizes.too_small(never_compressed_bytes));
}

TEST(padded_view, keeps_a_buffer_that_has_the_padding_where_it_is) {
  const std::string json = sample_records_json(100);
  byte_buffer buffer;
  buffer.append(json);
  (void)buffer.ensure(padded_view::padding);
  const std::uint8_t* before = buffer.data();
  const padded_view view = padded_view::of(buffer);
  EXPECT_EQ(buffer.data(), before) << "the padding was there: nothing may move";
  EXPECT_EQ(view.text(), json);
  transcoder t;
  byte_buffer out;
  ASSERT_TRUE(t.transcode(view, out).ok());
  EXPECT_EQ(to_vector(out), test::encode(json).bytes);
}

TEST(padded_view, reserves_the_padding_a_buffer_lacks) {
  byte_buffer b;
  EXPECT_EQ(padded_view::of(b).size(), 0u);
  b.resize_uninitialized(1000);
  std::memset(b.data(), ' ', b.size());
  const padded_view v = padded_view::of(b);
  EXPECT_GE(b.capacity() - b.size(), padded_view::padding);
  EXPECT_EQ(v.size(), 1000u);
  EXPECT_EQ(padded_view().size(), 0u);
}

TEST(transcoder, worst_case_expansion_stays_within_the_message_bound) {
  for (const std::string& json : {std::string("10"), std::string("[10,10,10,10,10]"),
                                 std::string("[[],[],[]]"), std::string(R"(["","",""])"),
                                 std::string(R"({"a":10,"b":-1})"), std::string("1e1"),
                                 std::string("[8,8,8,8,8,8,8,8]"), std::string(R"({"":8,"a":9})"),
                                 std::string("8")}) {
    transcoder t;
    byte_buffer out;
    ASSERT_TRUE(t.transcode(json, out).ok()) << json;
    EXPECT_LE(out.size(), transcoder::message_bound(json.size())) << json;
  }
}

constexpr std::size_t keep = std::size_t{4} << 20;

TEST(scratch, a_large_body_leaves_no_more_than_the_kept_scratch) {
  const std::string large = sample_records_json(40000);  // ~7 MB of JSON
  const std::string small = sample_records_json(100);
  transcoder t;
  byte_buffer out;
  ASSERT_TRUE(t.transcode(small, out).ok());
  const std::size_t after_small = t.scratch_bytes();
  t.shrink_scratch(keep);
  EXPECT_EQ(t.scratch_bytes(), after_small) << "small scratch stays warm";

  ASSERT_TRUE(t.transcode(large, out).ok());
  EXPECT_GT(t.scratch_bytes(), keep);
  t.shrink_scratch(keep);
  EXPECT_LE(t.scratch_bytes(), keep);
  ASSERT_TRUE(t.transcode(small, out).ok());  // still works after letting go
  EXPECT_EQ(to_vector(out), test::encode(small).bytes);

  policy_config config;
  config.sizes.parallel_threshold = 0;
  config.sizes.chunk_bytes = 64 * 1024;
  encode_scratch scratch;
  byte_buffer message;
  ASSERT_TRUE(t.transcode(large, message).ok());
  const encoded e = encode(std::move(message), forced_lz4(), lz4_known(), config, scratch);
  ASSERT_EQ(e.coding, compression_choice::lz4_parallel);
  EXPECT_GT(scratch.bytes(), keep);
  scratch.shrink(keep);
  EXPECT_LE(scratch.bytes(), keep);
}

}  // namespace
}  // namespace bfast
