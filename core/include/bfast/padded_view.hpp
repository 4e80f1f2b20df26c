// JSON text with the parser's padding readable after it, as simdjson's padded_string_view: built
// only from a buffer that has the padding, so a transcoder given one parses it in place.
#pragma once
#include <array>
#include <cstddef>
#include <string_view>

#include "bfast/byte_buffer.hpp"

namespace bfast {

class padded_view {
 public:
  // Readable bytes the parser needs after the text (simdjson's SIMDJSON_PADDING).
  static constexpr std::size_t padding = 64;

  // Empty text.
  padded_view() noexcept : text_(empty_padding_.data(), 0) {}

  // The bytes of `buffer`, reserving the padding after them first when its capacity lacks it
  // (only then can the bytes move). The view lives as long as the buffer is not written to.
  [[nodiscard]] static padded_view of(byte_buffer& buffer) {
    buffer.reserve(buffer.size() + padding);
    return padded_view(buffer.view());
  }

  [[nodiscard]] std::string_view text() const noexcept { return text_; }
  [[nodiscard]] const char* data() const noexcept { return text_.data(); }
  [[nodiscard]] std::size_t size() const noexcept { return text_.size(); }

 private:
  explicit padded_view(std::string_view text) noexcept
      : text_(text.data() ? text : std::string_view(empty_padding_.data(), 0)) {}

  static constexpr std::array<char, padding> empty_padding_{};
  std::string_view text_;
};

}  // namespace bfast
