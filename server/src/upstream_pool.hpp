// Idle upstream connections of one I/O thread, kept the way nginx's upstream keepalive keeps
// them: a connection comes back only after a response that ended exactly at its framing, and
// one that has a byte or an EOF to read is closed instead of reused: checked when it is taken,
// and swept while it idles. A pooled connection is never trusted just because it is open. Only
// its thread touches it: no locks.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "byte_stream.hpp"
#include "io_types.hpp"
#include "metrics.hpp"

namespace bfast::server {

// Whether the connection has nothing to read right now: no byte waiting, no TLS record held,
// and no EOF or error.
[[nodiscard]] bool quiet_now(byte_stream& stream) noexcept;

// An upstream connection and the address it is connected to.
struct pooled_connection {
  std::unique_ptr<byte_stream> stream;
  tcp::endpoint peer;
};

class upstream_pool {
 public:
  // How often idle connections are checked for a byte or an EOF. Between sweeps a connection
  // closed by the upstream costs only a descriptor: take() checks it before use.
  static constexpr std::chrono::milliseconds sweep_interval{1000};

  upstream_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout,
                pool_counters& counters)
      : max_idle_(max_idle), idle_timeout_(idle_timeout), stats_(counters) {}
  upstream_pool(const upstream_pool&) = delete;
  upstream_pool& operator=(const upstream_pool&) = delete;
  ~upstream_pool() { close_all(); }

  // The most recently used connection that is quiet and has not idled too long. Held by
  // pointer: moving a stream allocates a new state block.
  pooled_connection take();
  // Keeps `c`, which the caller has checked ended its last response at its framing, unless its
  // address is no longer the upstream's.
  void give_back(pooled_connection c);
  // A reload's new limits; idle connections past them close at the next take or give_back.
  void set_limits(std::size_t max_idle, std::chrono::milliseconds idle_timeout) noexcept {
    max_idle_ = max_idle;
    idle_timeout_ = idle_timeout;
  }
  // The upstream's addresses now: idle connections to any other close at once, and connections
  // to them in use are not kept after their response.
  void retain_only(const std::vector<tcp::endpoint>& addresses);
  // The upstream's TLS context now (null: cleartext): connections made from another close.
  void use_tls_context(const SSL_CTX* ctx);
  // Closes every idle connection and stops the sweep (shutdown: before the io_context goes).
  void close_all() noexcept;

 private:
  struct entry {
    pooled_connection c;
    std::chrono::steady_clock::time_point since;
  };
  [[nodiscard]] bool current(const tcp::endpoint& peer) const noexcept;
  void sweep();
  void arm_sweep(const executor& ex);
  void prune(std::chrono::steady_clock::time_point now);

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::vector<entry> idle_;  // oldest first
  std::vector<tcp::endpoint> addresses_;  // sorted; empty: any address is the upstream's
  const SSL_CTX* tls_context_ = nullptr;
  std::optional<steady_timer> sweeper_;
  bool sweep_armed_ = false;
  pool_counters& stats_;
};

}  // namespace bfast::server
