// The seven encoder rules of BFAST-FORMAT.md, each on its own, plus the __proto__ refusal.
// Bytes are checked where the rule fixes them; the oracle decoders check what clients read.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string object_with_keys(std::size_t n, std::string_view prefix = "k") {
  std::string json = "{";
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) json += ',';
    json += '"' + std::string(prefix) + std::to_string(i) + "\":" + std::to_string(i % 8);
  }
  return json + "}";
}

::testing::AssertionResult decodes_equal(std::string_view json, const std::vector<std::uint8_t>& m) {
  const decoded d = decode(m);
  if (!d.result.ok())
    return ::testing::AssertionFailure() << "decode failed: " << reason_token(d.result.error);
  const auto want = parse_json_model(json);
  const auto got = parse_json_model(d.json);
  if (!want || !got) return ::testing::AssertionFailure() << "model parse failed";
  const std::string diff = json_difference(*want, *got);
  if (!diff.empty()) return ::testing::AssertionFailure() << diff;
  return ::testing::AssertionSuccess();
}

std::vector<std::uint8_t> root_bytes(const std::vector<std::uint8_t>& m) {
  return {m.begin() + static_cast<std::ptrdiff_t>(root_offset(m)), m.end()};
}

// Rule 1 -------------------------------------------------------------------------------------

TEST(rule_key_index_0x7f, filler_slots_at_every_index_with_low_byte_0x7f) {
  const std::string json = object_with_keys(700);
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  const auto table = key_table_of(e.bytes);
  // 700 keys need fillers at 127, 383 and 639.
  ASSERT_EQ(table.size(), 703u);
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (is_filler_index(static_cast<std::uint32_t>(i))) {
      EXPECT_EQ(table[i], "") << "slot " << i;
    } else {
      EXPECT_NE(table[i], "") << "slot " << i;
    }
  }
  // The keys keep their order of first appearance around the fillers.
  EXPECT_EQ(table[126], "k126");
  EXPECT_EQ(table[128], "k127");
  EXPECT_EQ(table[702], "k699");

  // No pair may use an index whose low byte is 0x7F: the decoders would end the object there.
  const auto root = root_bytes(e.bytes);
  ASSERT_EQ(root.front(), tag::object);
  std::size_t p = 1;
  std::size_t pairs = 0;
  while (root[p] != tag::object_end) {
    const std::uint32_t index = load_u32(&root[p]);
    EXPECT_FALSE(is_filler_index(index)) << "pair " << pairs;
    p += 5;  // index and a one-byte small integer
    ++pairs;
  }
  EXPECT_EQ(pairs, 700u);
  EXPECT_TRUE(decodes_equal(json, e.bytes));
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule1_fillers"));
}

TEST(rule_key_index_0x7f, keys_spread_over_many_objects_share_one_table) {
  std::string json = "[";
  for (int o = 0; o < 40; ++o) {
    if (o > 0) json += ',';
    json += '{';
    for (int k = 0; k < 10; ++k) {
      if (k > 0) json += ',';
      json += "\"o" + std::to_string(o) + "k" + std::to_string(k) + "\":[" + std::to_string(k) + "]";
    }
    json += '}';
  }
  json += ']';
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  const auto table = key_table_of(e.bytes);
  EXPECT_EQ(table.size(), 402u);  // 400 keys and fillers at 127 and 383
  EXPECT_EQ(table[127], "");
  EXPECT_EQ(table[383], "");
  EXPECT_TRUE(decodes_equal(json, e.bytes));
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule1_spread"));
}

TEST(rule_key_index_0x7f, exactly_127_keys_need_no_filler) {
  const encoded e = encode(object_with_keys(127));
  ASSERT_TRUE(e.result.ok());
  EXPECT_EQ(key_table_of(e.bytes).size(), 127u);
  const encoded f = encode(object_with_keys(128));
  ASSERT_TRUE(f.result.ok());
  EXPECT_EQ(key_table_of(f.bytes).size(), 129u);
}

// Rule 2 -------------------------------------------------------------------------------------

