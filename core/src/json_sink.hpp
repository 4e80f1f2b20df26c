// The message_reader sinks that write a message's JSON text, and that measure it exactly before
// anything is written, so a caller can bound and reserve the output first.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "base64.hpp"
#include "bfast/format.hpp"
#include "json_text.hpp"

namespace bfast::detail {

inline bool valid_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

// Writes JSON text; `pretty` indents by two spaces per level.
class json_sink {
 public:
  json_sink(std::string& out, bool pretty) : out_(out), pretty_(pretty) {}

  bool check_utf8(std::string_view s) { return valid_utf8(s); }
  void count(std::uint8_t, int) {}
  void on_null() { out_ += "null"; }
  void on_bool(bool b) { out_ += b ? "true" : "false"; }
  void on_int(std::int64_t v) { append_json_int(out_, v); }
  void on_double(double d) { append_json_double(out_, d); }
  void on_text(std::uint8_t t, std::string_view s) {
    if (t == tag::decimal && is_json_number(s)) {
      out_ += s;
    } else if (t == tag::uuid && s.size() == 32) {
      std::string h;
      h.reserve(36);
      for (std::size_t i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) h += '-';
        h += s[i];
      }
      append_json_string(out_, h);
    } else {
      append_json_string(out_, s);
    }
  }
  void on_bytes(std::string_view b) {
    out_ += '"';
    append_base64(out_, b);
    out_ += '"';
  }
  void begin_array(std::uint32_t, int) { out_ += '['; }
  void element(std::uint32_t i, int depth) {
    if (i > 0) out_ += ',';
    newline(depth);
  }
  void end_array(std::uint32_t n, int depth) {
    if (n > 0) newline(depth - 1);
    out_ += ']';
  }
  void begin_object(int) { out_ += '{'; }
  void key(std::size_t i, std::string_view k, int depth) {
    if (i > 0) out_ += ',';
    newline(depth);
    append_json_string(out_, k);
    out_ += pretty_ ? ": " : ":";
  }
  void end_object(std::size_t n, int depth) {
    if (n > 0) newline(depth - 1);
    out_ += '}';
  }

 private:
  void newline(int depth) {
    if (!pretty_) return;
    out_ += '\n';
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
  }
  std::string& out_;
  bool pretty_;
};

// Counts the bytes json_sink (compact) would write, and notes the NaNs, which no JSON text can
// carry (infinities can: 1e999), without allocating per value.
class json_size_sink {
 public:
  bool check_utf8(std::string_view s) { return valid_utf8(s); }
  void count(std::uint8_t, int) {}
  void on_null() { bytes_ += 4; }
  void on_bool(bool b) { bytes_ += b ? 4 : 5; }
  void on_int(std::int64_t v) {
    number_.clear();
    append_json_int(number_, v);
    bytes_ += number_.size();
  }
  void on_double(double d) {
    if (std::isnan(d)) ++nans_;
    number_.clear();
    append_json_double(number_, d);
    bytes_ += number_.size();
  }
  void on_text(std::uint8_t t, std::string_view s) {
    if (t == tag::decimal && is_json_number(s)) bytes_ += s.size();
    else if (t == tag::uuid && s.size() == 32) bytes_ += json_string_bytes(s) + 4;  // 4 hyphens
    else bytes_ += json_string_bytes(s);
  }
  void on_bytes(std::string_view b) { bytes_ += 2 + (b.size() + 2) / 3 * 4; }
  void begin_array(std::uint32_t, int) { ++bytes_; }
  void element(std::uint32_t i, int) { bytes_ += i > 0 ? 1 : 0; }
  void end_array(std::uint32_t, int) { ++bytes_; }
  void begin_object(int) { ++bytes_; }
  void key(std::size_t i, std::string_view k, int) {
    bytes_ += (i > 0 ? 1 : 0) + json_string_bytes(k) + 1;
  }
  void end_object(std::size_t, int) { ++bytes_; }

  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] std::size_t nans() const noexcept { return nans_; }

 private:
  std::size_t bytes_ = 0;
  std::size_t nans_ = 0;
  std::string number_;  // one number's text at a time: short, so it stays in place
};

}  // namespace bfast::detail
