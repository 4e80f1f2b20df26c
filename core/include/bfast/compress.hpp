// LZ4 compression of whole B-FAST messages in the two layouts the deployed decoders read:
//   single block:    [u32 size][LZ4 block]
//   parallel chunks: [u32 total][u32 K] K x ([u32 L][u32 chunk size][LZ4 block of the chunk])
// Chunks are compressed as tasks on a shared compress_arena. The output bytes depend only on the
// message and the options, never on the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "bfast/byte_buffer.hpp"
#include "bfast/coding.hpp"
#include "bfast/decoder.hpp"
#include "bfast/status.hpp"

namespace bfast {

class compress_arena;

struct lz4_options {
  compression_sizes sizes;
  std::optional<message_layout> layout;  // lz4_single or lz4_parallel forces it; empty: by size
  int hc_level = 0;      // 0: LZ4 fast; 1..12: LZ4 HC at that level (fewer bytes, more CPU)
  int acceleration = 1;  // LZ4 fast only; higher is faster and larger
};

enum class compress_error : std::uint8_t {
  ok = 0,
  too_small,    // compression_sizes::too_small: send the message as it is
  too_large,    // beyond what the layout's u32 sizes or LZ4's input limit can carry
  bad_options,  // chunk_bytes of 0 or beyond LZ4's input limit
  codec_failed, // the codec reported an error (out of memory, ...)
};

[[nodiscard]] constexpr std::string_view reason_token(compress_error e) noexcept {
  switch (e) {
    case compress_error::ok: return "ok";
    case compress_error::too_small: return "too_small";
    case compress_error::too_large: return "too_large";
    case compress_error::bad_options: return "bad_options";
    case compress_error::codec_failed: return "codec_failed";
  }
  return "unknown";
}

struct [[nodiscard]] compress_result {
  compress_error error = compress_error::ok;
  message_layout layout = message_layout::uncompressed;
  std::size_t message_bytes = 0;  // uncompressed bytes carried, the magic-collision byte included
  std::size_t wire_bytes = 0;
  std::size_t chunks = 0;         // parallel layout only
  bool collision_padded = false;  // one ignored byte was appended so the output avoids 'BF'
  [[nodiscard]] bool ok() const noexcept { return error == compress_error::ok; }
};

// The layout `options` gives a message of `message_bytes` bytes.
[[nodiscard]] message_layout lz4_layout_for(std::size_t message_bytes,
                                            const lz4_options& options) noexcept;

// Upper bound of the wire size of a compressed message of `message_bytes` bytes.
[[nodiscard]] std::size_t lz4_compress_bound(std::size_t message_bytes,
                                             const lz4_options& options) noexcept;

// True when a compressed message declaring `size` uncompressed bytes would begin with 'BF'.
[[nodiscard]] constexpr bool size_collides_with_magic(std::size_t size) noexcept {
  return (size & 0xFFFFu) == 0x4642u;
}

// Compresses messages; holds the per-chunk buffers between calls so their pages stay warm. One per
// thread; the arena it uses is shared.
class lz4_compressor {
 public:
  // With no arena every chunk is compressed on the calling thread.
  explicit lz4_compressor(compress_arena* arena = nullptr, lz4_options options = {});
  ~lz4_compressor();
  lz4_compressor(const lz4_compressor&) = delete;
  lz4_compressor& operator=(const lz4_compressor&) = delete;
  lz4_compressor(lz4_compressor&&) noexcept;
  lz4_compressor& operator=(lz4_compressor&&) noexcept;

  // Replaces `out` with the compressed form of `message`. At most `threads` threads (the calling
  // one included) work on it; 0 means the arena's concurrency. On any error `out` is empty.
  compress_result compress(std::span<const std::uint8_t> message, byte_buffer& out,
                           int threads = 0);

  [[nodiscard]] const lz4_options& options() const noexcept;
  void set_options(const lz4_options& options) noexcept;
  [[nodiscard]] compress_arena* arena() const noexcept;

  // Bytes of scratch held between calls (chunk buffers).
  [[nodiscard]] std::size_t scratch_bytes() const noexcept;
  // Frees the scratch when it holds more than `keep_bytes`, so a large body's pages go back.
  void shrink_scratch(std::size_t keep_bytes) noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bfast
