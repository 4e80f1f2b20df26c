// Outcomes of the core's calls: a status and, where the input is at fault, a reason token.
// The tokens go into the proxy's BFast-Status header, so they are stable API.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bfast {

enum class transcode_error : std::uint8_t {
  ok = 0,
  invalid_json,      // not JSON: the client gets the text as it was
  key_too_long,      // a key longer than 255 UTF-8 bytes
  too_many_keys,     // more than 65,535 key-table entries, fillers included
  too_deep,          // nesting beyond depth 128 (root = 1)
  lone_surrogate,    // a \uD800-\uDFFF escape with no partner: no exact UTF-8 form
  proto_key,         // a "__proto__" key: the TypeScript decoder assigns it as a prototype
  too_large,         // a string, array or message beyond the format's u32 sizes
  leading_bom,       // a string or key starting with U+FEFF: the TypeScript decoder strips it
  negative_zero,     // the integer -0: JSON.parse gives -0, no integer tag carries it
};

[[nodiscard]] constexpr std::string_view reason_token(transcode_error e) noexcept {
  switch (e) {
    case transcode_error::ok: return "ok";
    case transcode_error::invalid_json: return "invalid_json";
    case transcode_error::key_too_long: return "key_too_long";
    case transcode_error::too_many_keys: return "too_many_keys";
    case transcode_error::too_deep: return "too_deep";
    case transcode_error::lone_surrogate: return "lone_surrogate";
    case transcode_error::proto_key: return "proto_key";
    case transcode_error::too_large: return "too_large";
    case transcode_error::leading_bom: return "leading_bom";
    case transcode_error::negative_zero: return "negative_zero";
  }
  return "unknown";
}

struct [[nodiscard]] transcode_result {
  transcode_error error = transcode_error::ok;
  std::size_t offset = 0;  // for invalid_json: byte offset where parsing failed (best effort)
  std::string_view detail; // a short human-readable explanation, static storage

  [[nodiscard]] bool ok() const noexcept { return error == transcode_error::ok; }
};

enum class decode_error : std::uint8_t {
  ok = 0,
  bad_magic,
  bad_version,
  truncated,
  bad_tag,
  bad_key_index,
  too_deep,
  invalid_utf8,
  too_large,         // a declared size beyond the configured output limit
  bad_compression,   // compressed layout that does not decompress to its declared size
};

[[nodiscard]] constexpr std::string_view reason_token(decode_error e) noexcept {
  switch (e) {
    case decode_error::ok: return "ok";
    case decode_error::bad_magic: return "bad_magic";
    case decode_error::bad_version: return "bad_version";
    case decode_error::truncated: return "truncated";
    case decode_error::bad_tag: return "bad_tag";
    case decode_error::bad_key_index: return "bad_key_index";
    case decode_error::too_deep: return "too_deep";
    case decode_error::invalid_utf8: return "invalid_utf8";
    case decode_error::too_large: return "too_large";
    case decode_error::bad_compression: return "bad_compression";
  }
  return "unknown";
}

struct [[nodiscard]] decode_result {
  decode_error error = decode_error::ok;
  std::size_t offset = 0;  // byte offset of the failure in the (uncompressed) message
  [[nodiscard]] bool ok() const noexcept { return error == decode_error::ok; }
};

}  // namespace bfast
