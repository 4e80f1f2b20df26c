#include "validation_copy.hpp"

#include <cstring>
#include <string_view>

#include "json_text.hpp"

namespace bfast::detail {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads "\uXXXX" at position i; returns the code unit or -1.
long escape_at(const std::string& t, std::size_t i) {
  if (i + 6 > t.size() || t[i] != '\\' || t[i + 1] != 'u') return -1;
  long v = 0;
  for (std::size_t k = 2; k < 6; ++k) {
    const int h = hex_value(t[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

bool number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Walks a string body from just after its opening quote; returns the index after the closing
// quote (or the end of the text).
std::size_t string_end(std::string& t, std::size_t i, neutralized& n) {
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') return i + 1;
    if (c != '\\') {
      ++i;
      continue;
    }
    const long unit = escape_at(t, i);
    if (unit < 0) {
      i += 2;  // another escape such as \\ or \"
      continue;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const long next = escape_at(t, i + 6);
      if (next >= 0xDC00 && next <= 0xDFFF) {
        i += 12;
        continue;
      }
    }
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      t.replace(i, 6, "\\u0020");
      ++n.lone_surrogates;
    }
    i += 6;
  }
  return i;
}

}  // namespace

neutralized neutralize_for_validation(std::string& t) {
  neutralized n;
  std::size_t i = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      i = string_end(t, i + 1, n);
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::size_t end = i;
      while (end < t.size() && number_char(t[end])) ++end;
      bool is_integer = false;
      if (json_number_syntax(std::string_view(t).substr(i, end - i), is_integer)) {
        t[i] = '0';
        std::memset(t.data() + i + 1, ' ', end - i - 1);
        ++n.numbers;
      }
      i = end;
      continue;
    }
    ++i;
  }
  return n;
}

}  // namespace bfast::detail
