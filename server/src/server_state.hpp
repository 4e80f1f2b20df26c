// What every session shares (configuration, metrics, the transform service, the drain flag),
// and what each I/O thread owns alone (its io_context and its upstream connection pool).
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "access_log.hpp"
#include "bfast/config/config.hpp"
#include "metrics.hpp"
#include "transform.hpp"

namespace bfast::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct shared_state {
  const config::proxy_config& cfg;
  metrics& stats;
  transform_service& transforms;
  access_log& log;
  std::vector<tcp::endpoint> upstream;  // resolved at start-up
  std::atomic<bool> draining{false};
};

// Idle upstream connections of one I/O thread. Only that thread touches it, so no locks, and a
// connection never changes executor.
class upstream_pool {
 public:
  upstream_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

  // The most recently used connection that has not been idle too long. Held by pointer: moving
  // a beast::tcp_stream allocates a new state block, and this runs once per request.
  std::unique_ptr<beast::tcp_stream> take();
  void give_back(std::unique_ptr<beast::tcp_stream> stream);
  void clear() { idle_.clear(); }
  [[nodiscard]] std::size_t idle_count() const noexcept { return idle_.size(); }

 private:
  struct idle_connection {
    std::unique_ptr<beast::tcp_stream> stream;
    std::chrono::steady_clock::time_point since;
  };
  void prune(std::chrono::steady_clock::time_point now);

  std::size_t max_idle_;
  std::chrono::milliseconds idle_timeout_;
  std::deque<idle_connection> idle_;
};

class proxy_session;

struct worker {
  worker(std::size_t max_idle, std::chrono::milliseconds idle_timeout)
      : ioc(1), pool(max_idle, idle_timeout) {}
  asio::io_context ioc;
  upstream_pool pool;
  // Sessions of this thread, so a drain can close the ones waiting idle between requests.
  std::unordered_set<proxy_session*> sessions;
};

// Starts a session for an accepted client connection on `w`'s thread.
void start_proxy_session(shared_state& state, worker& w, tcp::socket socket);

// On `w`'s thread: closes the connections that are idle between requests.
void close_idle_sessions(worker& w);

}  // namespace bfast::server
