// JSON -> compressed message with the compression of early slices overlapped with the writing of
// later ones. The transcoder writes the key table first (keys-first mode), so every slice of the
// message, header included, is final as soon as the writer has moved past it.
#include <algorithm>
#include <atomic>
#include <limits>

#include "arena_impl.hpp"
#include "bfast/compress.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/transcoder.hpp"
#include "lz4_internal.hpp"

namespace bfast {
namespace {

// Hands slices to at most `max_helpers` arena tasks at a time. A task claims published slices
// until none is left and then ends; whatever is still unclaimed at the end is compressed by the
// caller, so no task ever waits for the writer.
class slice_scheduler final : public slice_sink {
 public:
  slice_scheduler(lz4_compressor::impl& m, compress_arena::impl& a, tbb::task_group& group,
                  int max_helpers, std::size_t release_at)
      : m_(m), a_(a), group_(group), max_helpers_(max_helpers), release_at_(release_at) {}

  void on_slice(std::size_t /*begin*/, std::size_t end) override {
    // Below the parallel threshold the message may end as a single block: hold slices back.
    if (end < release_at_) return;
    publish(end / m_.options.chunk_bytes);
  }

  // Makes slices [0, count) claimable and wakes helpers for them.
  void publish(std::size_t count) {
    published_.store(count, std::memory_order_release);
    for (int active = active_.load(std::memory_order_relaxed); active < max_helpers_;) {
      if (active_.compare_exchange_weak(active, active + 1, std::memory_order_relaxed)) {
        a_.spawn(group_, [this] { helper(); });
        break;
      }
    }
  }

  void finish(std::size_t have, std::size_t total, std::size_t chunks) {
    have_.store(have, std::memory_order_relaxed);
    total_.store(total, std::memory_order_relaxed);
    publish(chunks);
    drain();
    group_.wait();
  }

 private:
  // Claims the next published slice; false when there is none.
  bool claim(std::size_t& i) {
    i = next_.load(std::memory_order_relaxed);
    do {
      if (i >= published_.load(std::memory_order_acquire)) return false;
    } while (!next_.compare_exchange_weak(i, i + 1, std::memory_order_acq_rel));
    return true;
  }

  void drain() {
    std::size_t i = 0;
    while (claim(i)) {
      m_.compress_slot(i, m_.message.data(), have_.load(std::memory_order_relaxed),
                       total_.load(std::memory_order_relaxed));
    }
  }

  void helper() {
    for (;;) {
      drain();
      active_.fetch_sub(1, std::memory_order_relaxed);
      // A slice published just as this helper was leaving would otherwise wait for the caller.
      if (next_.load(std::memory_order_relaxed) >= published_.load(std::memory_order_acquire))
        return;
      int active = active_.load(std::memory_order_relaxed);
      if (active >= max_helpers_ ||
          !active_.compare_exchange_strong(active, active + 1, std::memory_order_relaxed))
        return;
    }
  }

  lz4_compressor::impl& m_;
  compress_arena::impl& a_;
  tbb::task_group& group_;
  const int max_helpers_;
  const std::size_t release_at_;
  std::atomic<std::size_t> published_{0};
  std::atomic<std::size_t> next_{0};
  std::atomic<int> active_{0};
  // Unknown while the writer runs: the slices published then are all full.
  std::atomic<std::size_t> have_{std::numeric_limits<std::size_t>::max() / 2};
  std::atomic<std::size_t> total_{std::numeric_limits<std::size_t>::max() / 2};
};

}  // namespace

encode_result lz4_compressor::encode_json(transcoder& t, std::string_view json, byte_buffer& out,
                                          int threads, pipeline_mode mode,
                                          bool padding_available) {
  impl& m = *impl_;
  const lz4_options& o = m.options;
  encode_result r;
  out.clear();
  const int helpers = m.resolve_threads(threads) - 1;
  const bool overlap = mode == pipeline_mode::overlapped && helpers > 0 && o.chunk_bytes > 0 &&
                       o.layout != lz4_layout_choice::single;

  if (!overlap) {
    r.transcode = t.transcode(json, m.message, padding_available);
    if (!r.transcode.ok()) return r;
    r.compress = compress(m.message.span(), out, threads);
    if (r.compress.error == compress_error::too_small) out.append(m.message.span());
    return r;
  }

  // Slots must not move while helpers write into them: size them for the largest message first.
  const std::size_t max_chunks = transcoder::message_bound(json.size()) / o.chunk_bytes + 2;
  if (m.slots.size() < max_chunks) m.slots.resize(max_chunks);
  m.failed.store(false, std::memory_order_relaxed);
  const std::size_t release_at =
      o.layout == lz4_layout_choice::parallel ? 0 : o.parallel_threshold;

  bool parallel = false;
  std::size_t total = 0, chunks = 0;
  compress_arena::impl& a = m.arena->internals();
  a.execute([&] {
    tbb::task_group group;
    slice_scheduler scheduler(m, a, group, helpers, release_at);
    r.transcode = t.transcode_sliced(json, m.message, o.chunk_bytes, scheduler, padding_available);
    const std::size_t n = m.message.size();
    parallel = r.transcode.ok() && n > 256 && n >= o.min_bytes &&
               lz4_layout_for(n, o) == message_layout::lz4_parallel && n < UINT32_MAX;
    if (!parallel) {
      group.wait();  // helpers may still read slices of the message
      return;
    }
    r.compress.collision_padded = size_collides_with_magic(n);
    total = n + (r.compress.collision_padded ? 1 : 0);
    chunks = (total + o.chunk_bytes - 1) / o.chunk_bytes;
    scheduler.finish(n, total, chunks);
  });
  if (!r.transcode.ok()) return r;
  if (!parallel) {
    r.compress = compress(m.message.span(), out, threads);
    if (r.compress.error == compress_error::too_small) out.append(m.message.span());
    return r;
  }
  if (m.failed.load(std::memory_order_relaxed)) {
    r.compress.error = compress_error::codec_failed;
    return r;
  }
  m.assemble_parallel(total, chunks, out);
  r.compress.layout = message_layout::lz4_parallel;
  r.compress.message_bytes = total;
  r.compress.chunks = chunks;
  r.compress.wire_bytes = out.size();
  return r;
}

}  // namespace bfast
