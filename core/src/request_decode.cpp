#include "bfast/request_decode.hpp"

#include <algorithm>

#include "bfast/byte_buffer.hpp"
#include "json_sink.hpp"
#include "message_reader.hpp"
#include "unpack.hpp"

namespace bfast {
namespace {

// Deflate cannot expand by more than 1032:1, so a gzip body never needs more room than this.
constexpr std::size_t deflate_max_ratio = 1032;

bool reserve(memory_gate* gate, std::size_t bytes) { return gate == nullptr || gate->reserve(bytes); }

request_decode_result refuse(request_refusal why, request_decode_result r = {}) {
  r.refusal = why;
  return r;
}

}  // namespace

std::string_view request_decode_result::reason() const noexcept {
  switch (refusal) {
    case request_refusal::none: return "decoded";
    case request_refusal::malformed: return reason_token(error);
    case request_refusal::bad_content_encoding: return "bad_content_encoding";
    case request_refusal::message_too_large: return "message_too_large";
    case request_refusal::json_too_large: return "json_too_large";
    case request_refusal::nan: return "nan";
    case request_refusal::over_budget: return "overloaded";
  }
  return "unknown";
}

request_decode_result decode_request_body(transport_codec coding,
                                          std::span<const std::uint8_t> body,
                                          const request_decode_limits& limits, std::string& json,
                                          memory_gate* gate) {
  json.clear();
  std::span<const std::uint8_t> wire = body;
  byte_buffer inflated;
  if (coding != transport_codec::identity) {
    const std::size_t room =
        coding == transport_codec::gzip
            ? std::min(limits.max_message_bytes, body.size() * deflate_max_ratio + 1024)
            : limits.max_message_bytes;
    if (!reserve(gate, byte_buffer::capacity_bound(room))) return refuse(request_refusal::over_budget);
    transport_encoder codec;
    bool at_limit = false;
    if (!codec.decode(coding, body, inflated, limits.max_message_bytes, &at_limit)) {
      return refuse(at_limit ? request_refusal::message_too_large
                             : request_refusal::bad_content_encoding);
    }
    wire = inflated.span();
  }

  request_decode_result r;
  decode_options options;
  options.max_depth = limits.max_depth;
  options.max_message_bytes = limits.max_message_bytes;
  const bool packed = !(wire.size() >= 2 && wire[0] == magic_0 && wire[1] == magic_1);
  if (!packed && wire.size() > limits.max_message_bytes)
    return refuse(request_refusal::message_too_large);
  // Both LZ4 layouts begin with the uncompressed size, which is all unpack() allocates.
  if (packed && wire.size() >= 5) {
    const std::size_t declared = load_u32(wire.data());
    if (declared > limits.max_message_bytes) return refuse(request_refusal::message_too_large);
    if (!reserve(gate, declared)) return refuse(request_refusal::over_budget);
  }
  detail::unpacked scratch;
  std::span<const std::uint8_t> plain;
  if (const decode_result u = detail::unpack(wire, options, scratch, plain); !u.ok()) {
    r.error = u.error;
    r.offset = u.offset;
    return refuse(u.error == decode_error::too_large ? request_refusal::message_too_large
                                                     : request_refusal::malformed,
                  r);
  }
  r.layout = scratch.layout;
  r.message_bytes = plain.size();

  detail::json_size_sink size;
  {
    detail::message_reader<detail::json_size_sink> reader(plain, size, options.max_depth);
    if (const decode_result m = reader.read(); !m.ok()) {
      r.error = m.error;
      r.offset = m.offset;
      return refuse(request_refusal::malformed, r);
    }
  }
  r.json_bytes = size.bytes();
  if (size.nans() > 0) return refuse(request_refusal::nan, r);
  if (size.bytes() > limits.max_json_bytes) return refuse(request_refusal::json_too_large, r);
  if (!reserve(gate, size.bytes())) return refuse(request_refusal::over_budget, r);

  json.reserve(size.bytes());
  detail::json_sink sink(json, false);
  detail::message_reader<detail::json_sink> reader(plain, sink, options.max_depth);
  (void)reader.read();  // the measuring pass read the same bytes without error
  return r;
}

}  // namespace bfast
