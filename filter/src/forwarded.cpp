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

}  // namespace bfast::filter