TEST(rule_key_length, key_of_255_bytes_is_written) {
  const std::string key(255, 'k');
  const std::string json = "{\"" + key + "\":true}";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  ASSERT_EQ(key_table_of(e.bytes), std::vector<std::string>{key});
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule2_255"));
}

TEST(rule_key_length, key_of_256_bytes_is_refused) {
  const encoded e = encode("{\"" + std::string(256, 'k') + "\":true}");
  EXPECT_EQ(e.result.error, transcode_error::key_too_long);
  EXPECT_TRUE(e.bytes.empty());
}

TEST(rule_key_length, length_counts_utf8_bytes_not_characters) {
  // 85 three-byte characters are 255 bytes; 86 are 258 bytes though only 86 characters.
  const encoded fits = encode("{\"" + repeat("\xE2\x82\xAC", 85) + "\":1}");
  EXPECT_TRUE(fits.result.ok());
  const encoded long_key = encode("{\"" + repeat("\xE2\x82\xAC", 86) + "\":1}");
  EXPECT_EQ(long_key.result.error, transcode_error::key_too_long);
  // Escapes count as the bytes they stand for: 128 "\u00e9" are 256 bytes of UTF-8.
  const encoded escaped = encode("{\"" + repeat("\\u00e9", 128) + "\":1}");
  EXPECT_EQ(escaped.result.error, transcode_error::key_too_long);
  const encoded escaped_fits = encode("{\"" + repeat("\\u00e9", 127) + "x\":1}");
  EXPECT_TRUE(escaped_fits.result.ok());
}

TEST(rule_key_length, long_string_values_are_fine) {
  const std::string json = "{\"k\":\"" + std::string(100000, 'v') + "\"}";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(decodes_equal(json, e.bytes));
}

TEST(rule_key_length, long_key_deep_inside_is_refused) {
  const encoded e = encode("[1,{\"a\":[{\"" + std::string(300, 'x') + "\":0}]}]");
  EXPECT_EQ(e.result.error, transcode_error::key_too_long);
}

// Rule 3 -------------------------------------------------------------------------------------

TEST(rule_table_size, table_of_exactly_65535_entries_is_written) {
  // 65,279 keys and 256 fillers (at 127, 383, ..., 65407) fill all 65,535 entries.
  const std::string json = object_with_keys(65279);
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok()) << reason_token(e.result.error);
  EXPECT_EQ(e.bytes[4], 0xFF);
  EXPECT_EQ(e.bytes[5], 0xFF);
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule3_65535"));
}

TEST(rule_table_size, one_more_key_is_refused) {
  const encoded e = encode(object_with_keys(65280));
  EXPECT_EQ(e.result.error, transcode_error::too_many_keys);
  EXPECT_TRUE(e.bytes.empty());
}

TEST(rule_table_size, repeated_keys_take_one_entry) {
  std::string json = "[";
  for (int i = 0; i < 70000; ++i) json += (i ? ",{\"a\":" : "{\"a\":") + std::to_string(i % 8) + "}";
  json += "]";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_EQ(key_table_of(e.bytes).size(), 1u);
}

// Rule 5 (depth) -----------------------------------------------------------------------------

std::string nested_arrays(int depth, std::string_view inner = "") {
  return repeat("[", static_cast<std::size_t>(depth)) + std::string(inner) +
         repeat("]", static_cast<std::size_t>(depth));
}

std::string nested_objects(int depth) {
  std::string json;
  for (int i = 0; i < depth; ++i) json += "{\"d\":";
  json += "null";
  for (int i = 0; i < depth; ++i) json += "}";
  return json;
}

TEST(rule_depth, depth_128_is_written) {
  const std::string json = nested_arrays(128);
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule5_128"));
  // 127 objects and the null inside them: depth 128.
  const std::string objects = nested_objects(127);
  const encoded o = encode(objects);
  ASSERT_TRUE(o.result.ok());
  EXPECT_TRUE(oracles_accept(objects, o.bytes, "rule5_128_objects"));
}

