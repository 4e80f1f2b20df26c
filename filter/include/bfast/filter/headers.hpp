// Header tables and checks a proxy applies to every message: hop-by-hop headers, the headers a
// transformed body invalidates, and request framing (the request-smuggling rules).
#pragma once
#include <ctime>
#include <span>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace bfast::filter {

namespace http = boost::beast::http;

// Headers that describe one connection, not the message (RFC 9110 7.6.1, plus the
// non-standard ones proxies have met in the wild). Never forwarded.
[[nodiscard]] std::span<const std::string_view> hop_by_hop_headers() noexcept;

// Headers that describe the upstream's bytes and are false for a transformed body.
[[nodiscard]] std::span<const std::string_view> dropped_on_transform_headers() noexcept;

// Removes the hop-by-hop headers, and every header that a Connection field names.
void strip_hop_by_hop(http::fields& fields);

// The protocols an HTTP/1.1 request asks to switch to (RFC 9110 §7.8): its Upgrade list when a
// Connection field names "upgrade", with h2c left out (RFC 9113 §3.1 lets a server ignore it).
// Empty when there is nothing to upgrade to; HTTP/1.0 cannot upgrade.
[[nodiscard]] std::string upgrade_protocols(const http::fields& req, unsigned version);

// All the values of a field that may repeat, joined with ", " as RFC 9110 5.3 allows.
[[nodiscard]] std::string combined_value(const http::fields& fields, http::field name);
[[nodiscard]] std::string combined_value(const http::fields& fields, std::string_view name);

// Whether a comma-separated field holds `token` (case-insensitive), e.g. Cache-Control.
[[nodiscard]] bool list_contains(std::string_view value, std::string_view token);

// `s` without its optional whitespace (RFC 9110 §5.6.3: spaces and tabs) at either end.
[[nodiscard]] std::string_view trim_ows(std::string_view s) noexcept;

// An IMF-fixdate (RFC 9110 §5.6.7), "Sun, 06 Nov 1994 08:49:37 GMT", for a Date header.
[[nodiscard]] std::string http_date(std::time_t t);

enum class framing_error {
  none,
  content_length_and_transfer_encoding,
  differing_content_length,
  bad_content_length,
  unsupported_transfer_encoding,
};

// Checks how a request says where its body ends. Anything but one Content-Length, or
// Transfer-Encoding exactly "chunked" on HTTP/1.1, or neither, is an error: a proxy and the
// server behind it must never disagree on it.
[[nodiscard]] framing_error check_request_framing(const http::fields& fields, unsigned version);

}  // namespace bfast::filter
