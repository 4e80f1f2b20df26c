// The decoder on well-formed messages: every tag of the format, number printing, pretty output,
// the depth cap, and the layout report behind `bfast inspect`.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/transcoder.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

std::string json_of(const std::vector<std::uint8_t>& m) {
  const decoded d = decode(m);
  EXPECT_TRUE(d.result.ok()) << reason_token(d.result.error) << " at " << d.result.offset;
  return d.json;
}

std::string json_of_root(message_builder b) { return json_of(b.build()); }

TEST(decoder_tags, scalars) {
  EXPECT_EQ(json_of_root(message_builder().u8(tag::null_v)), "null");
  EXPECT_EQ(json_of_root(message_builder().u8(tag::false_v)), "false");
  EXPECT_EQ(json_of_root(message_builder().u8(tag::true_v)), "true");
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(json_of_root(message_builder().u8(static_cast<std::uint8_t>(0x30 + i))), std::to_string(i));
  EXPECT_EQ(json_of_root(message_builder().u8(tag::int64).i64(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(json_of_root(message_builder().u8(tag::int64).i64(INT64_MAX)), "9223372036854775807");
  EXPECT_EQ(json_of_root(message_builder().u8(tag::int64).i64(3)), "3");
}

TEST(decoder_tags, small_integers_9_to_15_as_the_decoders_read_them) {
  for (int t = 0x39; t <= 0x3F; ++t)
    EXPECT_EQ(json_of_root(message_builder().u8(static_cast<std::uint8_t>(t))), std::to_string(t & 0x0F));
}

TEST(decoder_tags, floats_print_in_shortest_round_trip_form) {
  const auto f = [](double d) { return json_of_root(message_builder().u8(tag::float64).f64(d)); };
  EXPECT_EQ(f(0.1), "0.1");
  EXPECT_EQ(f(1.0), "1.0");  // stays a float when read back
  EXPECT_EQ(f(-0.0), "-0.0");
  EXPECT_EQ(f(100.0), "100.0");
  EXPECT_EQ(f(5e-324), "5e-324");
  EXPECT_EQ(f(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(f(0.30000000000000004), "0.30000000000000004");
  EXPECT_EQ(f(HUGE_VAL), "1e999");
  EXPECT_EQ(f(-HUGE_VAL), "-1e999");
  EXPECT_EQ(f(std::numeric_limits<double>::quiet_NaN()), "null");
  // Whatever it prints must parse back to the same bits, and not longer than needed.
  for (double d : {1e21, 1e22, 123456789.125, 2.2250738585072014e-308, 9007199254740993.0, 1e-7,
                   -3.5e100, 4.35, 0.5, 1.0 / 3.0}) {
    const std::string text = f(d);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), d) << text;
    const auto model = parse_json_model(text);
    ASSERT_TRUE(model.has_value()) << text;
    EXPECT_EQ(model->type, json_value::kind::floating) << text;
    char shortest[40];
    std::snprintf(shortest, sizeof shortest, "%.17g", d);
    EXPECT_LE(text.size(), std::string(shortest).size() + 2) << text;
  }
}

TEST(decoder_tags, strings_are_escaped_as_json) {
  EXPECT_EQ(json_of_root(message_builder().sized(tag::string, std::string_view("a\"b\\c\n\x01\0\x7f", 9))),
            "\"a\\\"b\\\\c\\n\\u0001\\u0000\x7f\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::string, "\xE2\x82\xAC\xF0\x9F\x98\x80")),
            "\"\xE2\x82\xAC\xF0\x9F\x98\x80\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::string, "")), "\"\"");
}

TEST(decoder_tags, bytes_become_a_base64_string) {
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, "")), "\"\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, "f")), "\"Zg==\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, "fo")), "\"Zm8=\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, "foo")), "\"Zm9v\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, "foobar")), "\"Zm9vYmFy\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::bytes, std::string_view("\xff\xfe\x00\x80", 4))),
            "\"//4AgA==\"");
}

TEST(decoder_tags, packed_float_array) {
  message_builder b;
  b.u8(tag::float64_array).u32(3).f64(1.5).f64(-0.0).f64(2.0);
  EXPECT_EQ(json_of_root(b), "[1.5,-0.0,2.0]");
  EXPECT_EQ(json_of_root(message_builder().u8(tag::float64_array).u32(0)), "[]");
}

TEST(decoder_tags, date_time_uuid_and_decimal) {
  EXPECT_EQ(json_of_root(message_builder().sized(tag::datetime, "2024-01-02T03:04:05")),
            "\"2024-01-02T03:04:05\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::date, "2024-01-02")), "\"2024-01-02\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::time, "03:04:05.123")), "\"03:04:05.123\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::uuid, "0123456789abcdef0123456789abcdef")),
            "\"01234567-89ab-cdef-0123-456789abcdef\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::decimal, "123456789012345678901234567890")),
            "123456789012345678901234567890");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::decimal, "-1.25e3")), "-1.25e3");
  // Decimal text that is not a JSON number stays readable as a string rather than breaking JSON.
  EXPECT_EQ(json_of_root(message_builder().sized(tag::decimal, "NaN")), "\"NaN\"");
  EXPECT_EQ(json_of_root(message_builder().sized(tag::decimal, "")), "\"\"");
}

TEST(decoder_tags, containers_keys_and_trailing_bytes) {
  message_builder b;
  b.key("a").key("b\"q");
  b.u8(tag::object).u32(0).u8(tag::array).u32(2).u8(0x31).u8(tag::null_v).u32(1).u8(tag::object)
      .u8(tag::object_end).u8(tag::object_end).raw("ignored trailing bytes");
  EXPECT_EQ(json_of_root(b), "{\"a\":[1,null],\"b\\\"q\":{}}");
}

