// The one pool of threads that compresses: a oneTBB task arena with bounded concurrency, created
// once and shared by every request, so a burst of large responses cannot oversubscribe the
// machine. Its load is visible to the compression policy.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>

namespace bfast {

struct arena_load {
  int concurrency = 1;  // threads the arena may run at once
  int busy = 0;         // threads working in it now (callers inside it included)
  int queued = 0;       // tasks and callers waiting for a thread

  [[nodiscard]] int idle() const noexcept {
    const int free = concurrency - busy - queued;
    return free > 0 ? free : 0;
  }
  [[nodiscard]] bool saturated() const noexcept { return busy + queued >= concurrency; }
};

class compress_arena {
 public:
  // concurrency <= 0: the hardware concurrency.
  explicit compress_arena(int concurrency = 0);
  ~compress_arena();
  compress_arena(const compress_arena&) = delete;
  compress_arena& operator=(const compress_arena&) = delete;

  [[nodiscard]] int concurrency() const noexcept;
  [[nodiscard]] arena_load load() const noexcept;

  // Runs job(0) .. job(count - 1) in the arena, at most `threads` at once (the calling thread
  // included; <= 0 means the arena's concurrency), and returns when all are done.
  void run_batch(std::size_t count, int threads, const std::function<void(std::size_t)>& job);

  // Created on first use with the hardware concurrency, for programs that want no other.
  [[nodiscard]] static compress_arena& shared();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bfast
