// decode(encode(x)) parses equal to x across the corpus, with and without packed float arrays,
// and encoding the decoded text again gives the same bytes.
#include <gtest/gtest.h>

#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::vector<fs::path> representable_documents() {
  std::vector<fs::path> out;
  for (const auto& p : corpus_documents())
    if (expected_outcome(p) == transcode_error::ok) out.push_back(p);
  return out;
}

class round_trip : public ::testing::TestWithParam<fs::path> {};

TEST_P(round_trip, decode_of_encode_parses_equal) {
  const std::string json = read_file(GetParam());
  const auto want = parse_json_model(json);
  ASSERT_TRUE(want.has_value()) << "the test model cannot read the document";
  for (const bool packed : {false, true}) {
    SCOPED_TRACE(packed ? "packed floats" : "plain");
    const encoded e = encode(json, packed, 2);
    ASSERT_TRUE(e.result.ok()) << reason_token(e.result.error);
    const decoded d = decode(e.bytes);
    ASSERT_TRUE(d.result.ok()) << reason_token(d.result.error) << " at " << d.result.offset;
    const auto got = parse_json_model(d.json);
    ASSERT_TRUE(got.has_value()) << "decoder output is not JSON";
    EXPECT_EQ(json_difference(*want, *got), "");

    // The decoded text holds everything the message held: encoding it again changes nothing.
    const encoded again = encode(d.json, packed, 2);
    ASSERT_TRUE(again.result.ok());
    EXPECT_EQ(again.bytes, e.bytes);
  }
}

TEST_P(round_trip, pretty_output_parses_equal) {
  const std::string json = read_file(GetParam());
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  std::string pretty;
  decode_options opt;
  opt.pretty = true;
  ASSERT_TRUE(decode_to_json(e.bytes, pretty, opt).ok());
  const auto want = parse_json_model(json);
  const auto got = parse_json_model(pretty);
  ASSERT_TRUE(want && got);
  EXPECT_EQ(json_difference(*want, *got), "");
}

INSTANTIATE_TEST_SUITE_P(shared, round_trip, ::testing::ValuesIn(representable_documents()),
                         [](const auto& info) { return corpus_test_name(info.param); });

}  // namespace
}  // namespace bfast::test
