// libFuzzer target for the request direction (B-FAST request bodies -> JSON), differential against
// the existing decoder: the same bytes give decode_to_json's JSON exactly, or its refusal, and
// the same message under gzip or zstd gives the same answer. The JSON bound and the NaN refusal
// are checked against the reference output; every allocation is reserved from the gate first.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bfast/decoder.hpp"
#include "bfast/request_decode.hpp"
#include "bfast/transport.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_request_decode: %s\n", what);
  std::abort();
}

// Counts what the conversion reserved.
struct counting_gate final : bfast::memory_gate {
  std::size_t reserved = 0;
  bool reserve(std::size_t bytes) noexcept override {
    reserved += bytes;
    return true;
  }
};

bool same(const bfast::request_decode_result& a, const bfast::request_decode_result& b) {
  return a.refusal == b.refusal && a.error == b.error && a.json_bytes == b.json_bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::string reference, json, bounded_json, coded_json;
  static bfast::transport_encoder codec;
  static bfast::byte_buffer coded;
  // The whole input is the body, so the decoder's seeds stay messages; the size picks the rest.
  const std::size_t knob = size % 8;
  const std::span<const std::uint8_t> body(data, size);

  bfast::request_decode_limits limits;
  limits.max_message_bytes = std::size_t{1} << 20;
  limits.max_json_bytes = std::size_t{1} << 30;
  bfast::decode_options options;
  options.max_message_bytes = limits.max_message_bytes;

  const bfast::decode_result ref = bfast::decode_to_json(body, reference, options);
  counting_gate gate;
  const bfast::request_decode_result r =
      bfast::decode_request_body(bfast::transport_codec::identity, body, limits, json, &gate);
  if (!ref.ok()) {
    const bool bomb = ref.error == bfast::decode_error::too_large;
    if (bomb ? r.refusal != bfast::request_refusal::message_too_large
             : (r.refusal != bfast::request_refusal::malformed || r.error != ref.error ||
                r.offset != ref.offset))
      fail("a message the decoder refuses is refused differently");
    if (!json.empty()) fail("a refusal left output");
    return 0;
  }
  if (r.refusal == bfast::request_refusal::nan) {
    if (reference.find("null") == std::string::npos) fail("NaN refused where the decoder wrote none");
    return 0;
  }
  if (!r.ok()) fail("a message the decoder reads was refused");
  if (json != reference) fail("JSON differs from decode_to_json");
  if (r.json_bytes != json.size()) fail("measured size differs from the written size");
  if (gate.reserved < json.size()) fail("output not reserved before it was written");

  // The JSON bound: refused exactly when the text would pass it.
  limits.max_json_bytes = reference.size() / (1 + knob % 3) + (knob & 1);
  const bfast::request_decode_result bounded =
      bfast::decode_request_body(bfast::transport_codec::identity, body, limits, bounded_json);
  const bool over = reference.size() > limits.max_json_bytes;
  if (over != (bounded.refusal == bfast::request_refusal::json_too_large))
    fail("the JSON bound is not applied exactly");
  limits.max_json_bytes = std::size_t{1} << 30;

  // The same message under a Content-Encoding gives the same answer.
  const auto coding = knob & 4 ? bfast::transport_codec::zstd : bfast::transport_codec::gzip;
  if (!codec.encode(coding, 1, body, coded)) fail("encode failed");
  const bfast::request_decode_result c =
      bfast::decode_request_body(coding, coded.span(), limits, coded_json);
  if (!same(c, r) || coded_json != json) fail("a coded body decodes differently");
  // And the raw bytes taken as a coded stream never crash.
  (void)bfast::decode_request_body(coding, body, limits, coded_json);
  return 0;
}
