// The arena's insides (oneTBB stays out of the public headers).
#pragma once
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <utility>

#include "bfast/compress_arena.hpp"

namespace bfast {

struct compress_arena::impl {
  explicit impl(int n) : concurrency(n), arena(n, 1) {}

  // Counts a thread as busy for its lifetime.
  struct busy_scope {
    explicit busy_scope(impl& a) : a_(a) { a_.busy.fetch_add(1, std::memory_order_relaxed); }
    ~busy_scope() { a_.busy.fetch_sub(1, std::memory_order_relaxed); }
    busy_scope(const busy_scope&) = delete;
    busy_scope& operator=(const busy_scope&) = delete;
    impl& a_;
  };

  // Runs f on the calling thread inside the arena (waiting for a slot if all are taken).
  template <class F>
  void execute(F&& f) {
    queued.fetch_add(1, std::memory_order_relaxed);
    arena.execute([&] {
      queued.fetch_sub(1, std::memory_order_relaxed);
      busy_scope scope(*this);
      std::forward<F>(f)();
    });
  }

  // Must be called from inside execute(): queues f as a task of `group`.
  template <class F>
  void spawn(tbb::task_group& group, F f) {
    queued.fetch_add(1, std::memory_order_relaxed);
    group.run([this, f = std::move(f)] {
      queued.fetch_sub(1, std::memory_order_relaxed);
      busy_scope scope(*this);
      f();
    });
  }

  int concurrency;
  tbb::task_arena arena;
  std::atomic<int> busy{0};
  std::atomic<int> queued{0};
};

}  // namespace bfast
