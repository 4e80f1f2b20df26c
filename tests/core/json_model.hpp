// A small, independent JSON reader for tests: it builds the value that Python's json.loads makes
// of a text (integers exact at any size, floats correctly rounded with overflow to infinity,
// duplicate keys keep their first position and their last value), so two texts can be compared
// for "parses equal" without trusting the parser under test.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bfast::test {

struct json_member;

struct json_value {
  enum class kind { null_v, boolean, integer, floating, string, array, object };
  kind type = kind::null_v;
  bool boolean = false;
  std::string text;  // integer: canonical decimal digits ("-0" -> "0"); string: UTF-8
  double number = 0;
  std::vector<json_value> items;
  std::vector<json_member> members;
};

struct json_member {
  std::string key;
  json_value value;
};

// Appends the UTF-8 form of code point `cp` (not a surrogate, at most U+10FFFF).
void append_utf8(std::string& out, std::uint32_t cp);

// Returns nullopt when `text` is not one JSON value (RFC 8259), or holds a lone surrogate escape.
[[nodiscard]] std::optional<json_value> parse_json_model(std::string_view text);

// Empty when equal; otherwise where and how they differ. Floats compare bit for bit.
[[nodiscard]] std::string json_difference(const json_value& expected, const json_value& actual,
                                          const std::string& path = "$");

}  // namespace bfast::test
