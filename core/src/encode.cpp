#include "bfast/encode.hpp"

#include <array>

#include <lz4.h>
// For ZSTD_estimateCCtxSize, which the memory bound needs.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>

namespace bfast {
namespace {

// zlib's deflate state for windowBits 15, memLevel 8: window, hash chains and pending buffer.
constexpr std::size_t deflate_state_bytes = (std::size_t{1} << 17) + (std::size_t{1} << 17) + 16384;

transport_codec transport_of(compression_choice c) noexcept {
  return c == compression_choice::gzip ? transport_codec::gzip : transport_codec::zstd;
}

// ZSTD_estimateCCtxSize walks zstd's parameter tables: far too slow for every response, and
// its answer depends on the level alone.
std::size_t zstd_context_bytes(int level) noexcept {
  static const std::array<std::size_t, 23> by_level = [] {
    std::array<std::size_t, 23> sizes{};
    for (int l = 1; l < static_cast<int>(sizes.size()); ++l) sizes[l] = ZSTD_estimateCCtxSize(l);
    return sizes;
  }();
  return by_level[static_cast<std::size_t>(std::clamp(level, 1, 22))];
}

}  // namespace

encoded encode(byte_buffer message, const policy_input& in, const server_speeds& speeds,
               const policy_config& config, encode_scratch& scratch,
               bool apply_content_encoding) {
  policy_input sized = in;
  sized.payload_bytes = message.size();
  const compression_decision decision = choose_compression(sized, speeds, config);
  return encode_as(std::move(message), decision, config, scratch, apply_content_encoding);
}

bool encode_text(std::span<const std::uint8_t> text, compression_choice coding, int level,
                 encode_scratch& scratch, byte_buffer& out) {
  out.clear();
  if (coding != compression_choice::gzip && coding != compression_choice::zstd) return false;
  return scratch.transport_.encode(transport_of(coding), level, text, out);
}

encoded encode_as(byte_buffer message, const compression_decision& decision,
                  const policy_config& config, encode_scratch& scratch,
                  bool apply_content_encoding) {
  encoded out;
  out.message_bytes = message.size();
  out.decision = decision;
  out.policy_reason = out.decision.reason;
  const compression_choice c = out.decision.choice;
  switch (c) {
    case compression_choice::none:
      break;
    case compression_choice::lz4:
    case compression_choice::lz4_parallel: {
      const bool parallel = c == compression_choice::lz4_parallel;
      lz4_options o = scratch.lz4_.options();
      o.sizes = config.sizes;
      o.layout = parallel ? message_layout::lz4_parallel : message_layout::lz4_single;
      scratch.lz4_.set_options(o);
      out.lz4 = scratch.lz4_.compress(message.span(), out.body, parallel ? out.decision.threads : 1);
      if (!out.lz4.ok()) break;
      out.coding = c;
      out.compress_token = choice_name(c);
      return out;
    }
    case compression_choice::gzip:
    case compression_choice::zstd: {
      if (!apply_content_encoding) break;
      const transport_codec codec = transport_of(c);
      const int level = out.decision.level ? out.decision.level
                                           : (codec == transport_codec::gzip ? default_gzip_level
                                                                             : default_zstd_level);
      if (!scratch.transport_.encode(codec, level, message.span(), out.body)) break;
      out.coding = c;
      // Inside B-FAST nothing is compressed; the coding is HTTP's, and BFast-Status names it
      // as the metric does.
      out.compress_token = choice_name(c);
      out.content_encoding = content_coding(codec);
      return out;
    }
  }
  out.body = std::move(message);
  return out;
}

std::size_t encode_memory_bound(std::size_t message_bytes, const policy_config& config,
                                const server_speeds& speeds) noexcept {
  // Every buffer here is filled in one go, so it holds what it asked for.
  const auto exact = [](std::size_t n) { return std::max(n, byte_buffer::min_capacity); };
  lz4_options single;
  single.sizes = config.sizes;
  single.layout = message_layout::lz4_single;
  lz4_options parallel = single;
  parallel.layout = message_layout::lz4_parallel;
  const std::size_t chunk = std::max<std::size_t>(config.sizes.chunk_bytes, 1);
  const std::size_t chunks = message_bytes / chunk + 1;
  const std::size_t chunk_block =
      4 + static_cast<std::size_t>(LZ4_COMPRESSBOUND(std::min<std::size_t>(chunk, LZ4_MAX_INPUT_SIZE)));
  // Single block: the output and the copy with the collision byte. Parallel: the output, one
  // buffer per chunk (and the vector of them) and the last chunk's copy.
  const std::size_t lz4_single =
      exact(lz4_compress_bound(message_bytes, single)) + exact(message_bytes + 1);
  const std::size_t lz4_parallel = exact(lz4_compress_bound(message_bytes, parallel)) +
                                   chunks * (exact(chunk_block) + sizeof(byte_buffer)) +
                                   exact(chunk);
  const std::size_t gzip = exact(message_bytes + message_bytes / 1000 + 64) + deflate_state_bytes;
  const int zstd_level = std::max(speeds.zstd_level, default_zstd_level);
  const std::size_t zstd = exact(ZSTD_compressBound(message_bytes)) + zstd_context_bytes(zstd_level);
  return std::max({lz4_single, lz4_parallel, gzip, zstd});
}

std::uint64_t transform_memory_bound(std::size_t json_bytes, const policy_config& config,
                                     const server_speeds& speeds, bool json_padded,
                                     const transcode_parallelism& parallelism) noexcept {
  const transcoder::memory_use t = transcoder::memory_bound(json_bytes, json_padded, parallelism);
  const std::size_t coded = encode_memory_bound(transcoder::message_bound(json_bytes), config, speeds);
  return std::max<std::uint64_t>(std::uint64_t{t.held} + coded, t.peak);
}

}  // namespace bfast
