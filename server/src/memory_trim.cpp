#include "memory_trim.hpp"

#include <malloc.h>

#include "recycling_allocator.hpp"

namespace bfast::server {

void memory_trimmer::note_open(std::int64_t open) noexcept {
  std::int64_t peak = peak_.load(std::memory_order_relaxed);
  while (open > peak && !peak_.compare_exchange_weak(peak, open, std::memory_order_relaxed)) {
  }
}

void memory_trimmer::note_closing(std::int64_t open) noexcept {
  if (open > 1 || peak_.load(std::memory_order_relaxed) < min_crowd) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  std::int64_t last = last_trim_ns_.load(std::memory_order_relaxed);
  if (now - last < std::chrono::nanoseconds(min_interval).count()) return;
  if (!last_trim_ns_.compare_exchange_strong(last, now, std::memory_order_relaxed)) return;
  peak_.store(0, std::memory_order_relaxed);
  block_cache::local().release();
  malloc_trim(0);
}

}  // namespace bfast::server
