// transform_memory_bound must cover every byte a transform allocates. This binary replaces
// malloc and friends to follow the live heap, and checks the peak of each transform (transcode,
// then encode, with fresh scratch) against the bound.
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string>

#include "bfast/calibrate.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/encode.hpp"
#include "bfast/padded_view.hpp"
#include "bfast/transcoder.hpp"
#include "test_support.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}

namespace {
std::atomic<long long> live{0};
std::atomic<long long> peak{0};

void note(long long delta) {
  const long long now = live.fetch_add(delta, std::memory_order_relaxed) + delta;
  long long seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}
long long usable(void* p) { return p ? static_cast<long long>(malloc_usable_size(p)) : 0; }
void* noted(void* p) {
  note(usable(p));
  return p;
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) { return noted(__libc_malloc(n)); }
void* calloc(std::size_t a, std::size_t b) { return noted(__libc_calloc(a, b)); }
void* memalign(std::size_t al, std::size_t n) { return noted(__libc_memalign(al, n)); }
void* aligned_alloc(std::size_t al, std::size_t n) { return noted(__libc_memalign(al, n)); }
int posix_memalign(void** out, std::size_t al, std::size_t n) {
  void* p = noted(__libc_memalign(al, n));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) {
  note(-usable(p));
  __libc_free(p);
}
void* realloc(void* p, std::size_t n) {
  const long long before = usable(p);
  void* q = __libc_realloc(p, n);
  if (q != nullptr || n == 0) note(usable(q) - before);
  return q;
}
}

namespace bfast {
namespace {

// The bytes one transform of `json` allocates at its peak, with fresh scratch and no arena for
// LZ4 (the proxy's arena threads hold no transform state). `parallelism`: the transcoder's, and
// `parts` gets how many parts it transcoded the text in.
std::size_t transform_peak(const std::string& json, bool padded, const policy_input& in,
                           const server_speeds& speeds, const policy_config& config,
                           const transcode_parallelism& parallelism = {},
                           std::size_t* parts = nullptr) {
  byte_buffer input;
  input.append(json);
  const padded_view view = padded_view::of(input);
  const long long base = live.load();
  peak.store(base);
  {
    transcoder t;
    t.set_parallelism(parallelism);
    encode_scratch scratch;
    byte_buffer message;
    const transcode_result r = padded ? t.transcode(view, message) : t.transcode(json, message);
    if (parts != nullptr) *parts = t.last_stats().parts;
    if (r.ok()) {
      const encoded e = encode(std::move(message), in, speeds, config, scratch);
      EXPECT_FALSE(e.body.empty());
    }
  }
  return static_cast<std::size_t>(peak.load() - base);
}

struct coding_case {
  const char* name;
  policy_input in;
  server_speeds speeds;
};

std::vector<coding_case> every_coding() {
  std::vector<coding_case> cases;
  coding_case lz4{"lz4", {}, {}};
  lz4.in.mode = route_mode::always;
  lz4.speeds.lz4 = {1e9, 0.5};
  cases.push_back(lz4);
  coding_case gzip{"gzip", {}, {}};
  gzip.in.accept_gzip = true;
  gzip.in.bandwidth_bytes_per_s = 1e3;
  gzip.speeds.gzip = {1e9, 0.01};
  cases.push_back(gzip);
  coding_case zstd{"zstd", {}, {}};
  zstd.in.accept_zstd = true;
  zstd.in.bandwidth_bytes_per_s = 1e3;
  zstd.speeds.zstd = {1e9, 0.01};
  cases.push_back(zstd);
  return cases;
}

void expect_within_bound(const std::string& json, const std::string& what) {
  for (const coding_case& c : every_coding()) {
    for (const std::size_t threshold : {std::size_t{0}, std::size_t{1'000'000}}) {
      policy_config config;
      config.sizes.parallel_threshold = threshold;
      config.sizes.chunk_bytes = 64 * 1024;
      for (const bool padded : {true, false}) {
        const std::size_t used = transform_peak(json, padded, c.in, c.speeds, config);
        const std::uint64_t bound = transform_memory_bound(json.size(), config, c.speeds, padded);
        EXPECT_LE(used, bound) << what << " " << c.name << " padded " << padded;
        EXPECT_GT(used, json.size() / 2) << "the watch must see the transform allocate";
      }
    }
  }
}

TEST(transform_memory_bound, covers_every_corpus_document_and_coding) {
  for (const test::fs::path& p : test::files_in(test::shared_dir() / "corpus" / "realworld", ".json"))
    expect_within_bound(test::read_file(p), p.filename().string());
}

TEST(transform_memory_bound, covers_the_slow_and_the_refusing_paths) {
  std::string big_int = sample_records_json(3000);
  big_int.insert(1, "123456789012345678901234567890,");
  expect_within_bound(big_int, "integer beyond 64 bits");
  std::string strings = "[";
  for (int i = 0; i < 50000; ++i) strings += i ? ",\"\"" : "\"\"";
  expect_within_bound(strings + "]", "empty strings");
  std::string ints = "[";
  for (int i = 0; i < 50000; ++i) ints += i ? ",10" : "10";
  expect_within_bound(ints + "]", "two-digit integers");
}

TEST(transform_memory_bound, covers_documents_transcoded_in_parts) {
  static compress_arena arena(4);
  // The arena's threads set up their own state on first use: before the watch, not during it.
  arena.run_batch(8, 4, [](std::size_t) {});
  std::string fails_in_a_part = sample_records_json(3000);
  fails_in_a_part.insert(fails_in_a_part.size() / 2, "123456789012345678901234567890,");
  const std::string documents[] = {sample_records_json(5000), test::read_file(
      test::shared_dir() / "conformance" / "users_1000.json"), fails_in_a_part};
  const coding_case lz4 = every_coding().front();
  policy_config config;
  config.sizes.chunk_bytes = 64 * 1024;
  for (const std::string& json : documents) {
    const bool cut = &json != &documents[2];
    for (const int threads : {2, 4}) {
      for (const std::size_t part_bytes : {std::size_t{0}, std::size_t{1000}, std::size_t{1}}) {
        const transcode_parallelism p{&arena, threads, 0, part_bytes};
        for (const bool padded : {true, false}) {
          std::size_t parts = 0;
          const std::size_t used = transform_peak(json, padded, lz4.in, lz4.speeds, config, p, &parts);
          const std::uint64_t bound = transform_memory_bound(json.size(), config, lz4.speeds, padded, p);
          EXPECT_LE(used, bound) << json.size() << " bytes, threads " << threads << " part_bytes "
                                 << part_bytes << " padded " << padded;
          EXPECT_EQ(parts > 1, cut) << "the text must be cut, or fall back whole";
        }
      }
    }
  }
}

TEST(transform_memory_bound, refused_documents_stay_within_it) {
  const policy_config config;
  const server_speeds speeds;
  for (const std::string& json : {std::string(5000, '[') + std::string(5000, ']'),
                                  sample_records_json(2000) + ",", std::string(100000, '[')}) {
    for (const bool padded : {true, false}) {
      const std::size_t used = transform_peak(json, padded, {}, speeds, config);
      EXPECT_LE(used, transform_memory_bound(json.size(), config, speeds, padded))
          << json.substr(0, 20) << " padded " << padded;
    }
  }
}

}  // namespace
}  // namespace bfast
