// Generated documents: many random JSON values are encoded, decoded and compared in-process,
// and a share of them goes to both oracle decoders. The seed is fixed so a failure repeats;
// BFAST_PROPERTY_SEED and BFAST_PROPERTY_CASES override it for longer runs.
#include <gtest/gtest.h>

#include <cstdlib>

#include "bfast/compress.hpp"
#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"
#include "json_generator.hpp"
#include "json_model.hpp"
#include "lenient_lz4.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::strtoull(v, nullptr, 10) : fallback;
}

std::uint64_t seed() { return env_or("BFAST_PROPERTY_SEED", 20240601); }

TEST(generated_documents, encode_decode_parses_equal) {
  const std::uint64_t cases = env_or("BFAST_PROPERTY_CASES", 1500);
  json_generator gen(seed());
  transcoder plain;
  transcoder packed(transcode_options{true, 2});
  byte_buffer out, again;
  std::string json_out;
  lz4_compressor compressor;
  std::size_t encoded_count = 0, refused = 0, parallel = 0;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const generated_document doc = gen.document();
    SCOPED_TRACE("seed " + std::to_string(seed()) + " case " + std::to_string(i) + " (" + doc.shape + ")");
    const transcode_result r = plain.transcode(doc.text, out);
    ASSERT_EQ(r.error, doc.expected) << "got " << reason_token(r.error) << "\n"
                                     << doc.text.substr(0, 400);
    if (!r.ok()) {
      EXPECT_TRUE(out.empty());
      ++refused;
      continue;
    }
    ++encoded_count;
    const auto want = parse_json_model(doc.text);
    ASSERT_TRUE(want.has_value()) << doc.text.substr(0, 400);
    for (transcoder* t : {&plain, &packed}) {
      ASSERT_TRUE(t->transcode(doc.text, out).ok());
      ASSERT_TRUE(decode_to_json(out.span(), json_out).ok());
      const auto got = parse_json_model(json_out);
      ASSERT_TRUE(got.has_value()) << json_out.substr(0, 400);
      ASSERT_EQ(json_difference(*want, *got), "") << doc.text.substr(0, 400);
      ASSERT_TRUE(t->transcode(json_out, again).ok());
      ASSERT_EQ(again.view(), out.view()) << "re-encoding the decoded text changed the bytes";
    }
    // LZ4 as sent by default; a parallel message must fail the Python decoder's lenient read.
    if (compressor.compress(out.span(), again).ok()) {
      std::string unpacked;
      ASSERT_TRUE(decode_to_json(again.span(), unpacked).ok());
      ASSERT_TRUE(decode_to_json(out.span(), json_out).ok());
      ASSERT_EQ(unpacked, json_out);
      message_info info;
      ASSERT_TRUE(inspect_message(again.span(), info).ok());
      if (info.layout == message_layout::lz4_parallel) {
        ++parallel;
        ASSERT_FALSE(lenient_single_block_accepts(again.span()));
      }
    }
  }
  // The generator must keep exercising both sides.
  EXPECT_GT(encoded_count, cases / 2);
  EXPECT_GT(refused, cases / 20);
  EXPECT_GT(parallel, cases / 200);
}

TEST(generated_documents, oracles_read_them_exactly) {
  const std::uint64_t cases = env_or("BFAST_PROPERTY_ORACLE_CASES", 80);
  json_generator gen(seed() + 1);
  transcoder t;
  byte_buffer out;
  std::uint64_t checked = 0;
  for (std::uint64_t i = 0; checked < cases && i < cases * 4; ++i) {
    const generated_document doc = gen.document();
    if (doc.expected != transcode_error::ok) continue;
    SCOPED_TRACE("seed " + std::to_string(seed() + 1) + " case " + std::to_string(i) + " (" + doc.shape + ")");
    ASSERT_TRUE(t.transcode(doc.text, out).ok());
    EXPECT_TRUE(oracles_accept(doc.text, out.span(), "generated_" + std::to_string(i)))
        << doc.text.substr(0, 400);
    ++checked;
  }
  EXPECT_EQ(checked, cases);
}

}  // namespace
}  // namespace bfast::test
