#include <lz4.h>
#include <lz4hc.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
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

}  // namespace

struct lz4_compressor::impl {
  compress_arena* arena = nullptr;
  lz4_options options;
  std::vector<byte_buffer> slots;  // slots[i]: chunk i, as [u32 size][block]
  byte_buffer tail;                // the last chunk plus the magic-collision byte
  std::atomic<bool> failed{false};

  [[nodiscard]] int resolve_threads(int threads) const noexcept;

  // Chunk i of a `total`-byte message whose first `have` bytes are in `src` (have is total or
  // total - 1, when the last byte is the collision byte that is not stored).
  void compress_slot(std::size_t i, const std::uint8_t* src, std::size_t have, std::size_t total);

  // out = [u32 total][u32 K] then K x [u32 L][slot bytes].
  void assemble_parallel(std::size_t total, std::size_t chunks, byte_buffer& out) const;
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
  return 8 + chunks * 8 + total + total / 255 + 16 * chunks;
}

int lz4_compressor::impl::resolve_threads(int threads) const noexcept {
  if (arena == nullptr) return 1;
  if (threads <= 0 || threads > arena->concurrency()) return arena->concurrency();
  return threads;
}

void lz4_compressor::impl::compress_slot(std::size_t i, const std::uint8_t* src, std::size_t have,
                                         std::size_t total) {
  const std::size_t begin = i * options.sizes.chunk_bytes;
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

void lz4_compressor::impl::assemble_parallel(std::size_t total, std::size_t chunks,
                                             byte_buffer& out) const {
  std::size_t size = 8;
  for (std::size_t i = 0; i < chunks; ++i) size += 4 + slots[i].size();
  out.clear();
  std::uint8_t* p = out.ensure(size);
  store_u32(p, static_cast<std::uint32_t>(total));
  store_u32(p + 4, static_cast<std::uint32_t>(chunks));
  p += 8;
  for (std::size_t i = 0; i < chunks; ++i) {
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
  const std::size_t chunks = (total + o.sizes.chunk_bytes - 1) / o.sizes.chunk_bytes;
  if (m.slots.size() < chunks) m.slots.resize(chunks);
  const int t = m.resolve_threads(threads);
  auto job = [&](std::size_t i) { m.compress_slot(i, message.data(), n, total); };
  if (t <= 1 || chunks == 1) {
    for (std::size_t i = 0; i < chunks; ++i) job(i);
  } else {
    m.arena->run_batch(chunks, t, job);
  }
  if (m.failed.load(std::memory_order_relaxed)) {
    r.error = compress_error::codec_failed;
    return r;
  }
  m.assemble_parallel(total, chunks, out);
  r.chunks = chunks;
  r.wire_bytes = out.size();
  return r;
}

}  // namespace bfast
