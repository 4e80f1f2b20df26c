// Idle upstream connections of one I/O thread, kept the way nginx's upstream keepalive keeps
// them: a connection comes back only after a response that ended exactly at its framing, and
// while it idles here any readable byte or EOF closes it, so a pooled connection is never
// trusted just because it is open. Only its thread touches it: no locks.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/beast/core/tcp_stream.hpp>

#include "metrics.hpp"

namespace bfast::server {

namespace beast = boost::beast;

// Whether the socket has nothing to read right now: no byte waiting and no EOF or error.
[[nodiscard]] bool quiet_now(beast::tcp_stream& stream) noexcept;

class upstream_pool {
 public:
  upstream_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout, pool_counters& counters)
      : max_idle_(max_idle), idle_timeout_(idle_timeout), stats_(counters) {}
  upstream_pool(const upstream_pool&) = delete;
  upstream_pool& operator=(const upstream_pool&) = delete;
  ~upstream_pool() { close_all(); }

  // The most recently used connection that is quiet and has not idled too long. Held by
  // pointer: moving a beast::tcp_stream allocates a new state block.
  std::unique_ptr<beast::tcp_stream> take();
  // Keeps `stream`, which the caller has checked ended its last response cleanly.
  void give_back(std::unique_ptr<beast::tcp_stream> stream);
  // Closes every idle connection (shutdown: before the io_context goes away).
  void close_all() noexcept;

 private:
  struct entry {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  void watch(const std::shared_ptr<entry>& e);
  void forget(const entry* e) noexcept;
  void prune(std::chrono::steady_clock::time_point now);

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::vector<std::shared_ptr<entry>> idle_;  // oldest first
  pool_counters& stats_;
};

}  // namespace bfast::server
