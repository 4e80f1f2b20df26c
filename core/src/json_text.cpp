#include "json_text.hpp"

#include <charconv>
#include <cmath>

namespace bfast::detail {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::size_t json_string_bytes(std::string_view s) noexcept {
  std::size_t n = 2;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != '"' && c != '\\') n += 1;
    else if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') n += 2;
    else n += 6;
  }
  return n;
}

void append_json_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_json_double(std::string& out, double d) {
  if (std::isnan(d)) {
    out += "null";  // JSON has no NaN; no JSON text can produce one
    return;
  }
  if (std::isinf(d)) {
    out += d > 0 ? "1e999" : "-1e999";  // parsers read these back as infinities
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view t(buf, static_cast<std::size_t>(r.ptr - buf));
  out += t;
  if (t.find_first_of(".e") == std::string_view::npos) out += ".0";
}

bool json_number_syntax(std::string_view t, bool& is_integer) noexcept {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t start = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i > start;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  is_integer = true;
  if (i < t.size() && t[i] == '.') {
    is_integer = false;
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    is_integer = false;
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

bool is_json_number(std::string_view t) noexcept {
  bool is_integer = false;
  return json_number_syntax(t, is_integer);
}

bool holds_negative_zero(std::string_view t) noexcept {
  const auto continues_number = [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E';
  };
  // Where strings are, found only up to a candidate: text without one costs a find("-0").
  std::size_t scanned = 0;
  bool in_string = false;
  const auto outside_string = [&](std::size_t at) {
    while (scanned < at) {
      const std::size_t next =
          in_string ? t.find_first_of("\\\"", scanned) : t.find('"', scanned);
      if (next == std::string_view::npos || next >= at) {
        scanned = at;
        break;
      }
      if (in_string && t[next] == '\\') {
        scanned = next + 2;  // the escaped character, whatever it is
        continue;
      }
      in_string = !in_string;
      scanned = next + 1;
    }
    return !in_string;
  };
  for (std::size_t i = t.find("-0"); i != std::string_view::npos; i = t.find("-0", i + 1)) {
    if (i + 2 < t.size() && continues_number(t[i + 2])) continue;
    // An exponent's sign ("1e-0") is no number of its own.
    if (i > 0 && (t[i - 1] == 'e' || t[i - 1] == 'E')) continue;
    if (outside_string(i)) return true;
  }
  return false;
}

}  // namespace bfast::detail
