// libFuzzer target for the decoder: arbitrary bytes must give a clear error or well-formed JSON,
// never a crash or an outsized allocation (run with -malloc_limit_mb), and the three readers
// (decode, validate, inspect) must agree.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_decode: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::string json;
  static bfast::transcoder transcoder;
  static bfast::byte_buffer out;
  const std::span<const std::uint8_t> message(data, size);

  const bfast::decode_result d = bfast::decode_to_json(message, json);
  const bfast::decode_result v = bfast::validate_message(message);
  bfast::message_info info;
  const bfast::decode_result i = bfast::inspect_message(message, info);
  if (d.error != v.error || d.error != i.error) fail("decode, validate and inspect disagree");
  if (!d.ok()) {
    if (!json.empty()) fail("failed decode left output");
    if (d.offset != v.offset) fail("decode and validate report different offsets");
    return 0;
  }
  if (info.max_depth > bfast::max_depth) fail("inspect reports a depth beyond the cap");
  // The decoder's output is JSON: the transcoder may find it unrepresentable (a "__proto__"
  // key, say) but never invalid.
  if (transcoder.transcode(json, out).error == bfast::transcode_error::invalid_json)
    fail("decoded output is not JSON");
  return 0;
}
