// The message's key table: keys in order of first appearance, with an empty filler entry at every
// index whose low byte is 0x7F (such an index would read as the end of an object).
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/status.hpp"

namespace bfast::detail {

class key_table {
 public:
  void clear() noexcept;

  // Finds or adds `key`; its views must stay valid until clear().
  [[nodiscard]] transcode_error intern(std::string_view key, std::uint32_t& index);

  [[nodiscard]] std::size_t entries() const noexcept { return keys_.size(); }
  [[nodiscard]] std::size_t encoded_size() const noexcept { return encoded_bytes_; }
  // Appends "BF", flags, version, the count and the entries.
  void write_header(byte_buffer& out) const;

 private:
  struct slot {
    std::uint32_t hash;
    std::uint32_t index_plus_one;  // 0 = empty
  };
  void rehash(std::size_t new_size);

  std::vector<std::string_view> keys_;
  std::vector<slot> slots_;
  std::size_t used_ = 0;
  std::size_t encoded_bytes_ = 0;
};

[[nodiscard]] std::uint32_t hash_key(std::string_view s) noexcept;

}  // namespace bfast::detail