TEST(rule_depth, a_value_at_depth_129_is_refused) {
  EXPECT_EQ(encode(nested_arrays(129)).result.error, transcode_error::too_deep);
  EXPECT_EQ(encode(nested_arrays(128, "0")).result.error, transcode_error::too_deep);
  EXPECT_EQ(encode(nested_objects(128)).result.error, transcode_error::too_deep);
  EXPECT_EQ(encode(nested_arrays(5000)).result.error, transcode_error::too_deep);
}

TEST(rule_depth, depth_counts_on_the_slow_path_too) {
  // A big integer sends the document down the on-demand path; the limit must not move.
  EXPECT_TRUE(encode(nested_arrays(127, "123456789012345678901234567890")).result.ok());
  EXPECT_EQ(encode(nested_arrays(128, "123456789012345678901234567890")).result.error,
            transcode_error::too_deep);
}

// Rule 6 (numbers) ---------------------------------------------------------------------------

std::vector<std::uint8_t> root_of(std::string_view json) {
  const encoded e = encode(json);
  EXPECT_TRUE(e.result.ok()) << json << ": " << reason_token(e.result.error);
  if (!e.result.ok()) return {};
  return root_bytes(e.bytes);
}

std::vector<std::uint8_t> tag_and_i64(std::int64_t v) {
  std::vector<std::uint8_t> b{tag::int64, 0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(&b[1], &v, 8);
  return b;
}

std::vector<std::uint8_t> tag_and_text(std::uint8_t t, std::string_view s) {
  std::vector<std::uint8_t> b(5 + s.size());
  b[0] = t;
  store_u32(&b[1], static_cast<std::uint32_t>(s.size()));
  if (!s.empty()) std::memcpy(&b[5], s.data(), s.size());
  return b;
}

TEST(rule_integers, zero_to_seven_take_one_byte) {
  for (int i = 0; i <= 7; ++i) {
    EXPECT_EQ(root_of(std::to_string(i)), std::vector<std::uint8_t>{static_cast<std::uint8_t>(0x30 + i)});
  }
  EXPECT_EQ(encode("-0").result.error, transcode_error::negative_zero);
}

TEST(rule_integers, the_rest_of_the_i64_range_takes_0x38) {
  for (std::int64_t v : {std::int64_t{8}, std::int64_t{-1}, std::int64_t{255}, std::int64_t{-8},
                         std::int64_t{1} << 53, (std::int64_t{1} << 53) + 1, INT64_MAX, INT64_MIN}) {
    EXPECT_EQ(root_of(std::to_string(v)), tag_and_i64(v)) << v;
  }
}

TEST(rule_integers, beyond_i64_takes_0xd5_with_the_exact_digits) {
  for (const char* digits :
       {"9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "18446744073709551616", "-18446744073709551617",
        "123456789012345678901234567890123456789012345678901234567890"}) {
    EXPECT_EQ(root_of(digits), tag_and_text(tag::decimal, digits)) << digits;
    const std::string json = std::string("[") + digits + ",{\"n\":" + digits + "}]";
    const encoded e = encode(json);
    ASSERT_TRUE(e.result.ok());
    EXPECT_TRUE(oracles_accept(json, e.bytes, "rule6_bigint")) << digits;
  }
}

std::vector<std::uint8_t> tag_and_f64(double d) {
  std::vector<std::uint8_t> b{tag::float64, 0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(&b[1], &d, 8);
  return b;
}

TEST(rule_floats, fraction_or_exponent_takes_0x40) {
  EXPECT_EQ(root_of("1.0"), tag_and_f64(1.0));
  EXPECT_EQ(root_of("1e2"), tag_and_f64(100.0));
  EXPECT_EQ(root_of("1E+2"), tag_and_f64(100.0));
  EXPECT_EQ(root_of("0e0"), tag_and_f64(0.0));
  EXPECT_EQ(root_of("-0.0"), tag_and_f64(-0.0));
  EXPECT_EQ(root_of("7.0"), tag_and_f64(7.0));
  EXPECT_EQ(root_of("-2.5e-3"), tag_and_f64(-2.5e-3));
}

TEST(rule_floats, correctly_rounded) {
  // Halfway cases, subnormals, the extremes and long mantissas; glibc's strtod is exact.
  for (const char* text :
       {"0.1", "0.3", "3.141592653589793", "1e23", "8.988465674311579e307",
        "1.7976931348623157e308", "2.2250738585072011e-308", "2.2250738585072012e-308",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "9007199254740993.0", "7.2057594037927933e16", "0.30000000000000004",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203126",
        "123456789012345678901234567890.5", "1e-400", "-1e-400",
        "0.000000000000000000000000000000000000000000001e300",
        "2.2250738585072014e-308", "1.0e-5", "1e21", "1e22", "5e-324"}) {
    const double want = std::strtod(text, nullptr);
    EXPECT_EQ(root_of(text), tag_and_f64(want)) << text;
  }
}

TEST(rule_floats, correctly_rounded_on_the_slow_path_too) {
  // A big integer beside the number sends the document down the on-demand path.
  for (const char* text :
       {"0.0418669862296198878899440", "-0.0418669862296198878899440", "0.1793458180252184000001",
        "0.00000000000000000000000000001234567890123456789", "0.1", "1.00000000000000011102230246251565404236316680908203126",
        "2.2250738585072011e-308", "123456789012345678901234567890.5", "9007199254740993.0"}) {
    const double want = std::strtod(text, nullptr);
    const auto root = root_of(std::string("[") + text + ",123456789012345678901234567890]");
    ASSERT_GE(root.size(), 14u) << text;
    EXPECT_EQ(std::vector<std::uint8_t>(root.begin() + 5, root.begin() + 14), tag_and_f64(want))
        << text;
  }
}

TEST(rule_floats, overflow_becomes_infinity_like_the_json_parsers) {
  EXPECT_EQ(root_of("1e400"), tag_and_f64(HUGE_VAL));
  EXPECT_EQ(root_of("-1e400"), tag_and_f64(-HUGE_VAL));
  EXPECT_EQ(root_of("1.8e308"), tag_and_f64(HUGE_VAL));
  const std::string json = "[1e400,-1e400,{\"x\":1e999}]";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule6_overflow"));
}

TEST(rule_floats, edge_numbers_reach_both_decoders_exactly) {
  const std::string json =
      "[0,7,8,-1,-0.0,0.0,1.0,1e2,0.1,5e-324,1.7976931348623157e308,2.2250738585072014e-308,"
      "9223372036854775807,-9223372036854775808,9223372036854775808,18446744073709551616,"
      "9007199254740993,1e-400,123.456e-7]";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(decodes_equal(json, e.bytes));
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule6_edges"));
}

// Rule 7 (strings) ---------------------------------------------------------------------------

TEST(rule_strings, lone_surrogates_are_refused) {
  for (const char* json :
       {R"("\ud800")", R"("\udfff")", R"("\udc00\ud800")", R"("\ud800\u0041")", R"("a\ud800b")",
        R"(["ok", "\uDBFF"])", R"({"\ud800": 1})", R"({"k": ["\udc00"]})", R"("\ud800\ud800")"}) {
    const encoded e = encode(json);
    EXPECT_EQ(e.result.error, transcode_error::lone_surrogate) << json;
    EXPECT_TRUE(e.bytes.empty());
  }
}

TEST(rule_strings, surrogate_pairs_become_four_byte_utf8) {
  const auto root = root_of(R"("\ud83d\ude00\uD834\uDD1E")");
  EXPECT_EQ(root, tag_and_text(tag::string, "\xF0\x9F\x98\x80\xF0\x9D\x84\x9E"));
  const std::string json = R"({"\ud83d\ude00":"x\ud83d\ude00y"})";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule7_pairs"));
}

TEST(rule_strings, escapes_and_nul_are_unescaped_exactly) {
  const auto root = root_of(R"("\"\\\/\b\f\n\r\t\u0000\u001f\u00e9\u20ac")");
  EXPECT_EQ(root, tag_and_text(tag::string, std::string_view("\"\\/\b\f\n\r\t\0\x1f\xC3\xA9\xE2\x82\xAC", 15)));
}

// Duplicate keys -----------------------------------------------------------------------------

TEST(rule_duplicate_keys, last_value_wins_in_both_decoders) {
  const std::string json = R"({"a":1,"b":[2],"a":{"c":3,"c":4},"b":null,"z":0})";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_EQ(key_table_of(e.bytes), (std::vector<std::string>{"a", "b", "c", "z"}));
  EXPECT_TRUE(decodes_equal(json, e.bytes));
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule_dup"));
}

// __proto__ ----------------------------------------------------------------------------------

TEST(rule_proto_key, proto_key_is_refused_anywhere) {
  for (const char* json : {R"({"__proto__":{}})", R"([{"a":{"__proto__":1}}])",
                           R"({"\u005f_proto__":1})", R"({"__proto__":1, "a": 1e400})"}) {
    const encoded e = encode(json);
    EXPECT_EQ(e.result.error, transcode_error::proto_key) << json;
  }
}

TEST(rule_proto_key, proto_as_a_value_or_a_near_miss_is_fine) {
  const std::string json = R"({"a":"__proto__","__proto":1,"__proto__x":2,"constructor":3})";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(oracles_accept(json, e.bytes, "rule_proto_nearmiss"));
}

// A leading U+FEFF ----------------------------------------------------------------------------
// The TypeScript decoder's TextDecoder strips it from strings and keys; JSON.parse keeps it.

TEST(rule_leading_bom, a_string_or_key_starting_with_u_feff_is_refused) {
  for (const char* json :
       {R"("\ufeff")", R"("\uFEFFa")", "\"\xEF\xBB\xBF" "b\"", R"(["x", "\ufeffy"])",
        R"({"\ufeffa":1,"a":2})", R"({"k":{"\ufeff":null}})", R"([{"a":"\ufeff"}, 1e400])",
        R"({"\ufeffa":123456789012345678901234567890})"}) {
    const encoded e = encode(json);
    EXPECT_EQ(e.result.error, transcode_error::leading_bom) << json;
    EXPECT_TRUE(e.bytes.empty());
  }
}

TEST(rule_leading_bom, u_feff_after_the_first_character_is_exact) {
  const std::string valid = R"({"a\ufeff":"b\ufeffc","x":["z\ufeff"]})";
  const encoded e = encode(valid);
  ASSERT_TRUE(e.result.ok());
  EXPECT_TRUE(oracles_accept(valid, e.bytes, "bom_inside"));
}

// The integer -0 ------------------------------------------------------------------------------
// JSON.parse gives -0; every integer tag reaches the TypeScript decoder as +0, a float makes
// Python read a float and 0xD5 a Decimal.

TEST(rule_negative_zero, the_integer_minus_zero_is_refused) {
  for (const char* json :
       {"-0", " -0 ", "[-0]", "[0,-0]", "{\"a\":-0}", "[ -0\n]", "[1,\t-0,2]", "{\"a\":[{\"b\":-0}]}",
        "[\"x:-0 \",-0]", "[-0,123456789012345678901234567890]", "[-0,1e400]"}) {
    const encoded e = encode(json);
    EXPECT_EQ(e.result.error, transcode_error::negative_zero) << json;
    EXPECT_TRUE(e.bytes.empty());
  }
}

TEST(rule_negative_zero, float_spellings_and_minus_zero_in_strings_are_exact) {
  const std::string json =
      R"([-0.0,-0e0,-0E+1,-1e-400,0,-10,"-0","a,-0]","x:-0 ",{"-0":-0.0},"2024-01-05"])";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok()) << reason_token(e.result.error);
  EXPECT_TRUE(oracles_accept(json, e.bytes, "neg_zero_floats"));
}

