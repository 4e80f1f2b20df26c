// Shared by the LZ4 compressor's two halves: compressing a message (lz4_codec.cpp) and
// compressing while transcoding (pipeline.cpp).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/compress.hpp"

namespace bfast {

namespace detail {

// Room for one chunk in the single-block layout: [u32 size][block].
[[nodiscard]] std::size_t lz4_chunk_bound(std::size_t n) noexcept;

// Writes [u32 n][LZ4 block of src] into `dst`, which it clears; false if the codec fails.
[[nodiscard]] bool lz4_compress_chunk(const std::uint8_t* src, std::size_t n, byte_buffer& dst,
                                      const lz4_options& options);

}  // namespace detail

struct lz4_compressor::impl {
  compress_arena* arena = nullptr;
  lz4_options options;
  std::vector<byte_buffer> slots;  // slots[i]: chunk i, as [u32 size][block]
  byte_buffer tail;                // the last chunk plus the magic-collision byte
  byte_buffer message;             // encode_json's uncompressed message
  std::atomic<bool> failed{false};

  [[nodiscard]] int resolve_threads(int threads) const noexcept;

  // Chunk i of a `total`-byte message whose first `have` bytes are in `src` (have is total or
  // total - 1, when the last byte is the collision byte that is not stored).
  void compress_slot(std::size_t i, const std::uint8_t* src, std::size_t have, std::size_t total);

  // out = [u32 total][u32 K] then K x [u32 L][slot bytes].
  void assemble_parallel(std::size_t total, std::size_t chunks, byte_buffer& out) const;
};

}  // namespace bfast
