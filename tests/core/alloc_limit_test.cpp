// A declared count or length must not allocate before the bytes exist: this binary replaces the
// global operator new to record the largest single request made while decoding.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "test_support.hpp"

namespace {
std::atomic<bool> watching{false};
std::atomic<std::size_t> largest{0};

void* allocate(std::size_t n) {
  if (watching.load(std::memory_order_relaxed)) {
    std::size_t seen = largest.load(std::memory_order_relaxed);
    while (n > seen && !largest.compare_exchange_weak(seen, n)) {
    }
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace bfast::test {
namespace {

// The largest single allocation made by decoding, validating and inspecting `m`.
std::size_t largest_allocation(const std::vector<std::uint8_t>& m) {
  std::string out;
  message_info info;
  largest = 0;
  watching = true;
  (void)decode_to_json(m, out);
  (void)validate_message(m);
  (void)inspect_message(m, info);
  watching = false;
  return largest.load();
}

TEST(decoder_allocation, the_watch_sees_allocations) {
  // Guards the test itself: a decode that writes output must be seen allocating.
  message_builder b;
  b.sized(tag::string, std::string(100000, 'x'));
  EXPECT_GE(largest_allocation(b.build()), 100000u);
}

TEST(decoder_allocation, declared_counts_do_not_allocate_before_the_bytes_exist) {
  constexpr std::size_t limit = 4096;
  for (std::uint8_t t : {tag::array, tag::string, tag::bytes, tag::float64_array, tag::decimal,
                         tag::uuid, tag::date}) {
    for (std::uint32_t count : {0xFFFFFFFFu, 0x80000000u, 0x10000000u, 1000000u}) {
      message_builder b;
      b.u8(t).u32(count).u8(tag::null_v).u8(tag::null_v);
      EXPECT_LE(largest_allocation(b.build()), limit) << int{t} << " count " << count;
    }
  }
  // Nested arrays each claiming 2^32-1 elements.
  message_builder nested;
  for (int i = 0; i < 100; ++i) nested.u8(tag::array).u32(0xFFFFFFFF);
  EXPECT_LE(largest_allocation(nested.build()), limit);
  // A table that claims 65,535 entries in a few bytes.
  const std::vector<std::uint8_t> table{'B', 'F', 0, 1, 0xFF, 0xFF, 1, 'a', 0x10};
  EXPECT_LE(largest_allocation(table), limit);
}

TEST(decoder_allocation, damaged_messages_allocate_in_proportion_to_their_size) {
  // Output can outgrow the input (a control byte prints as \u00XX, and a string doubles its
  // capacity as it grows), but never beyond a small multiple of it.
  std::mt19937 rng(99);
  std::vector<std::vector<std::uint8_t>> seeds;
  for (const auto& p : files_in(shared_dir() / "conformance", ".bfast")) {
    const std::string s = read_file(p);
    if (s.size() < 100000) seeds.emplace_back(s.begin(), s.end());
  }
  ASSERT_FALSE(seeds.empty());
  for (int round = 0; round < 3000; ++round) {
    auto m = seeds[static_cast<std::size_t>(round) % seeds.size()];
    for (int e = 0; e < 3; ++e) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    const std::size_t bound = 16 * m.size() + 65536;
    EXPECT_LE(largest_allocation(m), bound) << "round " << round;
  }
}

}  // namespace
}  // namespace bfast::test
