#include <lz4.h>
#include <lz4hc.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "bfast/compress.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/format.hpp"

namespace bfast {

namespace {

// Room for one chunk in the single-block layout: [u32 size][block].
std::size_t lz4_chunk_bound(std::size_t n) noexcept {
  return 4 + static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(n)));
}

// Writes [u32 n][LZ4 block of src] into `dst`, which it clears; false if the codec fails.
bool lz4_compress_chunk(const std::uint8_t* src, std::size_t n, byte_buffer& dst,
                        const lz4_options& options) {
  dst.clear();
  const std::size_t cap = lz4_chunk_bound(n);
  std::uint8_t* p = dst.ensure(cap);
  store_u32(p, static_cast<std::uint32_t>(n));
  const char* in = reinterpret_cast<const char*>(src);
  char* out = reinterpret_cast<char*>(p + 4);
  const int out_cap = static_cast<int>(cap - 4);
  int written = 0;
  if (options.hc_level > 0) {
    // HC state is ~256 KiB: kept per thread rather than allocated by each call.
    thread_local std::unique_ptr<char[]> hc_state(new char[static_cast<std::size_t>(LZ4_sizeofStateHC())]);
    written = LZ4_compress_HC_extStateHC(hc_state.get(), in, out, static_cast<int>(n), out_cap,
                                         std::min(options.hc_level, LZ4HC_CLEVEL_MAX));
  } else {
    thread_local LZ4_stream_t fast_state;
    written = LZ4_compress_fast_extState(&fast_state, in, out, static_cast<int>(n), out_cap,
                                         std::max(options.acceleration, 1));
  }
  if (written <= 0 && n > 0) return false;
  dst.commit(4 + static_cast<std::size_t>(written));
  return true;
}

// Why a parallel message starts with one-byte chunks. The deployed Python decoder (lz4_flex 0.11.5,
// safe decoder) first reads the whole message as one size-prepended block and keeps the output
// even when it is shorter than the prefix, so a parallel message must make that read fail. Ours
// starts  [u32 total][u32 K][u32 6][u32 1][0x10 byte] ...  with K % 256 == 63, so the block it
// reads from offset 4 starts with the token 0x3F (K's low byte). Match nibble 15: the token does
// not "fit", so lz4_flex takes its checked path: 3 literals (K's other bytes, whatever K is; the
// input and the output, total > 256 bytes, have room), then the offset u16 at bytes 8-9 = 6 (the
// first chunk's length), then the match length 19 + byte 10 (0, a byte of that length) = 19,
// which fits the output too. With 3 bytes written and offset 6, duplicate_slice computes 3 - 6
// with overflowing_sub in both its branches: OffsetOutOfBounds, whatever follows byte 10.
// The one-byte chunks are valid blocks (one literal) for every decoder; there are 1 to 512.
struct parallel_plan {
  std::size_t fillers = 0;  // one-byte chunks, first
  std::size_t chunks = 0;   // then slices of chunk_bytes (the last one shorter)
};

inline constexpr std::size_t lenient_read_token = 0x3F;
inline constexpr std::size_t max_filler_chunks = 512;
inline constexpr std::size_t filler_chunk_bytes = 4 + 4 + 2;  // [L = 6][size = 1][0x10, byte]

// Empty when the message is too small for the chunk size to reach K % 256 == 63.
std::optional<parallel_plan> plan_parallel(std::size_t total, std::size_t chunk_bytes) noexcept {
  // Each filler adds one chunk and takes one byte from the slices, which lose a chunk at most
  // once per chunk_bytes fillers, so with chunk_bytes >= 2 every residue comes within 512.
  // The fillers are the message's first bytes, never the collision byte: f < total - 1.
  for (std::size_t f = 1; f <= max_filler_chunks && f + 1 < total; ++f) {
    const std::size_t slices = (total - f + chunk_bytes - 1) / chunk_bytes;
    if ((f + slices) % 256 == lenient_read_token) return parallel_plan{f, slices};
  }
  return std::nullopt;
}

}  // namespace

