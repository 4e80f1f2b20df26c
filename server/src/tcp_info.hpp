// The kernel's view of a client connection, for the compression policy.
#pragma once
#include <cstdint>
#include <optional>

namespace bfast::server {

struct tcp_measure {
  std::uint32_t rtt_us = 0;            // smoothed RTT
  std::uint64_t delivery_rate_bps = 0; // bytes per second, 0 when the kernel has none yet
  // The window the next response starts with: the congestion window, or 0 when the connection
  // has been idle past its RTO and Linux will restart it from the initial window.
  std::uint64_t window_bytes = 0;
};

[[nodiscard]] std::optional<tcp_measure> read_tcp_info(int fd) noexcept;

}  // namespace bfast::server
