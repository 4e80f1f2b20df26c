// The transcoder's contract beyond the format rules: errors and offsets, buffer reuse, stats,
// options, packed float arrays, and size limits of the DOM path.
#include <gtest/gtest.h>

#include <cstring>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/transcoder.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

TEST(transcoder_errors, invalid_json_is_reported_with_an_offset_inside_the_text) {
  struct error_case {
    const char* json;
    std::size_t at;  // where the text stops being JSON
  };
  for (const error_case c : {error_case{"[1,2,,3]", 5}, error_case{"{\"a\":}", 5},
                             error_case{"[1,2", 4}, error_case{"[tru]", 1},
                             error_case{"{\"a\" 1}", 5}, error_case{"[1] x", 4},
                             error_case{"[\"abc", 1}, error_case{"[01]", 1}}) {
    const encoded e = encode(c.json);
    EXPECT_EQ(e.result.error, transcode_error::invalid_json) << c.json;
    EXPECT_TRUE(e.bytes.empty());
    EXPECT_LE(e.result.offset, std::strlen(c.json)) << c.json;
    // Best effort: never past the point where the text stops being JSON.
    EXPECT_LE(e.result.offset, c.at) << c.json;
    EXPECT_FALSE(e.result.detail.empty()) << c.json;
  }
}

TEST(transcoder_errors, not_json_at_all) {
  for (std::string_view json :
       {std::string_view(""), std::string_view("   \n"), std::string_view("[1] [2]"),
        std::string_view("1 2"), std::string_view("\xEF\xBB\xBF{}"), std::string_view("[NaN]"),
        std::string_view("[Infinity]"), std::string_view("{'a':1}"), std::string_view("[1,]"),
        std::string_view("[\"\xFF\"]"), std::string_view("[\"a\tb\"]"),
        std::string_view("[1]\0", 4), std::string_view("[\"\\x\"]"), std::string_view("-"),
        std::string_view("[.5]"), std::string_view("[1.]"), std::string_view("[1e]"),
        std::string_view("[+1]"), std::string_view("nul"), std::string_view("{\"a\":1,}")}) {
    const encoded e = encode(json);
    EXPECT_EQ(e.result.error, transcode_error::invalid_json) << json;
    EXPECT_TRUE(e.bytes.empty()) << json;
  }
}

TEST(transcoder_errors, invalid_json_wins_over_what_would_be_unrepresentable) {
  // Text that is not JSON must be reported as such, even when a not-representable value comes
  // before the syntax error: the reason travels to clients in a header.
  const std::string long_key(300, 'k');
  for (const std::string& json :
       {"{\"" + long_key + "\":1,,}", std::string("[{\"__proto__\":1}, ]"),
        std::string("[\"\\ud800\", tru]"), std::string(200, '[') + "1e400,",
        std::string(2000, '[') + "]"}) {
    EXPECT_EQ(encode(json).result.error, transcode_error::invalid_json) << json.substr(0, 60);
  }
}

TEST(transcoder_errors, scalar_roots_are_values) {
  for (const char* json : {"null", "true", "false", "0", "-12", "1.5", "\"s\"", " 7 ", "\n[]\n",
                           "1e400", "123456789012345678901234567890"}) {
    const encoded e = encode(json);
    ASSERT_TRUE(e.result.ok()) << json;
    const decoded d = decode(e.bytes);
    ASSERT_TRUE(d.result.ok());
    EXPECT_EQ(json_difference(*parse_json_model(json), *parse_json_model(d.json)), "") << json;
  }
}

