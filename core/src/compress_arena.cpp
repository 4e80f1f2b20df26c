#include "bfast/compress_arena.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "arena_impl.hpp"

namespace bfast {

namespace {
int resolve_concurrency(int n) {
  if (n > 0) return n;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}
}  // namespace

compress_arena::compress_arena(int concurrency)
    : impl_(std::make_unique<impl>(resolve_concurrency(concurrency))) {}
compress_arena::~compress_arena() = default;

int compress_arena::concurrency() const noexcept { return impl_->concurrency; }

arena_load compress_arena::load() const noexcept {
  arena_load l;
  l.concurrency = impl_->concurrency;
  l.busy = impl_->busy.load(std::memory_order_relaxed);
  l.queued = impl_->queued.load(std::memory_order_relaxed);
  return l;
}

void compress_arena::run_batch(std::size_t count, int threads,
                               const std::function<void(std::size_t)>& job) {
  if (count == 0) return;
  if (threads <= 0 || threads > impl_->concurrency) threads = impl_->concurrency;
  const std::size_t helpers = std::min<std::size_t>(static_cast<std::size_t>(threads) - 1, count - 1);
  impl_->execute([&] {
    // Jobs are claimed from a counter, so the split adapts to however many threads show up.
    std::atomic<std::size_t> next{0};
    auto strand = [&] {
      for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < count;
           i = next.fetch_add(1, std::memory_order_relaxed)) {
        job(i);
      }
    };
    tbb::task_group group;
    for (std::size_t h = 0; h < helpers; ++h) impl_->spawn(group, strand);
    strand();
    group.wait();
  });
}

compress_arena& compress_arena::shared() {
  static compress_arena arena;
  return arena;
}

}  // namespace bfast
