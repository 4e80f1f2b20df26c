// Appends B-FAST values to the body buffer. Shared by both parse paths of the transcoder.
#pragma once
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "bfast/byte_buffer.hpp"
#include "bfast/format.hpp"

namespace bfast::detail {

class body_writer {
 public:
  explicit body_writer(byte_buffer& out) noexcept : out_(out) {}

  void write_null() { out_.push_back(tag::null_v); }
  void write_bool(bool v) { out_.push_back(v ? tag::true_v : tag::false_v); }

  void write_int(std::int64_t v) {
    if (v >= 0 && v <= 7) {
      out_.push_back(static_cast<std::uint8_t>(tag::small_int | v));
      return;
    }
    std::uint8_t* p = out_.ensure(9);
    p[0] = tag::int64;
    std::memcpy(p + 1, &v, 8);  // little-endian host (checked in format tests)
    out_.commit(9);
  }

  // Integers beyond the i64 range keep their exact digits as a decimal.
  void write_big_uint(std::uint64_t v) {
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, v);
    write_text(tag::decimal, std::string_view(digits, static_cast<std::size_t>(r.ptr - digits)));
  }

  void write_double(double v) {
    std::uint8_t* p = out_.ensure(9);
    p[0] = tag::float64;
    std::memcpy(p + 1, &v, 8);
    out_.commit(9);
  }

  // Tags with a u32 length and text: strings, decimals.
  void write_text(std::uint8_t t, std::string_view s) {
    std::uint8_t* p = out_.ensure(5 + s.size());
    p[0] = t;
    store_u32(p + 1, static_cast<std::uint32_t>(s.size()));
    if (!s.empty()) std::memcpy(p + 5, s.data(), s.size());
    out_.commit(5 + s.size());
  }
  void write_string(std::string_view s) { write_text(tag::string, s); }

  // Returns the offset of the count, patched by end_array().
  [[nodiscard]] std::size_t begin_array() {
    std::uint8_t* p = out_.ensure(5);
    p[0] = tag::array;
    out_.commit(5);
    return out_.size() - 4;
  }
  void end_array(std::size_t count_at, std::uint32_t count) {
    store_u32(out_.data() + count_at, count);
  }
  void write_array_header(std::uint32_t count) {
    std::uint8_t* p = out_.ensure(5);
    p[0] = tag::array;
    store_u32(p + 1, count);
    out_.commit(5);
  }

  void begin_object() { out_.push_back(tag::object); }
  void write_key(std::uint32_t index) {
    std::uint8_t* p = out_.ensure(4);
    store_u32(p, index);
    out_.commit(4);
  }
  void end_object() { out_.push_back(tag::object_end); }

  void begin_float_array(std::uint32_t count) {
    std::uint8_t* p = out_.ensure(5 + std::size_t{count} * 8);
    p[0] = tag::float64_array;
    store_u32(p + 1, count);
    out_.commit(5);
  }
  void write_packed_double(double v) {
    std::memcpy(out_.ensure(8), &v, 8);
    out_.commit(8);
  }

 private:
  byte_buffer& out_;
};

}  // namespace bfast::detail
