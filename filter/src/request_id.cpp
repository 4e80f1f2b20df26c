#include "bfast/filter/request_id.hpp"

namespace bfast::filter {
namespace {

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

// splitmix64 spreads one seed over the four words, as xoshiro's authors advise.
std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void append_hex(std::string& out, std::uint64_t v, int digits) {
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out += hex[(v >> (4 * i)) & 0xf];
}

}  // namespace

bool acceptable_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_request_id_bytes) return false;
  for (unsigned char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

request_id_generator::request_id_generator(std::uint64_t seed) noexcept {
  for (auto& w : s_) w = splitmix(seed);
}

std::uint64_t request_id_generator::next_word() noexcept {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

std::string request_id_generator::next() {
  // RFC 9562 §5.4: version 4 in the high nibble of octet 6, variant 0b10 in octet 8.
  const std::uint64_t hi = (next_word() & ~0xf000ull) | 0x4000ull;
  const std::uint64_t lo = (next_word() & ~(3ull << 62)) | (2ull << 62);
  std::string out;
  out.reserve(36);
  append_hex(out, hi >> 32, 8);
  out += '-';
  append_hex(out, hi >> 16, 4);
  out += '-';
  append_hex(out, hi, 4);
  out += '-';
  append_hex(out, lo >> 48, 4);
  out += '-';
  append_hex(out, lo, 12);
  return out;
}

}  // namespace bfast::filter
