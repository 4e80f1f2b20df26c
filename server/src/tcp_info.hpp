// The kernel's view of a client connection, for the compression policy.
#pragma once
#include <cstdint>
#include <optional>

namespace bfast::server {

struct tcp_measure {
  std::uint32_t rtt_us = 0;            // smoothed RTT
  std::uint64_t delivery_rate_bps = 0; // bytes per second, 0 when the kernel has none yet
};

[[nodiscard]] std::optional<tcp_measure> read_tcp_info(int fd) noexcept;

}  // namespace bfast::server
