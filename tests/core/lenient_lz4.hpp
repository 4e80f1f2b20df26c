// What the deployed Python decoder does first with compressed bytes: lz4_flex 0.11.5's safe
// decompress_size_prepended, which returns Ok for a block whose output is shorter than its size
// prefix and lets offsets saturate on its fast path. A model of its checks, not of its output:
// true when that call would succeed (and the decoder would then take the bytes as one block).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace bfast::test {

[[nodiscard]] inline bool lenient_single_block_accepts(std::span<const std::uint8_t> m) {
  if (m.size() < 4) return false;
  const std::size_t cap = static_cast<std::size_t>(m[0]) | static_cast<std::size_t>(m[1]) << 8 |
                          static_cast<std::size_t>(m[2]) << 16 | static_cast<std::size_t>(m[3]) << 24;
  const std::uint8_t* in = m.data() + 4;
  const std::size_t n = m.size() - 4;
  const std::size_t safe_in = n > 18 ? n - 18 : 0;
  const std::size_t safe_out = cap > 34 ? cap - 34 : 0;
  std::size_t ip = 0, op = 0;
  // read_integer: bytes added up to the first one below 255.
  const auto extend = [&](std::size_t& v) {
    for (;;) {
      if (ip >= n) return false;
      const std::uint8_t b = in[ip++];
      v += b;
      if (b != 0xFF) return true;
    }
  };
  for (;;) {
    if (ip >= n) return false;
    const std::uint8_t token = in[ip++];
    const bool fits = (token & 0x0F) != 0x0F && (token & 0xF0) != 0xF0;
    if (fits && ip <= safe_in && op < safe_out) {
      // The fast path: no check can fail; the match start saturates at 0.
      ip += (token >> 4) + 2;
      op += (token >> 4) + 4 + (token & 0x0F);
      continue;
    }
    std::size_t literals = token >> 4;
    if (literals == 15 && !extend(literals)) return false;
    if (literals > n - ip || literals > cap - op) return false;
    ip += literals;
    op += literals;
    if (ip >= n) return true;  // the input ends after literals: Ok, whatever op is
    if (n - ip < 2) return false;
    const std::size_t offset = in[ip] | static_cast<std::size_t>(in[ip + 1]) << 8;
    ip += 2;
    std::size_t match = 4 + (token & 0x0F);
    if (match == 19 && !extend(match)) return false;
    if (op + match > cap) return false;
    if (offset > op) return false;  // duplicate_slice: op - offset overflows
    op += match;
  }
}

}  // namespace bfast::test
