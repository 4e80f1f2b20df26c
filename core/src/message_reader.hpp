// Walks one uncompressed B-FAST message exactly as the deployed decoders read it, checking every
// size against the remaining bytes, and reports each value to a sink (JSON writer, counter, ...).
#pragma once
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"

namespace bfast::detail {

template <class Sink>
class message_reader {
 public:
  message_reader(std::span<const std::uint8_t> m, Sink& sink, int max_depth)
      : p_(m.data()), end_(m.data() + m.size()), begin_(m.data()), sink_(sink),
        max_depth_(max_depth) {}

  decode_result read() {
    if (!header()) return result_;
    value(1);
    return result_;
  }
  [[nodiscard]] std::size_t offset() const noexcept { return static_cast<std::size_t>(p_ - begin_); }
  [[nodiscard]] std::size_t table_end() const noexcept { return table_end_; }
  [[nodiscard]] std::size_t fillers() const noexcept { return fillers_; }
  [[nodiscard]] const std::vector<std::string_view>& keys() const noexcept { return keys_; }

 private:
  bool fail(decode_error e) {
    if (result_.ok()) result_ = {e, offset()};
    return false;
  }
  [[nodiscard]] std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }

  bool header() {
    if (remaining() < 2 || p_[0] != magic_0 || p_[1] != magic_1) return fail(decode_error::bad_magic);
    if (remaining() < header_size) return fail(decode_error::truncated);
    if (p_[3] != version) return fail(decode_error::bad_version);
    const std::size_t n = static_cast<std::size_t>(p_[4]) | (static_cast<std::size_t>(p_[5]) << 8);
    p_ += header_size;
    if (n > remaining()) return fail(decode_error::truncated);  // each entry takes >= 1 byte
    keys_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (remaining() < 1) return fail(decode_error::truncated);
      const std::size_t len = *p_++;
      if (len > remaining()) return fail(decode_error::truncated);
      std::string_view k(reinterpret_cast<const char*>(p_), len);
      if (!sink_.check_utf8(k)) return fail(decode_error::invalid_utf8);
      if (len == 0 && is_filler_index(static_cast<std::uint32_t>(i))) ++fillers_;
      keys_.push_back(k);
      p_ += len;
    }
    table_end_ = offset();
    return true;
  }

  bool need(std::size_t n) { return n <= remaining() ? true : fail(decode_error::truncated); }

  std::uint32_t u32() {
    const std::uint32_t v = load_u32(p_);
    p_ += 4;
    return v;
  }

  // A u32 length and that many bytes.
  bool sized(std::string_view& out) {
    if (!need(4)) return false;
    const std::uint32_t len = u32();
    if (!need(len)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    return true;
  }

  bool value(int depth) {
    if (depth > max_depth_) return fail(decode_error::too_deep);
    if (!need(1)) return false;
    const std::uint8_t t = *p_++;
    sink_.count(t, depth);
    switch (t) {
      case tag::null_v: sink_.on_null(); return true;
      case tag::false_v: sink_.on_bool(false); return true;
      case tag::true_v: sink_.on_bool(true); return true;
      case tag::int64: {
        if (!need(8)) return false;
        std::int64_t v;
        std::memcpy(&v, p_, 8);
        p_ += 8;
        sink_.on_int(v);
        return true;
      }
      case tag::float64: {
        if (!need(8)) return false;
        double d;
        std::memcpy(&d, p_, 8);
        p_ += 8;
        sink_.on_double(d);
        return true;
      }
      case tag::string:
      case tag::datetime:
      case tag::date:
      case tag::time:
      case tag::uuid:
      case tag::decimal: {
        const std::uint8_t* at = p_ - 1;
        std::string_view s;
        if (!sized(s)) return false;
        if (!sink_.check_utf8(s)) {
          p_ = at;
          return fail(decode_error::invalid_utf8);
        }
        sink_.on_text(t, s);
        return true;
      }
      case tag::bytes: {
        std::string_view s;
        if (!sized(s)) return false;
        sink_.on_bytes(s);
        return true;
      }
      case tag::array: return array(depth);
      case tag::object: return object(depth);
      case tag::float64_array: {
        if (!need(4)) return false;
        const std::uint32_t n = u32();
        if (!need(std::size_t{n} * 8)) return false;
        sink_.begin_array(n, depth);
        for (std::uint32_t i = 0; i < n; ++i) {
          double d;
          std::memcpy(&d, p_, 8);
          p_ += 8;
          sink_.element(i, depth);
          sink_.on_double(d);
        }
        sink_.end_array(n, depth);
        return true;
      }
      default:
        if (t > tag::int64 && t <= 0x3F) {  // decoders read 0x39..0x3F as 9..15
          sink_.on_int(t & 0x0F);
          return true;
        }
        if (t >= tag::small_int && t < tag::int64) {
          sink_.on_int(t & 0x0F);
          return true;
        }
        --p_;
        return fail(decode_error::bad_tag);
    }
  }

  bool array(int depth) {
    if (!need(4)) return false;
    const std::uint32_t n = u32();
    // Each element takes at least one byte: refuse counts the input cannot hold before looping.
    if (!need(n)) return false;
    sink_.begin_array(n, depth);
    for (std::uint32_t i = 0; i < n; ++i) {
      sink_.element(i, depth);
      if (!value(depth + 1)) return false;
    }
    sink_.end_array(n, depth);
    return true;
  }

  bool object(int depth) {
    sink_.begin_object(depth);
    std::size_t i = 0;
    for (;;) {
      if (!need(1)) return false;
      if (*p_ == tag::object_end) {
        ++p_;
        break;
      }
      if (!need(4)) return false;
      const std::uint32_t index = u32();
      if (index >= keys_.size()) {
        p_ -= 4;
        return fail(decode_error::bad_key_index);
      }
      sink_.key(i++, keys_[index], depth);
      if (!value(depth + 1)) return false;
    }
    sink_.end_object(i, depth);
    return true;
  }

  const std::uint8_t* p_;
  const std::uint8_t* end_;
  const std::uint8_t* begin_;
  Sink& sink_;
  int max_depth_;
  decode_result result_;
  std::vector<std::string_view> keys_;
  std::size_t table_end_ = 0;
  std::size_t fillers_ = 0;
};

}  // namespace bfast::detail
