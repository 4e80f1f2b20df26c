// Address ranges for the trusted-peer list: "10.0.0.0/8", "::1", "fd00::/8".
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace bfast::config {

struct cidr {
  std::array<std::uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6
  unsigned prefix_bits = 128;

  [[nodiscard]] static std::optional<cidr> parse(std::string_view text);
  // `peer` is an address in text form (IPv4, IPv6, or IPv4-mapped IPv6).
  [[nodiscard]] bool contains(std::string_view peer) const;
};

[[nodiscard]] bool any_contains(const std::vector<cidr>& ranges, std::string_view peer);

}  // namespace bfast::config
