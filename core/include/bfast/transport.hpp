// Content-Encoding over an uncompressed B-FAST message, for slow links: one gzip member (zlib) or
// one zstd frame (libzstd), which HTTP clients undo before the B-FAST decoder sees the bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "bfast/byte_buffer.hpp"

namespace bfast {

enum class transport_codec : std::uint8_t { identity, gzip, zstd };

// The Content-Encoding token: "identity", "gzip", "zstd".
[[nodiscard]] std::string_view content_coding(transport_codec c) noexcept;

inline constexpr int default_gzip_level = 6;  // see README ("Compression"): what nginx uses
inline constexpr int default_zstd_level = 3;

// Holds a zlib stream and a zstd context between calls. One per thread.
class transport_encoder {
 public:
  transport_encoder();
  ~transport_encoder();
  transport_encoder(const transport_encoder&) = delete;
  transport_encoder& operator=(const transport_encoder&) = delete;
  transport_encoder(transport_encoder&&) noexcept;
  transport_encoder& operator=(transport_encoder&&) noexcept;

  // Replaces `out` with `in` encoded as `codec` at `level` (gzip 1..9, zstd 1..19); identity
  // copies. zstd_workers > 0 lets libzstd compress with that many threads of its own.
  // False (and `out` empty) if the codec fails.
  [[nodiscard]] bool encode(transport_codec codec, int level, std::span<const std::uint8_t> in,
                            byte_buffer& out, int zstd_workers = 0);

  // Undoes encode(); refuses output beyond `max_out` bytes, and then sets `*at_limit` (a bomb,
  // not a broken stream). For B-FAST request bodies, tests and the command line.
  [[nodiscard]] bool decode(transport_codec codec, std::span<const std::uint8_t> in,
                            byte_buffer& out, std::size_t max_out, bool* at_limit = nullptr);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bfast
