#include "bfast/filter/forwarded.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace bfast::filter {

bool is_ip_address(std::string_view s) noexcept {
  // INET6_ADDRSTRLEN bounds both forms; inet_pton wants a terminated string.
  std::array<char, 64> text{};
  if (s.empty() || s.size() >= text.size()) return false;
  std::memcpy(text.data(), s.data(), s.size());
  std::array<unsigned char, 16> bytes{};
  return ::inet_pton(AF_INET, text.data(), bytes.data()) == 1 ||
         ::inet_pton(AF_INET6, text.data(), bytes.data()) == 1;
}

namespace {

bool is_port(std::string_view s) noexcept {
  if (s.empty() || s.size() > 5) return false;
  unsigned value = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value <= 65535;
}

}  // namespace

std::string_view forwarded_element_address(std::string_view element) noexcept {
  if (element.starts_with('[')) {
    const std::size_t close = element.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view address = element.substr(1, close - 1);
    const std::string_view rest = element.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && is_port(rest.substr(1)))) return {};
    return address.find(':') != std::string_view::npos && is_ip_address(address) ? address
                                                                                  : std::string_view{};
  }
  if (is_ip_address(element)) return element;
  // One colon: an IPv4 address and a port (an IPv6 address has two or more).
  const std::size_t colon = element.find(':');
  if (colon == std::string_view::npos || element.find(':', colon + 1) != std::string_view::npos)
    return {};
  const std::string_view address = element.substr(0, colon);
  return is_port(element.substr(colon + 1)) && is_ip_address(address) ? address : std::string_view{};
}

}  // namespace bfast::filter
