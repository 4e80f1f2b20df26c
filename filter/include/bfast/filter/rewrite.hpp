// How the proxy rewrites headers on the way up (client -> upstream) and back down.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "bfast/filter/decision.hpp"

namespace bfast::filter {

namespace http = boost::beast::http;

inline constexpr std::string_view status_header_name = "BFast-Status";
inline constexpr std::string_view accept_ch_value = "RTT, Downlink, ECT, Save-Data";

struct forward_info {
  std::string client_address;   // the peer of the client connection
  std::string proto = "http";   // the scheme the client used
  bool peer_trusted = false;    // the peer is a configured ingress: keep its X-Forwarded-*
  bool negotiated = false;      // B-FAST is a candidate for this exchange
  bool json_acceptable = false; // ... and so is JSON: the client may hold either variant
};

// Turns a client request's fields into the upstream request's fields: hop-by-hop headers and
// Expect go (the proxy answers 100-continue itself), X-Forwarded-* are set, and when B-FAST was
// negotiated the upstream is asked for identity-encoded application/json, with If-None-Match
// mapped back to the upstream's validators. A client that accepts only JSON keeps its
// Accept-Encoding even where the proxy may code JSON: what the upstream codes itself passes
// through as it is, and only identity JSON is left to the proxy.
void rewrite_request_for_upstream(http::fields& fields, const forward_info& info);

// An upgrade the proxy lets through: after rewrite_request_for_upstream dropped the hop-by-hop
// headers, the request asks the upstream for the same switch (Connection: upgrade).
void restore_upgrade_request(http::fields& fields, std::string_view protocols);

// Whether a 101 may start a tunnel: it names the protocol (RFC 9110 §15.2.2) and has no body
// framing. A Content-Length other than 0, or a Transfer-Encoding, leaves the client and the
// proxy unsure where the new protocol's bytes begin (RFC 9110 §8.6 forbids both on a 1xx).
[[nodiscard]] bool valid_switching_response(const http::fields& fields);

// The upstream's 101 made fit for the client: hop-by-hop headers go except the switch itself,
// and a Content-Length: 0 goes too.
void rewrite_switching_response(http::fields& fields);

// Adds `token` to Vary unless it is there already (or Vary is "*").
void add_vary(http::fields& fields, std::string_view token);
// Vary: Accept, Accept-Encoding: what every eligible response's representation depends on.
void add_negotiation_vary(http::fields& fields);

// Per-variant ETags: "abc" or W/"abc" from the upstream becomes W/"abc-bfast".
[[nodiscard]] std::optional<std::string> variant_etag(std::string_view upstream_etag);
// The inverse, for If-None-Match: W/"abc-bfast" becomes "abc"; anything else gives nullopt.
[[nodiscard]] std::optional<std::string> upstream_etag_of(std::string_view variant);
// If-None-Match for the upstream when the client negotiated B-FAST: variant tags are mapped
// back, "*" stays; the other tags are kept when the client may hold a JSON variant too
// (`keep_other_tags`), and dropped otherwise (they cannot match the variant). nullopt when
// nothing is left.
[[nodiscard]] std::optional<std::string> map_if_none_match(std::string_view value,
                                                           bool keep_other_tags = false);

// The upstream's Accept-CH hints and the proxy's, as one list: the upstream's first, in its
// order, then the proxy's it lacks; names compare case-insensitively and none repeats.
[[nodiscard]] std::string merged_accept_ch(std::string_view upstream);
// Sets Accept-CH to that union, so the proxy never clobbers the hints an upstream asks for.
void merge_accept_ch(http::fields& fields);

// Headers of a passthrough response: hop-by-hop headers go; Vary and BFast-Status as decided.
void rewrite_passthrough_response(http::fields& fields, const header_decision& d, reason why);

struct transformed_body {
  std::size_t json_bytes = 0;
  std::size_t body_bytes = 0;           // what goes on the wire, after any encoding
  std::string_view compress = "none";   // none | lz4 | lz4-parallel (inside B-FAST)
  std::string_view content_encoding;    // empty, gzip or zstd (over B-FAST)
  std::string_view policy_reason;
};

// Headers of a transformed response.
void rewrite_transformed_response(http::fields& fields, const transformed_body& body);

struct json_body {
  std::size_t json_bytes = 0;
  std::size_t body_bytes = 0;            // on the wire, after the coding
  std::string_view coding = "identity";  // identity, gzip or zstd: applied by the proxy
  std::string_view policy_reason;
};

// Headers of a JSON response whose representation the proxy chose (and perhaps coded): a coded
// body's ETag becomes weak, as nginx's gzip makes it, since the bytes are not the upstream's.
void rewrite_json_response(http::fields& fields, const json_body& body);

// A 304 from the upstream for a request whose If-None-Match was mapped: it describes the variant.
void rewrite_not_modified_for_variant(http::fields& fields);

}  // namespace bfast::filter
