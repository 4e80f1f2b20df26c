// What every session shares (metrics, the transform service, the drain flag), and what each I/O
// thread owns alone (its io_context, its upstream connection pool, and its view of the
// configuration and of the upstream's addresses).
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
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
#include "tls_context.hpp"
#include "transform.hpp"
#include "upstream_pool.hpp"

namespace bfast::server {

// One generation of the configuration, never changed once built: a reload makes a new one, and
// an exchange keeps the one it started with until it ends.
using config_snapshot = std::shared_ptr<const config::proxy_config>;
// The upstream's addresses from one resolution, sorted; replaced whole when they change.
using upstream_addresses = std::shared_ptr<const std::vector<tcp::endpoint>>;

struct shared_state {
  metrics& stats;
  transform_service& transforms;
  access_log& log;
  std::atomic<bool> draining{false};
  memory_trimmer trim;
  std::atomic<std::uint32_t> tunnel_slots{0};  // taken of max_tunnels (see tunnel_slot)
  // Upstream connects that failed in a row, back to 0 when one succeeds: /readyz follows it
  // when readyz_upstream_failures is set.
  std::atomic<std::uint32_t> upstream_connect_failures{0};
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

// A relay buffer lent by the worker for one exchange, or for one read and write of a tunnel.
class relay_lease {
 public:
  explicit relay_lease(relay_buffers& from) : from_(from) {}
  relay_lease(const relay_lease&) = delete;
  relay_lease& operator=(const relay_lease&) = delete;
  ~relay_lease() { from_.give_back(std::move(buffer_)); }
  char* data() {
    if (!buffer_) buffer_ = from_.take();
    return buffer_.get();
  }
  static constexpr std::size_t size() { return relay_buffers::buffer_bytes; }

 private:
  relay_buffers& from_;
  std::unique_ptr<char[]> buffer_;
};

// One I/O thread's world. Destroyed in a fixed order: the pool's idle connections close first,
// then the io_context (its destructor ends the session coroutines, whose sessions leave
// `sessions`), and only then the set and the pool themselves.
struct worker {
  worker(config_snapshot c, upstream_addresses addresses, pool_counters& counters)
      : pool(c->upstream_pool_max_idle,
             std::chrono::milliseconds(c->upstream_pool_idle_timeout_ms), counters),
        relay(relay_buffers_cached),
        cfg(std::move(c)),
        ioc(1) {
    use(std::move(addresses));
  }
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;
  ~worker() { pool.close_all(); }

  // On this thread only (a reload posts here): the next exchanges take `c`.
  void use(config_snapshot c) {
    pool.set_limits(c->upstream_pool_max_idle,
                    std::chrono::milliseconds(c->upstream_pool_idle_timeout_ms));
    cfg = std::move(c);
  }
  // On this thread only: new handshakes take `t`; connections made before keep theirs, and
  // pooled upstream connections of another TLS setting close.
  void use(tls_snapshot t) {
    pool.use_tls_context(t->upstream.get());
    tls = std::move(t);
  }
  // On this thread only (a resolution posts here): new connections go to `addresses`, and idle
  // ones to an address no longer among them close.
  void use(upstream_addresses addresses) {
    pool.retain_only(*addresses);
    upstream = std::move(addresses);
  }
  // The addresses for a new connection, starting at the next one in turn: round robin, and the
  // others behind it if it refuses.
  [[nodiscard]] std::vector<tcp::endpoint> next_upstream() {
    std::vector<tcp::endpoint> order(upstream->begin(), upstream->end());
    if (!order.empty())
      std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(next_address++ % order.size()), order.end());
    return order;
  }

  static constexpr std::size_t relay_buffers_cached = 16;
  upstream_pool pool;
  relay_buffers relay;
  // Sessions of this thread, so a drain can close the ones waiting idle between requests.
  std::unordered_set<proxy_session*> sessions;
  config_snapshot cfg;
  tls_snapshot tls = std::make_shared<const tls_contexts>();
  upstream_addresses upstream;
  std::size_t next_address = 0;
  asio::io_context ioc;  // last: destroyed first, while the members above still exist
};

// Starts a session for an accepted client connection on `w`'s thread.
void start_proxy_session(shared_state& state, worker& w, tcp_socket socket);

// On `w`'s thread: closes the connections that are idle between requests.
void close_idle_sessions(worker& w);

}  // namespace bfast::server
