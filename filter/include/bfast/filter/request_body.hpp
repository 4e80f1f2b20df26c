// The request direction: whether a client's body is a B-FAST message the proxy turns into JSON
// before it goes up, and the upstream request's headers once it has.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "bfast/transport.hpp"

namespace bfast::filter {

namespace http = boost::beast::http;

// Names the conversion for the upstream: "decoded; in=<body bytes>; out=<json bytes>".
inline constexpr std::string_view request_status_header_name = "BFast-Request";

enum class request_body_action : std::uint8_t {
  pass,                  // not B-FAST, no body, or the route does not decode: untouched
  decode,                // read whole, convert, send JSON
  unsupported_encoding,  // B-FAST under a Content-Encoding other than gzip or zstd: 415
};

struct request_body_decision {
  request_body_action action = request_body_action::pass;
  transport_codec coding = transport_codec::identity;  // the layer to undo first
};

// Decides on the request's headers alone: Content-Type application/x-bfast (parameters ignored),
// a body, a route with decode_requests on; then a Content-Encoding of identity, gzip or zstd.
[[nodiscard]] request_body_decision decide_request_body(const http::fields& req, bool has_body,
                                                        bool route_decodes);

// The upstream request's headers for the converted body: application/json with its exact
// Content-Length, no Content-Encoding, chunking or digests of the old bytes, and BFast-Request.
void rewrite_decoded_request(http::fields& fields, std::size_t body_bytes, std::size_t json_bytes);

// BFast-Status of the proxy's answer to a body it would not convert: "request_refused; reason=<token>".
[[nodiscard]] std::string format_request_refused(std::string_view reason);

}  // namespace bfast::filter
