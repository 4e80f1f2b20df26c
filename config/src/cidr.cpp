#include "bfast/config/cidr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <string>

namespace bfast::config {
namespace {

std::optional<std::array<std::uint8_t, 16>> parse_address(std::string_view text, bool& v4) {
  const std::string s(text);
  std::array<std::uint8_t, 16> out{};
  in_addr a4{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    v4 = true;
    return out;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    v4 = false;
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<cidr> cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  bool v4 = false;
  const auto addr = parse_address(text.substr(0, slash), v4);
  if (!addr) return std::nullopt;
  cidr c;
  c.address = *addr;
  const unsigned width = v4 ? 32 : 128;
  unsigned bits = width;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), bits);
    if (ec != std::errc() || end != p.data() + p.size() || p.empty() || bits > width)
      return std::nullopt;
  }
  c.prefix_bits = v4 ? bits + 96 : bits;
  return c;
}

bool cidr::contains(std::string_view peer) const {
  bool v4 = false;
  const auto addr = parse_address(peer, v4);
  if (!addr) return false;
  unsigned bits = prefix_bits;
  for (std::size_t i = 0; i < 16 && bits > 0; ++i) {
    const unsigned take = bits >= 8 ? 8 : bits;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - take));
    if (((*addr)[i] & mask) != (address[i] & mask)) return false;
    bits -= take;
  }
  return true;
}

bool any_contains(const std::vector<cidr>& ranges, std::string_view peer) {
  for (const cidr& c : ranges)
    if (c.contains(peer)) return true;
  return false;
}

}  // namespace bfast::config
