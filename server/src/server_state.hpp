// What every session shares (configuration, metrics, the transform service, the drain flag),
// and what each I/O thread owns alone (its io_context and its upstream connection pool).
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "access_log.hpp"
#include "bfast/config/config.hpp"
#include "io_types.hpp"
#include "memory_trim.hpp"
#include "metrics.hpp"
#include "transform.hpp"
#include "upstream_pool.hpp"

namespace bfast::server {

struct shared_state {
  const config::proxy_config& cfg;
  metrics& stats;
  transform_service& transforms;
  access_log& log;
  std::vector<tcp::endpoint> upstream;  // resolved at start-up
  std::atomic<bool> draining{false};
  memory_trimmer trim;
};

class proxy_session;

// Buffers for relaying bodies, lent to a connection for one exchange: an idle connection holds
// none, and a busy thread reuses them instead of allocating 64 KiB per request.
class relay_buffers {
 public:
  static constexpr std::size_t buffer_bytes = 64 * 1024;
  explicit relay_buffers(std::size_t max_cached) : max_cached_(max_cached) {}

  [[nodiscard]] std::unique_ptr<char[]> take() {
    if (free_.empty()) return std::make_unique_for_overwrite<char[]>(buffer_bytes);
    std::unique_ptr<char[]> b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give_back(std::unique_ptr<char[]> b) {
    if (b && free_.size() < max_cached_) free_.push_back(std::move(b));
  }

 private:
  std::size_t max_cached_;
  std::vector<std::unique_ptr<char[]>> free_;
};

// One I/O thread's world. Destroyed in a fixed order: the pool's idle connections close first,
// then the io_context (its destructor ends the session coroutines, whose sessions leave
// `sessions`), and only then the set and the pool themselves.
struct worker {
  worker(std::size_t max_idle, std::chrono::milliseconds idle_timeout, pool_counters& counters)
      : pool(max_idle, idle_timeout, counters), relay(relay_buffers_cached), ioc(1) {}
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker() { pool.close_all(); }

  static constexpr std::size_t relay_buffers_cached = 16;
  upstream_pool pool;
  relay_buffers relay;
  // Sessions of this thread, so a drain can close the ones waiting idle between requests.
  std::unordered_set<proxy_session*> sessions;
  asio::io_context ioc;  // last: destroyed first, while the members above still exist
};

// Starts a session for an accepted client connection on `w`'s thread.
void start_proxy_session(shared_state& state, worker& w, tcp_socket socket);

// On `w`'s thread: closes the connections that are idle between requests.
void close_idle_sessions(worker& w);

}  // namespace bfast::server