TEST(rule_negative_zero, only_a_token_outside_strings_counts) {
  for (const char* json : {R"([0,"a\" -0"])", R"([0,"\\-0 \"-0"])", "[0,1e-0,2E-0]", R"({"k":0,"-0":" -0"})"}) {
    const encoded e = encode(json);
    EXPECT_TRUE(e.result.ok()) << json << ": " << reason_token(e.result.error);
  }
  for (const char* json : {R"(["\\",-0])", R"(["a\"",-0])", R"({"s":"\u0022","n":-0})"}) {
    EXPECT_EQ(encode(json).result.error, transcode_error::negative_zero) << json;
  }
}

TEST(rule_negative_zero, minus_zero_in_a_string_keeps_floats_packed) {
  // A zero and " -0" in a string: the same walk (and packing) as with " +0" there.
  const std::string floats = "[1.5,2.5,3.5,4.5,5.5,6.5]";
  const auto with = [&](const char* s) {
    return std::string(R"({"a":)") + floats + R"(,"n":0,"s":")" + s + "\"}";
  };
  const encoded minus = encode(with(" -0"), true, 2);
  const encoded plus = encode(with(" +0"), true, 2);
  ASSERT_TRUE(minus.result.ok()) << reason_token(minus.result.error);
  ASSERT_TRUE(plus.result.ok());
  ASSERT_EQ(minus.bytes.size(), plus.bytes.size());
  std::size_t differing = 0;
  for (std::size_t i = 0; i < plus.bytes.size(); ++i) differing += minus.bytes[i] != plus.bytes[i];
  EXPECT_EQ(differing, 1u);
  // And a packed array at depth 128 stays one value there.
  const std::string deep = nested_arrays(126, "[[1.5,-2.25,0.5],0,\" -0\"]");
  EXPECT_TRUE(encode(deep, true, 1).result.ok());
}

