// Kept apart from Asio's headers: <linux/tcp.h> (which has the delivery rate) and
// <netinet/tcp.h> (which Asio includes) cannot share a translation unit.
#include "tcp_info.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace bfast::server {

std::optional<tcp_measure> read_tcp_info(int fd) noexcept {
  struct tcp_info info {};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  tcp_measure m;
  m.rtt_us = info.tcpi_rtt;
  if (len >= offsetof(struct tcp_info, tcpi_delivery_rate) + sizeof info.tcpi_delivery_rate)
    m.delivery_rate_bps = info.tcpi_delivery_rate;
  // tcp_slow_start_after_idle: idle longer than the RTO, the window restarts.
  const bool restarts = info.tcpi_last_data_sent * 1000ull > info.tcpi_rto;
  if (!restarts) m.window_bytes = std::uint64_t{info.tcpi_snd_cwnd} * info.tcpi_snd_mss;
  return m;
}

}  // namespace bfast::server
