// Read buffers that an I/O thread frees and takes again on every request: an idle connection
// gives its buffers back (so it holds none), and the next request on the thread takes them from
// this cache instead of from malloc, whose large-block path (and the consolidation it triggers)
// costs more than the rest of a small exchange's user-space work.
#pragma once
#include <array>
#include <bit>
#include <cstddef>
#include <new>
#include <string>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>

namespace bfast::server {

class block_cache {
 public:
  // Blocks of 1 KiB .. 64 KiB, by power of two; others go straight to operator new.
  static constexpr std::size_t min_block = 1024;
  static constexpr std::size_t classes = 7;
  // What one thread keeps at most: past it, freed blocks go back to malloc.
  static constexpr std::size_t max_cached_bytes = 256 * 1024;

  block_cache() = default;
  block_cache(const block_cache&) = delete;
  block_cache& operator=(const block_cache&) = delete;
  ~block_cache() { release(); }

  // The calling thread's cache.
  static block_cache& local() {
    thread_local block_cache cache;
    return cache;
  }

  [[nodiscard]] void* allocate(std::size_t n) {
    const std::size_t c = class_of(n);
    if (c >= classes) return ::operator new(n);
    if (!free_[c].empty()) {
      void* p = free_[c].back();
      free_[c].pop_back();
      cached_bytes_ -= block_size(c);
      return p;
    }
    return ::operator new(block_size(c));
  }

  void deallocate(void* p, std::size_t n) noexcept {
    const std::size_t c = class_of(n);
    if (c >= classes || cached_bytes_ + block_size(c) > max_cached_bytes) {
      ::operator delete(p);
      return;
    }
    try {
      free_[c].push_back(p);
      cached_bytes_ += block_size(c);
    } catch (const std::bad_alloc&) {
      ::operator delete(p);
    }
  }

  [[nodiscard]] std::size_t cached_bytes() const noexcept { return cached_bytes_; }

  // Gives every cached block back to malloc (before a trim: cached blocks pin their pages).
  void release() noexcept {
    for (auto& list : free_) {
      for (void* p : list) ::operator delete(p);
      list.clear();
      list.shrink_to_fit();
    }
    cached_bytes_ = 0;
  }

  static constexpr std::size_t class_of(std::size_t n) noexcept {
    if (n <= min_block) return 0;
    return static_cast<std::size_t>(std::bit_width(n - 1)) - std::bit_width(min_block - 1);
  }
  static constexpr std::size_t block_size(std::size_t c) noexcept { return min_block << c; }

 private:
  std::array<std::vector<void*>, classes> free_;
  std::size_t cached_bytes_ = 0;
};

// A standard allocator over the calling thread's block_cache. Stateless: a block may be freed on
// another thread (at shutdown), where it joins that thread's cache or goes back to malloc.
template <class T>
struct recycling_allocator {
  using value_type = T;
  recycling_allocator() noexcept = default;
  template <class U>
  recycling_allocator(const recycling_allocator<U>&) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    return static_cast<T*>(block_cache::local().allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { block_cache::local().deallocate(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const recycling_allocator<U>&) const noexcept {
    return true;
  }
};

// The read buffers and serialized heads of client and upstream connections.
using read_buffer = boost::beast::basic_flat_buffer<recycling_allocator<char>>;
using head_string = std::basic_string<char, std::char_traits<char>, recycling_allocator<char>>;

}  // namespace bfast::server
