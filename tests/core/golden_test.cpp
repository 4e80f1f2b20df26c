// Golden files: the reference encoder's bytes for every document it encodes correctly. Our
// transcoder must reproduce them byte for byte from the JSON beside them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "bfast/transcoder.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::vector<fs::path> golden_files() {
  std::vector<fs::path> all = files_in(shared_dir() / "conformance", ".bfast");
  const auto realworld = files_in(shared_dir() / "corpus" / "realworld", ".bfast");
  all.insert(all.end(), realworld.begin(), realworld.end());
  return all;
}

std::string first_difference(std::string_view want, std::string_view got) {
  const std::size_t n = std::min(want.size(), got.size());
  std::size_t i = 0;
  while (i < n && want[i] == got[i]) ++i;
  return "sizes " + std::to_string(want.size()) + " vs " + std::to_string(got.size()) +
         ", first difference at byte " + std::to_string(i);
}

class golden : public ::testing::TestWithParam<fs::path> {};

TEST_P(golden, transcode_is_byte_exact) {
  const fs::path bfast_path = GetParam();
  fs::path json_path = bfast_path;
  json_path.replace_extension(".json");
  const std::string json = read_file(json_path);
  const std::string want = read_file(bfast_path);

  transcoder t;
  byte_buffer out;
  const transcode_result r = t.transcode(json, out);
  // The reference writes the integer -0 as 0, which TypeScript clients read as +0.
  if (expected_outcome(json_path) != transcode_error::ok) {
    EXPECT_EQ(r.error, expected_outcome(json_path));
    return;
  }
  ASSERT_TRUE(r.ok()) << reason_token(r.error) << " " << r.detail;
  ASSERT_EQ(out.view(), want) << first_difference(want, out.view());
  EXPECT_EQ(t.last_stats().bfast_bytes, want.size());
  EXPECT_EQ(t.last_stats().json_bytes, json.size());
}

TEST_P(golden, transcode_with_caller_padding_is_byte_exact) {
  const fs::path bfast_path = GetParam();
  fs::path json_path = bfast_path;
  json_path.replace_extension(".json");
  byte_buffer json;
  json.append(read_file(json_path));
  // Padding that is not zero: the parser must stop at the given size whatever follows.
  std::memset(json.ensure(padded_view::padding), '}', padded_view::padding);
  transcoder t;
  byte_buffer out;
  const transcode_result r = t.transcode(padded_view::of(json), out);
  if (expected_outcome(json_path) != transcode_error::ok) {
    EXPECT_EQ(r.error, expected_outcome(json_path));
    return;
  }
  ASSERT_TRUE(r.ok()) << reason_token(r.error);
  ASSERT_EQ(out.view(), read_file(bfast_path));
}

INSTANTIATE_TEST_SUITE_P(shared, golden, ::testing::ValuesIn(golden_files()),
                         [](const auto& info) { return test_name(info.param.stem().string()); });

TEST(golden_set, is_complete) {
  // ../shared holds 129 conformance goldens and 8 real-world ones; fewer means a missing checkout.
  EXPECT_GE(files_in(shared_dir() / "conformance", ".bfast").size(), 129u);
  EXPECT_GE(files_in(shared_dir() / "corpus" / "realworld", ".bfast").size(), 8u);
}

TEST(golden_set, one_transcoder_reused_across_all_files_stays_exact) {
  // Buffers and the key table are reused between calls; nothing may leak from one document to
  // the next, in either order.
  auto files = golden_files();
  transcoder t;
  byte_buffer out;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& bfast_path : files) {
      fs::path json_path = bfast_path;
      json_path.replace_extension(".json");
      const transcode_result r = t.transcode(read_file(json_path), out);
      if (expected_outcome(json_path) != transcode_error::ok) {
        ASSERT_EQ(r.error, expected_outcome(json_path)) << bfast_path;
        continue;
      }
      ASSERT_TRUE(r.ok()) << bfast_path;
      ASSERT_EQ(out.view(), read_file(bfast_path)) << bfast_path;
    }
    std::reverse(files.begin(), files.end());
  }
}

}  // namespace
}  // namespace bfast::test
