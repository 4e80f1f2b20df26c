// Where a request is going (RFC 9112 §3.2 and §3.2.2): exactly one valid Host on HTTP/1.1, and
// an absolute-form target's authority wins over the Host field.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace bfast::filter {

namespace http = boost::beast::http;

enum class host_error : std::uint8_t {
  none,
  missing,         // HTTP/1.1 without Host
  duplicate,       // more than one Host field
  invalid,         // not uri-host [ ":" port ]
  bad_target,      // an absolute-form target that is not http(s)://authority/...
};

struct request_destination {
  host_error error = host_error::none;
  bool absolute_form = false;
  std::string authority;      // absolute form: the target's authority (the Host to send)
  std::string origin_target;  // absolute form: the target as origin-form, for the upstream
};

// uri-host [ ":" port ], with uri-host an IP-literal, IPv4 address or reg-name.
[[nodiscard]] bool valid_host_value(std::string_view value) noexcept;

// `options_method`: the asterisk-form target `*` is only for OPTIONS.
[[nodiscard]] request_destination check_destination(const http::fields& fields,
                                                    std::string_view target, unsigned version,
                                                    bool options_method = false);

}  // namespace bfast::filter
