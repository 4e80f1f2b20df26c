// B-FAST request bodies -> JSON text, for a JSON upstream (the proxy's request direction). The
// body may be a raw message or LZ4 (either layout, by the format's magic), under gzip or zstd or
// not. Every size is bounded before it is allocated: the message after undoing the codings, and
// the JSON text, which is measured exactly before a byte of it is written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/status.hpp"
#include "bfast/transport.hpp"

namespace bfast {

struct request_decode_limits {
  std::size_t max_message_bytes = std::size_t{16} << 20;  // uncompressed message, and inflated body
  std::size_t max_json_bytes = std::size_t{64} << 20;     // the JSON text produced
  int max_depth = bfast::max_depth;                       // root is depth 1, as the Python decoder
};

enum class request_refusal : std::uint8_t {
  none = 0,
  malformed,             // the message itself: `error` says how (decode_error's tokens)
  bad_content_encoding,  // the gzip or zstd layer does not decode
  message_too_large,     // inflated body or declared message beyond max_message_bytes
  json_too_large,        // the JSON text would pass max_json_bytes
  nan,                   // a NaN (alone or in a packed array): no JSON text reads as one
  over_budget,           // the memory gate refused a reservation
};

struct [[nodiscard]] request_decode_result {
  request_refusal refusal = request_refusal::none;
  decode_error error = decode_error::ok;  // when malformed
  std::size_t offset = 0;                 // when malformed: in the uncompressed message
  message_layout layout = message_layout::uncompressed;
  std::size_t message_bytes = 0;
  std::size_t json_bytes = 0;

  [[nodiscard]] bool ok() const noexcept { return refusal == request_refusal::none; }
  // 413 rather than 400: the body is well-formed as far as read, only too large.
  [[nodiscard]] bool too_large() const noexcept {
    return refusal == request_refusal::message_too_large ||
           refusal == request_refusal::json_too_large;
  }
  // The stable token for BFast-Status, metrics and the access log.
  [[nodiscard]] std::string_view reason() const noexcept;
};

// Asked before each allocation of the conversion (bytes about to be held); false refuses it.
class memory_gate {
 public:
  virtual ~memory_gate() = default;
  [[nodiscard]] virtual bool reserve(std::size_t bytes) noexcept = 0;
};

// Replaces `json` with the compact JSON text of the body, exactly decode_to_json's, or empties it
// and says why not. `gate` (optional) is asked before every buffer the call allocates.
request_decode_result decode_request_body(transport_codec coding,
                                          std::span<const std::uint8_t> body,
                                          const request_decode_limits& limits, std::string& json,
                                          memory_gate* gate = nullptr);

}  // namespace bfast