struct lz4_compressor::impl {
  compress_arena* arena = nullptr;
  lz4_options options;
  std::vector<byte_buffer> slots;  // slots[i]: the slice after the fillers, as [u32 size][block]
  byte_buffer tail;                // the last chunk plus the magic-collision byte
  std::atomic<bool> failed{false};

  [[nodiscard]] int resolve_threads(int threads) const noexcept;

  // Slice i (after the fillers) of a `total`-byte message whose first `have` bytes are in `src`
  // (have is total or total - 1, when the last byte is the collision byte that is not stored).
  void compress_slot(std::size_t i, std::size_t fillers, const std::uint8_t* src, std::size_t have,
                     std::size_t total);

  // out = [u32 total][u32 K] then the fillers, then [u32 L][slot bytes] for each slice.
  void assemble_parallel(std::size_t total, const parallel_plan& plan, const std::uint8_t* src,
                         byte_buffer& out) const;
};

message_layout lz4_layout_for(std::size_t message_bytes, const lz4_options& options) noexcept {
  if (options.layout && *options.layout != message_layout::uncompressed) return *options.layout;
  return options.sizes.parallel(message_bytes) ? message_layout::lz4_parallel
                                               : message_layout::lz4_single;
}

std::size_t lz4_compress_bound(std::size_t message_bytes, const lz4_options& options) noexcept {
  const std::size_t total = message_bytes + 1;  // room for the collision byte
  const std::size_t chunk_bytes = options.sizes.chunk_bytes;
  if (lz4_layout_for(message_bytes, options) == message_layout::lz4_single || chunk_bytes == 0)
    return 4 + total + total / 255 + 16;
  const std::size_t chunks = (total + chunk_bytes - 1) / chunk_bytes;
  return 8 + chunks * 8 + total + total / 255 + 16 * chunks + max_filler_chunks * filler_chunk_bytes;
}

int lz4_compressor::impl::resolve_threads(int threads) const noexcept {
  if (arena == nullptr) return 1;
  if (threads <= 0 || threads > arena->concurrency()) return arena->concurrency();
  return threads;
}

void lz4_compressor::impl::compress_slot(std::size_t i, std::size_t fillers,
                                         const std::uint8_t* src, std::size_t have,
                                         std::size_t total) {
  const std::size_t begin = fillers + i * options.sizes.chunk_bytes;
  const std::size_t len = std::min(options.sizes.chunk_bytes, total - begin);
  const std::uint8_t* p = src + begin;
  if (begin + len > have) {
    // Only the last chunk reaches the collision byte, and only one job owns it.
    byte_buffer& t = tail;
    t.clear();
    t.reserve(len);
    t.append(p, have - begin);
    t.push_back(0);
    p = t.data();
  }
  if (!lz4_compress_chunk(p, len, slots[i], options))
    failed.store(true, std::memory_order_relaxed);
}

void lz4_compressor::impl::assemble_parallel(std::size_t total, const parallel_plan& plan,
                                             const std::uint8_t* src, byte_buffer& out) const {
  std::size_t size = 8 + plan.fillers * filler_chunk_bytes;
  for (std::size_t i = 0; i < plan.chunks; ++i) size += 4 + slots[i].size();
  out.clear();
  std::uint8_t* p = out.ensure(size);
  store_u32(p, static_cast<std::uint32_t>(total));
  store_u32(p + 4, static_cast<std::uint32_t>(plan.fillers + plan.chunks));
  p += 8;
  // Written by hand rather than by the codec, so the first bytes are what the proof above says.
  for (std::size_t i = 0; i < plan.fillers; ++i) {
    store_u32(p, 6);
    store_u32(p + 4, 1);
    p[8] = 0x10;  // one literal, no match
    p[9] = src[i];
    p += filler_chunk_bytes;
  }
  for (std::size_t i = 0; i < plan.chunks; ++i) {
    store_u32(p, static_cast<std::uint32_t>(slots[i].size()));
    std::memcpy(p + 4, slots[i].data(), slots[i].size());
    p += 4 + slots[i].size();
  }
  out.commit(size);
}

