#include "bfast/filter/request_target.hpp"

#include <boost/beast/core/string.hpp>

namespace bfast::filter {
namespace {

bool is_reg_name_char(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                   // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*':  // sub-delims
    case '+': case ',': case ';': case '=':
    case '%':                                                                // pct-encoded
      return true;
    default:
      return false;
  }
}

bool is_hex(unsigned char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool valid_reg_name(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!is_reg_name_char(c)) return false;
    if (c == '%' && (i + 2 >= s.size() || !is_hex(static_cast<unsigned char>(s[i + 1])) ||
                     !is_hex(static_cast<unsigned char>(s[i + 2]))))
      return false;
  }
  return true;
}

}  // namespace

bool valid_host_value(std::string_view value) noexcept {
  std::string_view host = value;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : host.substr(1, close - 1))
      if (!is_hex(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
    }
  } else {
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (!valid_reg_name(host)) return false;
  }
  if (port.size() > 5) return false;
  unsigned long number = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    number = number * 10 + static_cast<unsigned long>(c - '0');
  }
  return number <= 65535;
}

request_destination check_destination(const http::fields& fields, std::string_view target,
                                      unsigned version, bool options_method) {
  request_destination d;
  const auto hosts = fields.count(http::field::host);
  if (hosts > 1) {
    d.error = host_error::duplicate;
    return d;
  }
  if (hosts == 1 && !valid_host_value(fields[http::field::host])) {
    d.error = host_error::invalid;
    return d;
  }
  if (target == "*" && !options_method) {
    d.error = host_error::bad_target;
    return d;
  }
  if (!target.empty() && target.front() != '/' && target != "*") {
    // absolute-form: scheme "://" authority [ path-abempty ] [ "?" query ]
    const auto sep = target.find("://");
    const std::string_view scheme = sep == std::string_view::npos ? "" : target.substr(0, sep);
    if (!boost::beast::iequals(scheme, "http") && !boost::beast::iequals(scheme, "https")) {
      d.error = host_error::bad_target;
      return d;
    }
    const std::string_view rest = target.substr(sep + 3);
    const auto path_at = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, path_at);
    if (authority.empty() || authority.find('@') != std::string_view::npos ||
        !valid_host_value(authority)) {
      d.error = host_error::bad_target;
      return d;
    }
    d.absolute_form = true;
    d.authority = std::string(authority);
    std::string_view path = path_at == std::string_view::npos ? "" : rest.substr(path_at);
    if (const auto hash = path.find('#'); hash != std::string_view::npos) path = path.substr(0, hash);
    d.origin_target = path.empty() || path.front() != '/' ? "/" + std::string(path)
                                                          : std::string(path);
    return d;
  }
  if (hosts == 0 && version >= 11) d.error = host_error::missing;
  return d;
}

}  // namespace bfast::filter
