// Whether a response is transformed, and why not when it is not. Decided on the headers first
// (the body is only buffered for candidates) and finished once the body is known.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "bfast/status.hpp"

namespace bfast::filter {

namespace http = boost::beast::http;

// Every branch of the decision has a reason; each one is a metrics counter and appears in the
// BFast-Status header as its token.
enum class reason : std::uint8_t {
  transcoded,
  json_chosen,      // the client accepts JSON too, and JSON (perhaps gzip or zstd) reaches it sooner
  not_acceptable,   // the client did not ask for B-FAST
  route_disabled,   // the route's rule turns the transform off
  status,           // not a 200
  not_json,         // neither application/json nor +json (SSE, NDJSON, HTML, ...)
  no_transform,     // Cache-Control: no-transform
  encoded,          // a Content-Encoding other than identity
  too_large,        // beyond the route's size limit, or beyond the format's sizes
  overloaded,       // the memory budget for transforms in flight is spent
  invalid_json,
  key_too_long,
  too_many_keys,
  too_deep,
  lone_surrogate,
  proto_key,
  leading_bom,
  negative_zero,
  count_,
};

inline constexpr std::size_t reason_count = static_cast<std::size_t>(reason::count_);

[[nodiscard]] std::string_view reason_token(reason r) noexcept;
[[nodiscard]] reason reason_from(transcode_error e) noexcept;

// What the session knows about the exchange before the response arrives.
struct exchange_facts {
  bool negotiated = false;          // the proxy chooses the representation (B-FAST or a JSON coding)
  bool route_enabled = true;
  std::uint64_t size_limit = 16ull << 20;
};

struct header_decision {
  bool transform = false;       // buffer the body and choose its representation
  reason why = reason::transcoded;
  bool vary_accept = false;     // the body was eligible: the response varies with Accept and
                                // Accept-Encoding
  bool status_header = false;   // the response carries BFast-Status
};

// The media type of a Content-Type value, lower case, without parameters.
[[nodiscard]] std::string media_type_of(std::string_view content_type);
[[nodiscard]] bool is_json_media_type(std::string_view media_type) noexcept;

// Whether a 304 stands for a 200 that would have varied with Accept: nothing it carries (a
// Content-Type, a Content-Encoding, no-transform) shows that 200 was not eligible.
[[nodiscard]] bool not_modified_may_vary(const http::fields& response);

[[nodiscard]] header_decision decide_on_headers(unsigned status, const http::fields& response,
                                                const exchange_facts& facts);

// BFast-Status values.
[[nodiscard]] std::string format_passthrough_status(reason why);
[[nodiscard]] std::string format_transcoded_status(std::string_view compress, std::size_t in,
                                                   std::size_t out, std::string_view policy_reason);
// "upstream_error; reason=<kind>": a 502 or 504 the proxy made itself, the kind being the
// upstream error's (connect_refused, header_timeout, ...), so a client tells it from the upstream's.
[[nodiscard]] std::string format_upstream_error_status(std::string_view kind);
// "json; coding=<identity|gzip|zstd>; in=N; out=M; reason=...": JSON was the faster choice.
[[nodiscard]] std::string format_json_status(std::string_view coding, std::size_t in,
                                             std::size_t out, std::string_view policy_reason);

}  // namespace bfast::filter
