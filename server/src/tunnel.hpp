// The byte tunnel an upgraded connection (WebSocket, or any protocol a 101 switched to) becomes:
// bytes go both ways between the client and the upstream, untouched, until both sides have
// closed, one breaks, or neither sends for the idle timeout. A FIN from one side is passed on as
// a shutdown of the other's write side, and the other direction carries on (half-close).
// A direction holds a relay buffer only between a read and its write, so an idle tunnel holds
// none, and a busy one at most two.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "server_state.hpp"

namespace bfast::server {

// A place among max_tunnels, held from the upgrade request to the end of its tunnel.
class tunnel_slot {
 public:
  tunnel_slot() = default;
  tunnel_slot(const tunnel_slot&) = delete;
  tunnel_slot& operator=(const tunnel_slot&) = delete;
  ~tunnel_slot();
  // False when max_tunnels are taken already.
  [[nodiscard]] bool take(std::atomic<std::uint32_t>& taken, std::uint32_t max) noexcept;

 private:
  std::atomic<std::uint32_t>* taken_ = nullptr;
};

// How a tunnel ended, for the access log and the metrics.
struct tunnel_result {
  std::uint64_t bytes_to_upstream = 0;
  std::uint64_t bytes_to_client = 0;
  bool idle_closed = false;  // neither side sent for the idle timeout
  bool broken = false;       // a read or write failed (a reset, say): both sides were closed
};

// Relays until the tunnel ends, then leaves both sockets closed. `client_pending` and
// `upstream_pending`: bytes each side sent that were read along with the request or the 101;
// they go first.
[[nodiscard]] task<tunnel_result> run_tunnel(byte_stream& client, byte_stream& upstream,
                                             std::string client_pending,
                                             std::string upstream_pending,
                                             relay_buffers& buffers,
                                             std::chrono::milliseconds idle_timeout,
                                             metrics& stats);

}  // namespace bfast::server
