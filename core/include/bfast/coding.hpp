// The one vocabulary of compression: what a route asks for, what coding a body gets, and the sizes
// that decide between them. The policy, the LZ4 compressor, the config, the proxy's metrics and the
// command line all use these names.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bfast {

// What a route's configuration asks of the policy.
enum class route_mode : std::uint8_t { automatic, always, never };

inline constexpr std::array<std::string_view, 3> route_mode_names = {"auto", "always", "never"};

[[nodiscard]] constexpr std::string_view route_mode_name(route_mode m) noexcept {
  return route_mode_names[static_cast<std::size_t>(m)];
}

// "auto", "always" or "never"; nothing for any other text.
[[nodiscard]] constexpr std::optional<route_mode> parse_route_mode(std::string_view s) noexcept {
  for (std::size_t i = 0; i < route_mode_names.size(); ++i) {
    if (route_mode_names[i] == s) return static_cast<route_mode>(i);
  }
  return std::nullopt;
}

// The coding a B-FAST body is sent with: LZ4 inside the message, or gzip / zstd as HTTP's
// Content-Encoding over the uncompressed message.
enum class compression_choice : std::uint8_t { none, lz4, lz4_parallel, gzip, zstd };

inline constexpr std::size_t compression_choice_count = 5;

inline constexpr std::array<std::string_view, compression_choice_count> compression_choice_names = {
    "none", "lz4", "lz4-parallel", "gzip", "zstd"};

// "none", "lz4", "lz4-parallel", "gzip", "zstd".
[[nodiscard]] constexpr std::string_view choice_name(compression_choice c) noexcept {
  return compression_choice_names[static_cast<std::size_t>(c)];
}

// Messages of this many bytes or fewer are never compressed, whatever is configured.
inline constexpr std::size_t never_compressed_bytes = 256;

// The sizes that pick whether and how LZ4 applies; the policy and the compressor share one copy.
struct compression_sizes {
  std::size_t min_bytes = never_compressed_bytes + 1;  // smaller messages are sent as they are
  std::size_t parallel_threshold = 1'000'000;          // parallel chunks from here on, as the reference encoder
  std::size_t chunk_bytes = std::size_t{256} * 1024;   // slice of the message per parallel chunk

  // Too small to compress: at or below the floor or below min_bytes.
  [[nodiscard]] constexpr bool too_small(std::size_t message_bytes) const noexcept {
    return message_bytes <= never_compressed_bytes || message_bytes < min_bytes;
  }
  [[nodiscard]] constexpr bool parallel(std::size_t message_bytes) const noexcept {
    return message_bytes >= parallel_threshold;
  }
};

}  // namespace bfast