TEST(transcoder_reuse, out_is_replaced_and_left_empty_on_failure) {
  transcoder t;
  byte_buffer out;
  out.append(std::string_view("stale bytes"));
  ASSERT_TRUE(t.transcode("[1]", out).ok());
  EXPECT_EQ(std::vector<std::uint8_t>(out.data(), out.data() + out.size()), encode("[1]").bytes);
  EXPECT_FALSE(t.transcode("[1", out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(t.transcode("{\"" + std::string(256, 'k') + "\":1}", out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(transcoder_reuse, a_failure_leaves_nothing_behind_for_the_next_call) {
  transcoder t;
  byte_buffer out;
  // Fails after interning keys and writing part of the body.
  std::string bad = "{\"a\":1,\"b\":[1,2,3],\"c\":\"";
  bad += std::string(300, 'x') + "\",\"" + std::string(256, 'k') + "\":0}";
  ASSERT_EQ(t.transcode(bad, out).error, transcode_error::key_too_long);
  const std::string good = R"({"z":[true],"a":2})";
  ASSERT_TRUE(t.transcode(good, out).ok());
  EXPECT_EQ(std::vector<std::uint8_t>(out.data(), out.data() + out.size()), encode(good).bytes);
  // The same after a slow-path failure and a slow-path success.
  ASSERT_EQ(t.transcode("[99999999999999999999999, {\"q\":1},", out).error, transcode_error::invalid_json);
  ASSERT_TRUE(t.transcode("[99999999999999999999999, {\"q\":1}]", out).ok());
  ASSERT_TRUE(t.transcode(good, out).ok());
  EXPECT_EQ(std::vector<std::uint8_t>(out.data(), out.data() + out.size()), encode(good).bytes);
}

TEST(transcoder_reuse, moved_transcoder_keeps_working) {
  transcoder a(transcode_options{true, 2});
  transcoder b = std::move(a);
  byte_buffer out;
  ASSERT_TRUE(b.transcode("[1.5,2.5]", out).ok());
  EXPECT_TRUE(b.options().pack_float_arrays);
  transcoder c;
  c = std::move(b);
  ASSERT_TRUE(c.transcode("[1.5,2.5]", out).ok());
  EXPECT_EQ(out.data()[root_offset(out.span())], tag::float64_array);
}

TEST(transcoder_stats, describe_the_last_message) {
  transcoder t;
  byte_buffer out;
  std::string json = "{";
  for (int i = 0; i < 200; ++i) json += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  json += "}";
  ASSERT_TRUE(t.transcode(json, out).ok());
  const transcode_stats& s = t.last_stats();
  EXPECT_EQ(s.json_bytes, json.size());
  EXPECT_EQ(s.bfast_bytes, out.size());
  EXPECT_EQ(s.table_entries, 201u);  // one filler at 127
  EXPECT_EQ(s.table_bytes, root_offset(out.span()));
  EXPECT_EQ(out.data()[s.table_bytes], tag::object);
}

// Packed float arrays -------------------------------------------------------------------------

std::uint8_t root_tag(const encoded& e) { return e.bytes.at(root_offset(e.bytes)); }

TEST(packed_floats, off_by_default) {
  EXPECT_FALSE(transcode_options{}.pack_float_arrays);
  const encoded e = encode("[1.5,2.5,3.5,4.5,5.5,6.5,7.5,8.5,9.5]");
  ASSERT_TRUE(e.result.ok());
  EXPECT_EQ(root_tag(e), tag::array);
}

TEST(packed_floats, all_float_arrays_of_at_least_n_become_one_run) {
  const std::string json = "[1.5,-0.0,1e2,0.1,5e-324,1.7976931348623157e308,-2.5,3.0]";
  const encoded e = encode(json, true, 8);
  ASSERT_TRUE(e.result.ok());
  const std::size_t root = root_offset(e.bytes);
  ASSERT_EQ(e.bytes[root], tag::float64_array);
  ASSERT_EQ(load_u32(&e.bytes[root + 1]), 8u);
  ASSERT_EQ(e.bytes.size(), root + 5 + 64);
  const double want[] = {1.5, -0.0, 1e2, 0.1, 5e-324, 1.7976931348623157e308, -2.5, 3.0};
  for (int i = 0; i < 8; ++i) {
    double d;
    std::memcpy(&d, &e.bytes[root + 5 + 8 * static_cast<std::size_t>(i)], 8);
    EXPECT_EQ(std::memcmp(&d, &want[i], 8), 0) << i;
  }
  // Python reads the run as a list of floats; TypeScript gives a Float64Array by design.
  EXPECT_TRUE(oracles_accept(json, e.bytes, "packed_floats", true));
}

TEST(packed_floats, shorter_or_mixed_arrays_stay_plain) {
  EXPECT_EQ(root_tag(encode("[1.5,2.5,3.5,4.5,5.5,6.5,7.5]", true, 8)), tag::array);
  EXPECT_EQ(root_tag(encode("[1.5,2.5,3.5,4.5,5.5,6.5,7.5,8]", true, 8)), tag::array);
  EXPECT_EQ(root_tag(encode("[1.5,2.5,3.5,4.5,5.5,6.5,7.5,\"8.5\"]", true, 8)), tag::array);
  EXPECT_EQ(root_tag(encode("[1.5,2.5,3.5,4.5,5.5,6.5,7.5,null]", true, 8)), tag::array);
  EXPECT_EQ(root_tag(encode("[1.5,2.5]", true, 2)), tag::float64_array);
}

TEST(packed_floats, nested_runs_decode_to_the_same_values) {
  const std::string json = R"({"m":[[0.5,1.5,2.5],[3.5,4.5,5.5]],"v":[1.0,2.0,3.0,4],"w":[1e1,2E-1,3.25]})";
  const encoded e = encode(json, true, 3);
  ASSERT_TRUE(e.result.ok());
  message_info info;
  ASSERT_TRUE(inspect_message(e.bytes, info).ok());
  EXPECT_EQ(info.tag_counts[tag::float64_array], 3u);
  const decoded d = decode(e.bytes);
  ASSERT_TRUE(d.result.ok());
  EXPECT_EQ(json_difference(*parse_json_model(json), *parse_json_model(d.json)), "");
  EXPECT_TRUE(oracles_accept(json, e.bytes, "packed_nested", true));
}

TEST(packed_floats, set_options_switches_packing) {
  transcoder t;
  byte_buffer out;
  t.set_options(transcode_options{true, 2});
  ASSERT_TRUE(t.transcode("[1.5,2.5]", out).ok());
  EXPECT_EQ(out.data()[root_offset(out.span())], tag::float64_array);
  t.set_options(transcode_options{});
  ASSERT_TRUE(t.transcode("[1.5,2.5]", out).ok());
  EXPECT_EQ(out.data()[root_offset(out.span())], tag::array);
}

// Size limits --------------------------------------------------------------------------------

TEST(transcoder_limits, array_of_more_than_2_pow_24_elements_keeps_its_count) {
  // simdjson's DOM saturates array sizes at 0xFFFFFF; the count written must still be exact.
  constexpr std::size_t n = (std::size_t{1} << 24) + 3;
  std::string json;
  json.reserve(2 * n + 2);
  json += '[';
  for (std::size_t i = 0; i < n; ++i) json += i ? ",0" : "0";
  json += ']';
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  const std::size_t root = root_offset(e.bytes);
  ASSERT_EQ(e.bytes[root], tag::array);
  EXPECT_EQ(load_u32(&e.bytes[root + 1]), n);
  EXPECT_EQ(e.bytes.size(), root + 5 + n);
  message_info info;
  ASSERT_TRUE(inspect_message(e.bytes, info).ok());
  EXPECT_EQ(info.trailing_bytes, 0u);
}

}  // namespace
}  // namespace bfast::test
