#include "json_generator.hpp"

#include <cstdio>

#include "json_model.hpp"

namespace bfast::test {
namespace {

constexpr const char* edge_integers[] = {
    "0", "1", "7", "8", "-1", "-7", "-8", "127", "128", "255", "256", "-129",
    "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
    "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993",
    "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "-9223372036854775809", "18446744073709551615", "18446744073709551616",
    "-18446744073709551616", "100000000000000000000000000000000000000000"};

constexpr const char* edge_floats[] = {
    "0.0", "-0.0", "1.0", "-1.0", "7.0", "0.5", "0.1", "0.2", "0.30000000000000004", "1e0",
    "1E2", "1e+2", "1e-2", "2.5E-3", "5e-324", "4.9406564584124654e-324",
    "2.2250738585072011e-308", "2.2250738585072014e-308", "1.7976931348623157e308",
    "1.7976931348623158e308", "1e308", "1e400", "-1e400", "1e-400", "-1e-400", "9007199254740993.0",
    "123456789012345678901234567890.123456789", "3.141592653589793238462643383279",
    "0.000001", "1e21", "1e22", "1e23", "-9.999999999999999e22", "6.02214076e23"};

void append_u_escape(std::string& out, std::uint32_t unit, bool upper) {
  char buf[8];
  std::snprintf(buf, sizeof buf, upper ? "\\u%04X" : "\\u%04x", unit);
  out += buf;
}

}  // namespace

void json_generator::ws(std::string& out) {
  if (pretty_ws_ ? chance(0.5) : chance(0.1)) {
    static constexpr char spaces[] = {' ', '\t', '\n', '\r'};
    for (std::size_t n = 1 + below(3); n > 0; --n) out += spaces[below(4)];
  }
}

// Up to `max_chars` characters, each written in one of the ways JSON allows.
void json_generator::string(std::string& out, std::size_t max_chars) {
  out += '"';
  const std::size_t n = below(max_chars + 1);
  for (std::size_t i = 0; i < n; ++i) {
    switch (below(10)) {
      case 0: {
        static constexpr const char* simple[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
        out += simple[below(8)];
        break;
      }
      case 1: append_u_escape(out, static_cast<std::uint32_t>(below(0x20)), chance(0.5)); break;
      case 2: {  // a BMP escape outside the surrogates
        std::uint32_t cp = static_cast<std::uint32_t>(1 + below(0xFFFE));
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0x20AC;
        if (cp == 0xFEFF && i == 0) cp = 0x20AC;  // a leading U+FEFF is a poison of its own
        append_u_escape(out, cp, chance(0.5));
        break;
      }
      case 3: {  // a pair of surrogate escapes
        const auto cp = static_cast<std::uint32_t>(0x10000 + below(0x100000));
        append_u_escape(out, 0xD800 + ((cp - 0x10000) >> 10), chance(0.5));
        append_u_escape(out, 0xDC00 + ((cp - 0x10000) & 0x3FF), chance(0.5));
        break;
      }
      case 4: {  // raw multi-byte UTF-8
        static constexpr std::uint32_t cps[] = {0xE9, 0x3B1, 0x20AC, 0x4E2D, 0xFFFD, 0x1F600, 0x10FFFF, 0x7FF, 0x800, 0xFEFF};
        // U+FEFF is exact anywhere but first (see the leading_bom poison).
        append_utf8(out, i == 0 ? 0xE9 : cps[below(std::size(cps))]);
        break;
      }
      default: out += static_cast<char>('a' + below(26)); break;
    }
  }
  out += '"';
}

std::string json_generator::key() {
  // Mostly from a small pool, so keys repeat across objects; sometimes fresh or long.
  std::string k;
  const std::size_t pick = below(20);
  if (pick < 12) {
    k = "\"k" + std::to_string(below(40)) + "\"";
  } else if (pick < 16) {
    k = "\"f" + std::to_string(rng_() % 100000) + "\"";
  } else if (pick == 16) {
    k.assign(2, '"');
  } else if (pick == 17) {
    // 255 UTF-8 bytes exactly, some of them as escapes.
    k.assign(1, '"');
    std::size_t bytes = 0;
    while (bytes + 3 <= 255 && chance(0.9)) {
      if (chance(0.5)) {
        append_u_escape(k, 0x20AC, false);
      } else {
        append_utf8(k, 0x4E2D);
      }
      bytes += 3;
    }
    k.append(255 - bytes, 'x');
    k += '"';
  } else {
    std::string s;
    string(s, 12);
    k = s;
  }
  return k;
}

void json_generator::integer(std::string& out) {
  if (chance(0.5)) {
    out += edge_integers[below(std::size(edge_integers))];
    return;
  }
  if (chance(0.3)) out += '-';
  const std::size_t digits = 1 + below(chance(0.8) ? 19 : 45);
  out += static_cast<char>('1' + below(9));
  for (std::size_t i = 1; i < digits; ++i) out += static_cast<char>('0' + below(10));
}

void json_generator::floating(std::string& out) {
  if (chance(0.4)) {
    out += edge_floats[below(std::size(edge_floats))];
    return;
  }
  if (chance(0.3)) out += '-';
  const std::size_t int_digits = 1 + below(chance(0.9) ? 6 : 30);
  out += int_digits == 1 ? static_cast<char>('0' + below(10)) : static_cast<char>('1' + below(9));
  for (std::size_t i = 1; i < int_digits; ++i) out += static_cast<char>('0' + below(10));
  const bool fraction = chance(0.7);
  if (fraction) {
    out += '.';
    for (std::size_t n = 1 + below(chance(0.9) ? 17 : 40); n > 0; --n) out += static_cast<char>('0' + below(10));
  }
  if (!fraction || chance(0.4)) {
    out += chance(0.5) ? 'e' : 'E';
    if (chance(0.5)) out += chance(0.5) ? '-' : '+';
    out += std::to_string(below(chance(0.9) ? 30 : 400));
  }
}

void json_generator::number(std::string& out) {
  if (chance(0.5)) {
    integer(out);
  } else {
    floating(out);
  }
}

void json_generator::array(std::string& out, int depth, std::size_t count) {
  out += '[';
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    ws(out);
    value(out, depth + 1);
    ws(out);
  }
  out += ']';
}

void json_generator::object(std::string& out, int depth, std::size_t count) {
  out += '{';
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += ',';
    ws(out);
    out += key();
    ws(out);
    out += ':';
    ws(out);
    value(out, depth + 1);
    ws(out);
  }
  out += '}';
}

