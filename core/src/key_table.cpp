#include "key_table.hpp"

#include <cstring>

#include "bfast/format.hpp"

namespace bfast::detail {

std::uint32_t hash_key(std::string_view s) noexcept {
  // Keys are short. Fixed-size, possibly overlapping loads keep the tail out of a byte loop
  // (a variable-length memcpy would stall on store forwarding).
  const char* p = s.data();
  const std::size_t n = s.size();
  auto load64 = [](const char* q) {
    std::uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
  };
  auto load32 = [](const char* q) {
    std::uint32_t w;
    std::memcpy(&w, q, 4);
    return std::uint64_t{w};
  };
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
      h = (h ^ load64(p + i)) * 0xFF51AFD7ED558CCDull;
      h ^= h >> 32;
    }
    h = (h ^ load64(p + n - 8)) * 0xC4CEB9FE1A85EC53ull;
  } else if (n >= 4) {
    h = (h ^ (load32(p) | (load32(p + n - 4) << 32))) * 0xC4CEB9FE1A85EC53ull;
  } else if (n > 0) {
    const auto b = [&](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    h = (h ^ (b(0) | (b(n / 2) << 8) | (b(n - 1) << 16))) * 0xC4CEB9FE1A85EC53ull;
  }
  h ^= h >> 29;
  return static_cast<std::uint32_t>(h);
}

void key_table::clear() noexcept {
  keys_.clear();
  next_.clear();
  if (used_ != 0) std::memset(slots_.data(), 0, slots_.size() * sizeof(slot));
  used_ = 0;
  encoded_bytes_ = 0;
}

void key_table::rehash(std::size_t new_size) {
  std::vector<slot> fresh(new_size, slot{0, 0});
  const std::size_t mask = new_size - 1;
  for (const slot& s : slots_) {
    if (s.index_plus_one == 0) continue;
    std::size_t i = s.hash & mask;
    while (fresh[i].index_plus_one != 0) i = (i + 1) & mask;
    fresh[i] = s;
  }
  slots_.swap(fresh);
}

transcode_error key_table::intern(std::string_view key, std::uint32_t& index) {
  if (slots_.empty()) rehash(256);
  const std::uint32_t h = hash_key(key);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  while (slots_[i].index_plus_one != 0) {
    const slot& s = slots_[i];
    if (s.hash == h) {
      if (same_key(keys_[s.index_plus_one - 1], key)) {
        index = s.index_plus_one - 1;
        return transcode_error::ok;
      }
    }
    i = (i + 1) & mask;
  }
  // A new key: check what the decoders can carry before giving it an index.
  if (key.size() > max_key_bytes) return transcode_error::key_too_long;
  if (key == "__proto__") return transcode_error::proto_key;
  if (starts_with_bom(key)) return transcode_error::leading_bom;
  if (is_filler_index(static_cast<std::uint32_t>(keys_.size()))) {
    keys_.emplace_back();
    encoded_bytes_ += 1;
  }
  if (keys_.size() >= max_table_entries) return transcode_error::too_many_keys;
  index = static_cast<std::uint32_t>(keys_.size());
  keys_.push_back(key);
  encoded_bytes_ += 1 + key.size();
  slots_[i] = slot{h, index + 1};
  if (++used_ * 2 > slots_.size()) rehash(slots_.size() * 2);
  return transcode_error::ok;
}

void key_table::write_header(byte_buffer& out) const {
  std::uint8_t* p = out.ensure(header_size + encoded_bytes_);
  p[0] = magic_0;
  p[1] = magic_1;
  p[2] = 0;  // flags: uncompressed, little-endian
  p[3] = version;
  p[4] = static_cast<std::uint8_t>(keys_.size());
  p[5] = static_cast<std::uint8_t>(keys_.size() >> 8);
  p += header_size;
  for (std::string_view k : keys_) {
    *p++ = static_cast<std::uint8_t>(k.size());
    if (!k.empty()) std::memcpy(p, k.data(), k.size());
    p += k.size();
  }
  out.commit(header_size + encoded_bytes_);
}

}  // namespace bfast::detail