lz4_compressor::lz4_compressor(compress_arena* arena, lz4_options options)
    : impl_(std::make_unique<impl>()) {
  impl_->arena = arena;
  impl_->options = options;
}
lz4_compressor::~lz4_compressor() = default;
lz4_compressor::lz4_compressor(lz4_compressor&&) noexcept = default;
lz4_compressor& lz4_compressor::operator=(lz4_compressor&&) noexcept = default;

const lz4_options& lz4_compressor::options() const noexcept { return impl_->options; }
void lz4_compressor::set_options(const lz4_options& options) noexcept { impl_->options = options; }
compress_arena* lz4_compressor::arena() const noexcept { return impl_->arena; }
std::size_t lz4_compressor::scratch_bytes() const noexcept {
  std::size_t n = impl_->tail.capacity();
  for (const byte_buffer& b : impl_->slots) n += b.capacity();
  return n;
}

void lz4_compressor::shrink_scratch(std::size_t keep_bytes) noexcept {
  if (scratch_bytes() <= keep_bytes) return;
  std::vector<byte_buffer>().swap(impl_->slots);
  impl_->tail = byte_buffer{};
}

compress_result lz4_compressor::compress(std::span<const std::uint8_t> message, byte_buffer& out,
                                         int threads) {
  impl& m = *impl_;
  const lz4_options& o = m.options;
  out.clear();
  compress_result r;
  if (o.sizes.chunk_bytes == 0 || o.sizes.chunk_bytes > LZ4_MAX_INPUT_SIZE) {
    r.error = compress_error::bad_options;
    return r;
  }
  const std::size_t n = message.size();
  if (o.sizes.too_small(n)) {
    r.error = compress_error::too_small;
    return r;
  }
  // Rule 4: a size prefix whose low bytes read 'B' 'F' would be taken as an uncompressed message.
  r.collision_padded = size_collides_with_magic(n);
  const std::size_t total = n + (r.collision_padded ? 1 : 0);
  r.message_bytes = total;
  r.layout = lz4_layout_for(n, o);
  std::optional<parallel_plan> plan;
  if (r.layout == message_layout::lz4_parallel) {
    plan = plan_parallel(total, o.sizes.chunk_bytes);
    // Too small for the chunk size to make a parallel message the lenient read refuses.
    if (!plan) r.layout = message_layout::lz4_single;
  }
  m.failed.store(false, std::memory_order_relaxed);

  if (r.layout == message_layout::lz4_single) {
    if (total > LZ4_MAX_INPUT_SIZE) {
      r.error = compress_error::too_large;
      return r;
    }
    const std::uint8_t* src = message.data();
    if (r.collision_padded) {
      m.tail.clear();
      m.tail.reserve(total);
      m.tail.append(message);
      m.tail.push_back(0);
      src = m.tail.data();
    }
    // A single block needs no assembly: compress straight into `out`.
    const bool ok = lz4_compress_chunk(src, total, out, o);
    if (!ok) {
      out.clear();
      r.error = compress_error::codec_failed;
      return r;
    }
    r.wire_bytes = out.size();
    return r;
  }

  if (total > UINT32_MAX) {
    r.error = compress_error::too_large;
    return r;
  }
  const std::size_t chunks = plan->chunks;
  if (m.slots.size() < chunks) m.slots.resize(chunks);
  const int t = m.resolve_threads(threads);
  auto job = [&](std::size_t i) { m.compress_slot(i, plan->fillers, message.data(), n, total); };
  if (t <= 1 || chunks == 1) {
    for (std::size_t i = 0; i < chunks; ++i) job(i);
  } else {
    m.arena->run_batch(chunks, t, job);
  }
  if (m.failed.load(std::memory_order_relaxed)) {
    r.error = compress_error::codec_failed;
    return r;
  }
  m.assemble_parallel(total, *plan, message.data(), out);
  r.chunks = plan->fillers + chunks;
  r.wire_bytes = out.size();
  return r;
}

}  // namespace bfast
