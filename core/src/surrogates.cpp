#include "surrogates.hpp"

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

}  // namespace

std::size_t neutralize_lone_surrogates(std::string& text) {
  std::size_t replaced = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '\\') {
      ++i;
      continue;
    }
    const long unit = escape_at(text, i);
    if (unit < 0) {
      i += 2;  // some other escape, e.g. \\ or \"
      continue;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      const long next = escape_at(text, i + 6);
      if (next >= 0xDC00 && next <= 0xDFFF) {
        i += 12;
        continue;
      }
    }
    if (unit >= 0xD800 && unit <= 0xDFFF) {
      text.replace(i, 6, "\\u0020");
      ++replaced;
    }
    i += 6;
  }
  return replaced;
}

}  // namespace bfast::detail