TEST(decoder_tags, duplicate_keys_are_printed_as_they_come) {
  message_builder b;
  b.key("a").u8(tag::object).u32(0).u8(0x31).u32(0).u8(0x32).u8(tag::object_end);
  EXPECT_EQ(json_of_root(b), "{\"a\":1,\"a\":2}");
}

TEST(decoder_output, pretty_indents_two_spaces) {
  const encoded e = encode(R"({"a":[1,{"b":null}],"c":{},"d":[]})");
  ASSERT_TRUE(e.result.ok());
  std::string out;
  decode_options opt;
  opt.pretty = true;
  ASSERT_TRUE(decode_to_json(e.bytes, out, opt).ok());
  EXPECT_EQ(out, "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {},\n  \"d\": []\n}");
}

TEST(decoder_output, out_is_replaced_and_cleared_on_error) {
  const encoded e = encode("[1,2]");
  std::string out = "stale";
  ASSERT_TRUE(decode_to_json(e.bytes, out).ok());
  EXPECT_EQ(out, "[1,2]");
  std::vector<std::uint8_t> cut(e.bytes.begin(), e.bytes.end() - 1);
  EXPECT_FALSE(decode_to_json(cut, out).ok());
  EXPECT_TRUE(out.empty());
}

std::vector<std::uint8_t> nested_array_message(int depth) {
  message_builder b;
  for (int i = 1; i < depth; ++i) b.u8(tag::array).u32(1);
  b.u8(tag::array).u32(0);
  return b.build();
}

TEST(decoder_depth, cap_matches_the_python_decoder) {
  std::string out;
  EXPECT_TRUE(decode_to_json(nested_array_message(128), out).ok());
  const decode_result r = decode_to_json(nested_array_message(129), out);
  EXPECT_EQ(r.error, decode_error::too_deep);
  EXPECT_EQ(validate_message(nested_array_message(129)).error, decode_error::too_deep);
  EXPECT_TRUE(validate_message(nested_array_message(128)).ok());
}

TEST(decoder_depth, cap_is_configurable) {
  decode_options opt;
  opt.max_depth = 3;
  EXPECT_TRUE(validate_message(nested_array_message(3), opt).ok());
  EXPECT_EQ(validate_message(nested_array_message(4), opt).error, decode_error::too_deep);
}

TEST(decoder_depth, hostile_nesting_does_not_exhaust_the_stack) {
  EXPECT_EQ(validate_message(nested_array_message(1000000)).error, decode_error::too_deep);
  message_builder b;
  b.key("k");
  for (int i = 0; i < 1000000; ++i) b.u8(tag::object).u32(0);
  std::string out;
  EXPECT_EQ(decode_to_json(b.build(), out).error, decode_error::too_deep);
}

TEST(decoder_validate, agrees_with_decode_on_the_goldens) {
  for (const auto& p : files_in(shared_dir() / "conformance", ".bfast")) {
    const std::string bytes = read_file(p);
    const std::span<const std::uint8_t> m(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    EXPECT_TRUE(validate_message(m).ok()) << p;
    std::string out;
    EXPECT_TRUE(decode_to_json(m, out).ok()) << p;
  }
}

TEST(decoder_inspect, reports_layout_sizes_and_counts) {
  const std::string json = R"({"a":[1,2.5,"s",null,true,8],"b":{"a":false}})";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  std::vector<std::uint8_t> m = e.bytes;
  m.push_back(0xEE);  // one trailing byte
  message_info info;
  ASSERT_TRUE(inspect_message(m, info).ok());
  EXPECT_EQ(info.layout, message_layout::uncompressed);
  EXPECT_EQ(info.wire_bytes, m.size());
  EXPECT_EQ(info.message_bytes, m.size());
  EXPECT_EQ(info.table_entries, 2u);
  EXPECT_EQ(info.table_fillers, 0u);
  EXPECT_EQ(info.table_bytes, header_size + 2u + 2u);
  EXPECT_EQ(info.trailing_bytes, 1u);
  EXPECT_EQ(info.table_bytes + info.root_bytes + info.trailing_bytes, m.size());
  EXPECT_EQ(info.root_tag, tag::object);
  EXPECT_EQ(info.max_depth, 3);
  EXPECT_EQ(info.values, 10u);
  EXPECT_EQ(info.tag_counts[tag::object], 2u);
  EXPECT_EQ(info.tag_counts[tag::array], 1u);
  EXPECT_EQ(info.tag_counts[0x31], 1u);
  EXPECT_EQ(info.tag_counts[0x32], 0u);
  EXPECT_EQ(info.tag_counts[tag::int64], 1u);
  EXPECT_EQ(info.tag_counts[tag::float64], 1u);
  EXPECT_EQ(info.tag_counts[tag::string], 1u);
  EXPECT_EQ(info.tag_counts[tag::null_v], 1u);
  EXPECT_EQ(info.tag_counts[tag::true_v], 1u);
  EXPECT_EQ(info.tag_counts[tag::false_v], 1u);
  EXPECT_EQ(tag_name(tag::float64_array), "float64-array");
  EXPECT_EQ(tag_name(0x33), "small-int");
  EXPECT_EQ(tag_name(0xEE), "unknown");
}

TEST(decoder_inspect, counts_fillers) {
  std::string json = "{";
  for (int i = 0; i < 400; ++i) json += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
  json += "}";
  const encoded e = encode(json);
  ASSERT_TRUE(e.result.ok());
  message_info info;
  ASSERT_TRUE(inspect_message(e.bytes, info).ok());
  EXPECT_EQ(info.table_entries, 402u);
  EXPECT_EQ(info.table_fillers, 2u);
}

}  // namespace
}  // namespace bfast::test
