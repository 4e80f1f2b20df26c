#include "unpack.hpp"

#include <lz4.h>

#include <climits>

#include "bfast/format.hpp"

namespace bfast::detail {
namespace {

// An LZ4 block cannot expand by more than 255 bytes per input byte (one length byte adds at most
// 255 to a match), so a larger declared size is a lie: refuse it before allocating.
[[nodiscard]] bool impossible_ratio(std::size_t declared, std::size_t block_bytes) noexcept {
  return declared > block_bytes * 255 + 64;
}

enum class attempt { ok, failed, too_large };

// [u32 size][block] -> dst + 0 .. size, which must fit `room`.
[[nodiscard]] attempt decompress_block(const std::uint8_t* p, std::size_t n, std::uint8_t* dst,
                                       std::size_t declared) {
  const int got = LZ4_decompress_safe(reinterpret_cast<const char*>(p + 4),
                                      reinterpret_cast<char*>(dst), static_cast<int>(n - 4),
                                      static_cast<int>(declared));
  return got >= 0 && static_cast<std::size_t>(got) == declared ? attempt::ok : attempt::failed;
}

[[nodiscard]] attempt try_single(std::span<const std::uint8_t> m, const decode_options& options,
                                 unpacked& scratch) {
  if (m.size() < 5 || m.size() - 4 > INT_MAX) return attempt::failed;
  const std::size_t declared = load_u32(m.data());
  if (declared > options.max_message_bytes) return attempt::too_large;
  if (declared > INT_MAX || impossible_ratio(declared, m.size() - 4)) return attempt::failed;
  scratch.bytes.clear();
  scratch.bytes.resize_uninitialized(declared);
  return decompress_block(m.data(), m.size(), scratch.bytes.data(), declared);
}

[[nodiscard]] attempt try_parallel(std::span<const std::uint8_t> m, const decode_options& options,
                                   unpacked& scratch) {
  if (m.size() < 8) return attempt::failed;
  const std::size_t total = load_u32(m.data());
  const std::size_t count = load_u32(m.data() + 4);
  if (total > options.max_message_bytes) return attempt::too_large;
  // Each chunk takes at least 9 bytes (L, the size prefix, one block byte): a hostile K is
  // refused here, before anything is allocated per chunk.
  const std::size_t body = m.size() - 8;
  if (count > body / 9 || impossible_ratio(total, body)) return attempt::failed;
  scratch.bytes.clear();
  scratch.bytes.resize_uninitialized(total);
  scratch.chunk_list.clear();
  scratch.chunk_list.reserve(count);
  std::size_t at = 8, written = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (m.size() - at < 4) return attempt::failed;
    const std::size_t len = load_u32(m.data() + at);
    at += 4;
    if (len > m.size() - at || len < 5 || len - 4 > INT_MAX) return attempt::failed;
    const std::uint8_t* chunk = m.data() + at;
    const std::size_t declared = load_u32(chunk);
    if (declared > total - written || impossible_ratio(declared, len - 4)) return attempt::failed;
    if (decompress_block(chunk, len, scratch.bytes.data() + written, declared) != attempt::ok)
      return attempt::failed;
    scratch.chunk_list.push_back({len, declared});
    written += declared;
    at += len;
  }
  return written == total && at == m.size() ? attempt::ok : attempt::failed;
}

}  // namespace

decode_result unpack(std::span<const std::uint8_t> message, const decode_options& options,
                     unpacked& scratch, std::span<const std::uint8_t>& plain) {
  scratch.layout = message_layout::uncompressed;
  scratch.chunks = 0;
  scratch.chunk_list.clear();
  if (message.size() >= 2 && message[0] == magic_0 && message[1] == magic_1) {
    plain = message;
    return {};
  }
  if (message.size() < 5) return {decode_error::bad_magic, 0};

  const attempt single = try_single(message, options, scratch);
  if (single == attempt::ok) {
    scratch.layout = message_layout::lz4_single;
    plain = scratch.bytes.span();
    return {};
  }
  const attempt parallel = try_parallel(message, options, scratch);
  if (parallel == attempt::ok) {
    scratch.layout = message_layout::lz4_parallel;
    scratch.chunks = scratch.chunk_list.size();
    plain = scratch.bytes.span();
    return {};
  }
  scratch.bytes.clear();
  scratch.chunk_list.clear();
  if (single == attempt::too_large || parallel == attempt::too_large)
    return {decode_error::too_large, 0};
  return {decode_error::bad_compression, 0};
}

}  // namespace bfast::detail
