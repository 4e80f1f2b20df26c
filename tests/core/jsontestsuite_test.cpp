// JSONTestSuite: y_ documents are accepted (but for the integer -0, valid JSON that is refused as
// negative_zero), n_ documents are refused as invalid JSON, and each
// i_ document gets the outcome documented here. Nothing crashes (the sanitizer build runs this).
//
// Our choices for i_: numbers beyond i64 or the double range are accepted as JSON parsers read
// them (0xD5 digits, infinity, zero); lone surrogate escapes are refused as lone_surrogate;
// invalid UTF-8, UTF-16 and a byte order mark are invalid JSON; 500 nested arrays are too_deep.
#include <gtest/gtest.h>

#include <map>

#include "bfast/transcoder.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

const std::map<std::string, transcode_error>& implementation_defined() {
  static const std::map<std::string, transcode_error> outcomes = [] {
    std::map<std::string, transcode_error> m;
    for (const char* n :
         {"i_number_double_huge_neg_exp", "i_number_huge_exp", "i_number_neg_int_huge_exp",
          "i_number_pos_double_huge_exp", "i_number_real_neg_overflow",
          "i_number_real_pos_overflow", "i_number_real_underflow", "i_number_too_big_neg_int",
          "i_number_too_big_pos_int", "i_number_very_big_negative_int"})
      m[n] = transcode_error::ok;
    for (const char* n :
         {"i_object_key_lone_2nd_surrogate", "i_string_1st_surrogate_but_2nd_missing",
          "i_string_1st_valid_surrogate_2nd_invalid",
          "i_string_incomplete_surrogate_and_escape_valid", "i_string_incomplete_surrogate_pair",
          "i_string_incomplete_surrogates_escape_valid", "i_string_invalid_lonely_surrogate",
          "i_string_invalid_surrogate", "i_string_inverted_surrogates_U+1D11E",
          "i_string_lone_second_surrogate"})
      m[n] = transcode_error::lone_surrogate;
    for (const char* n :
         {"i_string_UTF-16LE_with_BOM", "i_string_UTF-8_invalid_sequence",
          "i_string_UTF8_surrogate_U+D800", "i_string_invalid_utf-8", "i_string_iso_latin_1",
          "i_string_lone_utf8_continuation_byte", "i_string_not_in_unicode_range",
          "i_string_overlong_sequence_2_bytes", "i_string_overlong_sequence_6_bytes",
          "i_string_overlong_sequence_6_bytes_null", "i_string_truncated-utf-8",
          "i_string_utf16BE_no_BOM", "i_string_utf16LE_no_BOM",
          "i_structure_UTF-8_BOM_empty_object"})
      m[n] = transcode_error::invalid_json;
    m["i_structure_500_nested_arrays"] = transcode_error::too_deep;
    return m;
  }();
  return outcomes;
}

std::vector<fs::path> suite_files() {
  return files_in(shared_dir() / "corpus" / "jsontestsuite", ".json");
}

class json_test_suite : public ::testing::TestWithParam<fs::path> {};

TEST_P(json_test_suite, outcome) {
  const fs::path doc = GetParam();
  const std::string name = doc.stem().string();
  const std::string json = read_file(doc);
  transcoder t;
  byte_buffer out;
  const transcode_result r = t.transcode(json, out);
  if (!r.ok()) {
    EXPECT_TRUE(out.empty());
  }
  EXPECT_LE(r.offset, json.size());

  if (name.rfind("y_", 0) == 0 && expected_outcome(doc) != transcode_error::ok) {
    // Valid JSON that is not representable (the integer -0).
    EXPECT_EQ(r.error, expected_outcome(doc)) << "got " << reason_token(r.error);
  } else if (name.rfind("y_", 0) == 0) {
    ASSERT_TRUE(r.ok()) << reason_token(r.error) << " " << r.detail;
    const auto want = parse_json_model(json);
    ASSERT_TRUE(want.has_value());
    const decoded d = decode(out.span());
    ASSERT_TRUE(d.result.ok());
    const auto got = parse_json_model(d.json);
    ASSERT_TRUE(got.has_value()) << d.json;
    EXPECT_EQ(json_difference(*want, *got), "");
  } else if (name.rfind("n_", 0) == 0) {
    EXPECT_EQ(r.error, transcode_error::invalid_json) << "got " << reason_token(r.error);
  } else {
    const auto it = implementation_defined().find(name);
    ASSERT_NE(it, implementation_defined().end()) << "undocumented i_ case; got "
                                                  << reason_token(r.error);
    EXPECT_EQ(r.error, it->second) << "got " << reason_token(r.error);
  }
}

INSTANTIATE_TEST_SUITE_P(shared, json_test_suite, ::testing::ValuesIn(suite_files()),
                         [](const auto& info) { return test_name(info.param.stem().string()); });

TEST(json_test_suite_set, is_complete) { EXPECT_GE(suite_files().size(), 300u); }

}  // namespace
}  // namespace bfast::test