::testing::AssertionResult check_node_text(std::string_view json,
                                           const std::vector<std::uint8_t>& message,
                                           const std::string& name) {
  write_file(scratch_dir() / (name + ".json"), json);
  write_file(scratch_dir() / (name + ".bfast"), message);
  const oracle_verdict v = check_node(scratch_dir() / (name + ".json"), scratch_dir() / (name + ".bfast"));
  if (v.ran_ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << v.message;
}

TEST(rule_negative_zero, the_oracle_comparison_tells_minus_zero_from_zero) {
  // Small int 0 for the JSON -0: what the transcoder used to send. check.js said ok.
  const std::vector<std::uint8_t> zero{'B', 'F', 0, 1, 0, 0, tag::small_int};
  EXPECT_FALSE(check_node_text("-0", zero, "neg_zero_as_int"));
  EXPECT_TRUE(check_node_text("0", zero, "zero_as_int"));
}

// Depth with packed floats ---------------------------------------------------------------------

TEST(rule_depth, a_packed_float_array_at_depth_128_is_one_value) {
  const std::string json = nested_arrays(127, "[1.5,-2.25,0.0]");
  EXPECT_EQ(encode(json).result.error, transcode_error::too_deep);
  const encoded packed = encode(json, true, 1);
  ASSERT_TRUE(packed.result.ok()) << reason_token(packed.result.error);
  EXPECT_TRUE(oracles_accept(json, packed.bytes, "packed_at_128"));
  // One level deeper the array itself is at 129.
  EXPECT_EQ(encode(nested_arrays(128, "[1.5]"), true, 1).result.error, transcode_error::too_deep);
}

// The JSON parser's limit ----------------------------------------------------------------------

TEST(oracle_limits, integers_json_loads_refuses_are_skipped_not_judged) {
  const std::string json = "[" + repeat("9", 5000) + "]";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  write_file(scratch_dir() / "digits_5000.json", json);
  write_file(scratch_dir() / "digits_5000.bfast", e.bytes);
  const oracle_verdict py = check_python(scratch_dir() / "digits_5000.json", scratch_dir() / "digits_5000.bfast");
  EXPECT_TRUE(py.skipped) << py.message;
  EXPECT_FALSE(py.ran_ok);
  EXPECT_TRUE(oracles_accept(json, e.bytes, "digits_5000"));
}

}  // namespace
}  // namespace bfast::test
