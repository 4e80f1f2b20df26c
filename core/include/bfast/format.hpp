// The B-FAST wire format as the deployed decoders read it (see BFAST-FORMAT.md in the shared docs).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bfast {

namespace tag {
inline constexpr std::uint8_t null_v = 0x10;
inline constexpr std::uint8_t false_v = 0x20;
inline constexpr std::uint8_t true_v = 0x21;
inline constexpr std::uint8_t small_int = 0x30;  // 0x30..0x37 carry 0..7 in the low nibble
inline constexpr std::uint8_t int64 = 0x38;
inline constexpr std::uint8_t float64 = 0x40;
inline constexpr std::uint8_t string = 0x50;
inline constexpr std::uint8_t array = 0x60;
inline constexpr std::uint8_t object = 0x70;
inline constexpr std::uint8_t object_end = 0x7F;
inline constexpr std::uint8_t bytes = 0x80;
inline constexpr std::uint8_t float64_array = 0x90;
inline constexpr std::uint8_t datetime = 0xD1;
inline constexpr std::uint8_t date = 0xD2;
inline constexpr std::uint8_t time = 0xD3;
inline constexpr std::uint8_t uuid = 0xD4;
inline constexpr std::uint8_t decimal = 0xD5;
}  // namespace tag

inline constexpr std::uint8_t magic_0 = 'B';
inline constexpr std::uint8_t magic_1 = 'F';
inline constexpr std::uint8_t version = 0x01;
inline constexpr std::size_t header_size = 6;  // magic, flags, version, u16 table count

// Encoder limits that follow from how the decoders read bytes.
inline constexpr std::size_t max_key_bytes = 255;
inline constexpr std::size_t max_table_entries = 65535;
inline constexpr int max_depth = 128;  // root is depth 1; the Python decoder fails above 128

// U+FEFF in UTF-8. The TypeScript decoder's default TextDecoder drops one at the start of a
// string or key, so a text that starts with it cannot reach that client exactly.
[[nodiscard]] constexpr bool starts_with_bom(std::string_view s) noexcept {
  return s.size() >= 3 && s[0] == '\xEF' && s[1] == '\xBB' && s[2] == '\xBF';
}

// A key index whose low byte is 0x7F would be read as the end of the object.
[[nodiscard]] constexpr bool is_filler_index(std::uint32_t index) noexcept {
  return (index & 0xFFu) == 0x7Fu;
}

inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}

[[nodiscard]] inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

}  // namespace bfast
