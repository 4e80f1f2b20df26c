// Every corpus document a JSON parser accepts is either encoded, and then read back exactly by
// both deployed decoders (check.py and check.js), or refused with the reason it must get.
#include <gtest/gtest.h>

#include "bfast/transcoder.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

class oracle_corpus : public ::testing::TestWithParam<fs::path> {};

TEST_P(oracle_corpus, encoded_exactly_or_refused_with_the_right_reason) {
  const fs::path doc = GetParam();
  const std::string json = read_file(doc);
  transcoder t;
  byte_buffer out;
  const transcode_result r = t.transcode(json, out);
  const transcode_error want = expected_outcome(doc);
  if (want != transcode_error::ok) {
    EXPECT_EQ(r.error, want) << "got " << reason_token(r.error);
    EXPECT_TRUE(out.empty());
    return;
  }
  ASSERT_TRUE(r.ok()) << reason_token(r.error) << " " << r.detail;
  EXPECT_TRUE(oracles_accept(json, out.span(), corpus_test_name(doc)));
}

INSTANTIATE_TEST_SUITE_P(shared, oracle_corpus, ::testing::ValuesIn(corpus_documents()),
                         [](const auto& info) { return corpus_test_name(info.param); });

TEST(oracle_corpus_set, is_complete) {
  // 10 real-world, 13 semantic, 95 y_ and 10 i_ numbers, 129 conformance documents.
  EXPECT_GE(corpus_documents().size(), 10u + 13u + 95u + 10u + 129u);
}

TEST(oracle_self_check, oracles_can_say_no) {
  // The checks are only worth something if a wrong message fails them.
  const std::string json = R"({"a":[1,2.5,"x"]})";
  encoded e = encode(R"({"a":[1,2.5,"y"]})");
  ASSERT_TRUE(e.result.ok());
  EXPECT_FALSE(oracles_accept(json, e.bytes, "self_check_value"));
  // An integer sent as a float: Python tells them apart.
  e = encode(R"({"a":[1.0,2.5,"x"]})");
  ASSERT_TRUE(e.result.ok());
  EXPECT_FALSE(oracles_accept(json, e.bytes, "self_check_type"));
  // Only the TypeScript decoder is asked here, and it must object to a wrong value too.
  e = encode(R"({"a":[1,2.5,"y"]})");
  const fs::path j = scratch_dir() / "self_check_js.json";
  const fs::path b = scratch_dir() / "self_check_js.bfast";
  write_file(j, json);
  write_file(b, e.bytes);
  EXPECT_FALSE(check_node(j, b).ran_ok);
}

}  // namespace
}  // namespace bfast::test