void json_generator::value(std::string& out, int depth) {
  if (budget_ > 0) --budget_;
  const bool leaf = depth >= depth_limit_ || budget_ == 0;
  const std::size_t pick = below(leaf ? 6 : 8);
  switch (pick) {
    case 0: out += "null"; break;
    case 1: out += chance(0.5) ? "true" : "false"; break;
    case 2:
    case 3: number(out); break;
    case 4:
    case 5: string(out, 24); break;
    case 6: array(out, depth, below(6)); break;
    default: object(out, depth, below(6)); break;
  }
}

generated_document json_generator::document() {
  generated_document doc;
  std::string& out = doc.text;
  pretty_ws_ = chance(0.2);
  depth_limit_ = 6;
  budget_ = 400;
  ws(out);
  if (chance(1.0 / 64)) {
    // Past the 1,000,000-byte parallel LZ4 threshold, low entropy: a run of one byte, or one
    // small value repeated.
    doc.shape = "large";
    const std::size_t n = 1'000'000 + below(300'000);
    if (chance(0.5)) {
      out += '"' + std::string(n, static_cast<char>('a' + below(26))) + '"';
    } else {
      static constexpr const char* items[] = {"0", "1.5", "null", "\"x\"", "{\"k\":7}"};
      const std::string item = items[below(std::size(items))];
      out += '[' + item;
      while (out.size() < n) out += ',' + item;
      out += ']';
    }
    return doc;
  }
  switch (below(8)) {
    case 0:
    case 1: {  // nested right up to the limit (depth 128 is fine), or one level beyond it
      const bool too_deep = below(2) == 1;
      doc.shape = too_deep ? "too deep" : "deep";
      if (too_deep) doc.expected = transcode_error::too_deep;
      const int containers = too_deep ? 128 : 100 + static_cast<int>(below(28));
      std::string closers;
      for (int i = 0; i < containers; ++i) {
        if (chance(0.5)) {
          out += '[';
          closers += ']';
        } else {
          out += '{' + key() + ':';
          closers += '}';
        }
        ws(out);
      }
      budget_ = 0;
      value(out, containers + 1);  // a leaf: no containers of its own
      out.append(closers.rbegin(), closers.rend());
      break;
    }
    case 2: {  // wide
      doc.shape = "wide";
      budget_ = 20000;
      depth_limit_ = 3;
      array(out, 1, 500 + below(3000));
      break;
    }
    case 3: {  // many distinct keys, crossing the 0x7F indices
      doc.shape = "many keys";
      out += '{';
      const std::size_t n = 120 + below(900);
      for (std::size_t i = 0; i < n; ++i) {
        if (i > 0) out += ',';
        out += "\"key" + std::to_string(i) + "\":";
        budget_ = 2;
        value(out, 2);
      }
      out += '}';
      break;
    }
    case 4: {  // scalar root
      doc.shape = "scalar";
      budget_ = 0;
      value(out, 1);
      break;
    }
    case 5: {  // a poison somewhere inside an ordinary document
      doc.shape = "poisoned";
      std::string inner;
      budget_ = 60;
      array(inner, 2, 1 + below(5));
      std::string poison;
      switch (below(5)) {
        case 0:
          poison = chance(0.5) ? "\"x\\ud800y\"" : "\"\\udc00\"";
          doc.expected = transcode_error::lone_surrogate;
          break;
        case 3: {  // U+FEFF first in a string value or a key, escaped or raw
          static constexpr const char* boms[] = {"\"\\ufeff\"", "\"\\uFEFFx\"", "\"\xEF\xBB\xBFx\"",
                                                 "{\"\\ufeffk\":1}", "{\"\xEF\xBB\xBF\":[]}"};
          poison = boms[below(std::size(boms))];
          doc.expected = transcode_error::leading_bom;
          break;
        }
        case 4: {  // the integer -0, which JSON.parse keeps negative
          static constexpr const char* zeros[] = {"-0", " -0 ", "{\"z\":-0}", "[-0]", "[0,\n-0]"};
          poison = zeros[below(std::size(zeros))];
          doc.expected = transcode_error::negative_zero;
          break;
        }
        case 1:
          poison = "{\"" + std::string(256 + below(10), 'L') + "\":1}";
          doc.expected = transcode_error::key_too_long;
          break;
        default:
          poison = "{\"__proto__\":{}}";
          doc.expected = transcode_error::proto_key;
          break;
      }
      out += "[" + inner + "," + poison + "," + inner + "]";
      break;
    }
    default: {
      doc.shape = "mixed";
      budget_ = 300;
      if (chance(0.5)) {
        object(out, 1, 1 + below(8));
      } else {
        array(out, 1, 1 + below(8));
      }
      break;
    }
  }
  ws(out);
  return doc;
}

}  // namespace bfast::test
