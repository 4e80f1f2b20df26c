// libFuzzer target: a text transcoded in parts at once (tiny parts, so that short inputs are cut at
// many places) must give exactly what the one-thread transcoder gives: the same status, offset
// and detail, and the same bytes. Any difference aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "bfast/compress_arena.hpp"
#include "bfast/transcoder.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_parallel_transcode: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The length picks the options, the part size and the threads, so no byte of the JSON seeds
  // is spent on them.
  bfast::transcode_options options;
  options.pack_float_arrays = (size & 1) != 0;
  options.pack_float_min = (size >> 1) & 3;
  bfast::transcode_parallelism parallel;
  static bfast::compress_arena arena(3);
  parallel.arena = (size >> 3) & 1 ? &arena : nullptr;
  parallel.threads = 1 + static_cast<int>((size >> 4) % 3);
  parallel.min_bytes = 0;
  static constexpr std::size_t part_sizes[] = {1, 2, 3, 5, 8, 16, 40, 100};
  parallel.part_bytes = part_sizes[(size >> 2) % 8];
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  static bfast::transcoder whole;
  static bfast::transcoder parts;
  static bfast::byte_buffer want;
  static bfast::byte_buffer got;
  whole.set_options(options);
  parts.set_options(options);
  parts.set_parallelism(parallel);

  const bfast::transcode_result a = whole.transcode(json, want);
  const bfast::transcode_result b = parts.transcode(json, got);
  if (a.error != b.error) fail("the status differs");
  if (a.offset != b.offset) fail("the error offset differs");
  if (a.detail != b.detail) fail("the error detail differs");
  if (want.view() != got.view()) fail("the message differs");
  if (whole.last_stats().table_entries != parts.last_stats().table_entries)
    fail("the table size differs");
  return 0;
}
