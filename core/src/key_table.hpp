// The message's key table: keys in order of first appearance, with an empty filler entry at every
// index whose low byte is 0x7F (such an index would read as the end of an object).
#pragma once
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/status.hpp"

namespace bfast::detail {

[[nodiscard]] std::uint32_t hash_key(std::string_view s) noexcept;

// Key equality without a library call: keys are short, so compare with overlapping word loads.
[[nodiscard]] inline bool same_key(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      std::uint64_t u, v;
      std::memcpy(&u, x + i, 8);
      std::memcpy(&v, y + i, 8);
      if (u != v) return false;
    }
    std::uint64_t u, v;
    std::memcpy(&u, x + n - 8, 8);
    std::memcpy(&v, y + n - 8, 8);
    return u == v;
  }
  if (n >= 4) {
    std::uint32_t u0, v0, u1, v1;
    std::memcpy(&u0, x, 4);
    std::memcpy(&v0, y, 4);
    std::memcpy(&u1, x + n - 4, 4);
    std::memcpy(&v1, y + n - 4, 4);
    return u0 == v0 && u1 == v1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return false;
  }
  return true;
}

class key_table {
 public:
  void clear() noexcept;

  // Finds or adds `key`; its views must stay valid until clear().
  [[nodiscard]] transcode_error intern(std::string_view key, std::uint32_t& index);

  // As intern(), for the key that follows key `previous` in an object (no_previous for the
  // first). Objects in an array tend to repeat their keys in the same order, so the key that
  // followed `previous` last time is checked before hashing.
  static constexpr std::uint32_t no_previous = 0xFFFFFFFFu;
  [[nodiscard]] transcode_error intern_after(std::uint32_t previous, std::string_view key,
                                             std::uint32_t& index) {
    const std::size_t slot = static_cast<std::uint32_t>(previous + 1);  // no_previous -> 0
    if (slot < next_.size()) {
      const std::uint32_t guess = next_[slot];
      if (guess < keys_.size() && same_key(keys_[guess], key)) {
        index = guess;
        return transcode_error::ok;
      }
    }
    const transcode_error err = intern(key, index);
    if (err == transcode_error::ok) {
      if (slot >= next_.size()) next_.resize(keys_.size() + 1, no_previous);
      next_[slot] = index;
    }
    return err;
  }

  [[nodiscard]] std::size_t entries() const noexcept { return keys_.size(); }
  // Entry i: a key, or empty at a filler index.
  [[nodiscard]] std::string_view key(std::size_t i) const noexcept { return keys_[i]; }
  // Bytes the table's vectors hold.
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return keys_.capacity() * sizeof(std::string_view) + next_.capacity() * sizeof(std::uint32_t) +
           slots_.capacity() * sizeof(slot);
  }
  // The most a table of `entries` entries allocates: each vector may double, and a rehash holds
  // the old slots beside twice as many new ones.
  [[nodiscard]] static constexpr std::size_t bytes_bound(std::size_t entries) noexcept {
    return 2 * (entries + 1) * (sizeof(std::string_view) + sizeof(std::uint32_t)) +
           3 * (4 * entries + 256) * sizeof(slot);
  }
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
  std::vector<std::uint32_t> next_;  // by previous index + 1: the index that followed it last
  std::vector<slot> slots_;
  std::size_t used_ = 0;
  std::size_t encoded_bytes_ = 0;
};

}  // namespace bfast::detail
