// A growable byte buffer that keeps its capacity across uses and never zero-fills on growth:
// output buffers are reused between calls so their pages stay warm.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

namespace bfast {

class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;
  byte_buffer(byte_buffer&& o) noexcept : data_(o.data_), size_(o.size_), capacity_(o.capacity_) {
    o.data_ = nullptr;
    o.size_ = o.capacity_ = 0;
  }
  byte_buffer& operator=(byte_buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = o.data_;
      size_ = o.size_;
      capacity_ = o.capacity_;
      o.data_ = nullptr;
      o.size_ = o.capacity_ = 0;
    }
    return *this;
  }
  ~byte_buffer() { std::free(data_); }

  [[nodiscard]] std::uint8_t* data() noexcept { return data_; }
  [[nodiscard]] const std::uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::span<const std::uint8_t> span() const noexcept { return {data_, size_}; }
  [[nodiscard]] std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data_), size_};
  }

  void clear() noexcept { size_ = 0; }

  // The least capacity a buffer that allocates holds.
  static constexpr std::size_t min_capacity = 256;

  // The most capacity a buffer that started empty holds after growing to n bytes bit by bit (one
  // reserve or ensure of n on an empty buffer holds exactly max(n, min_capacity)).
  [[nodiscard]] static constexpr std::size_t capacity_bound(std::size_t n) noexcept {
    return n <= min_capacity ? min_capacity : n + n / 2 + 1;
  }

  // Makes room for n more bytes; returns the write position.
  std::uint8_t* ensure(std::size_t n) {
    if (capacity_ - size_ < n) grow(size_ + n);
    return data_ + size_;
  }
  void reserve(std::size_t total) {
    if (total > capacity_) grow(total);
  }
  // Sets the size after bytes were written through ensure(); n must fit the capacity.
  void commit(std::size_t n) noexcept { size_ += n; }
  void resize_uninitialized(std::size_t n) {
    reserve(n);
    size_ = n;
  }
  void push_back(std::uint8_t b) {
    *ensure(1) = b;
    ++size_;
  }
  void append(const void* p, std::size_t n) {
    if (n == 0) return;
    std::memcpy(ensure(n), p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void append(std::span<const std::uint8_t> s) { append(s.data(), s.size()); }

 private:
  // Half as much again, or exactly what is asked when that is more: a buffer filled in one go
  // holds no slack, one filled bit by bit grows geometrically.
  void grow(std::size_t need) {
    std::size_t cap = capacity_ + capacity_ / 2;
    if (cap < need) cap = need;
    if (cap < min_capacity) cap = min_capacity;
    auto* p = static_cast<std::uint8_t*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    capacity_ = cap;
  }

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace bfast
