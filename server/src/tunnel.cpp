#include "tunnel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/this_coro.hpp>

namespace bfast::server {
namespace {

using clock_type = std::chrono::steady_clock;

class tunnel {
 public:
  tunnel(byte_stream& client, byte_stream& upstream, relay_buffers& buffers,
         std::chrono::milliseconds idle_timeout, metrics& stats)
      : client_(client),
        upstream_(upstream),
        buffers_(buffers),
        idle_timeout_(idle_timeout),
        stats_(stats),
        last_activity_(clock_type::now()) {
    stats_.tunnels_total.fetch_add(1, std::memory_order_relaxed);
    stats_.tunnels_open.fetch_add(1, std::memory_order_relaxed);
  }
  tunnel(const tunnel&) = delete;
  tunnel& operator=(const tunnel&) = delete;
  // Also when the worker's io_context is destroyed mid-tunnel, at the shutdown timeout.
  ~tunnel() {
    close_both();
    stats_.tunnels_open.fetch_sub(1, std::memory_order_relaxed);
    if (result_.idle_closed) stats_.tunnels_idle_closed.fetch_add(1, std::memory_order_relaxed);
  }

  // One direction, from `from` to `to`, until `from` sends its FIN or something breaks.
  task<void> relay(bool to_upstream, std::string pending) {
    byte_stream& from = to_upstream ? client_ : upstream_;
    byte_stream& to = to_upstream ? upstream_ : client_;
    if (!pending.empty()) {
      const bool wrote = co_await write_all(to, pending.data(), pending.size(), to_upstream);
      if (!wrote) co_return fail();
      pending = {};
    }
    for (;;) {
      // Wait first and lease after: a direction with nothing to carry holds no buffer.
      auto [wait_ec] = co_await from.async_wait_readable(use_tuple);
      if (wait_ec) co_return fail();
      relay_lease buffer(buffers_);
      auto [ec, n] =
          co_await from.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
      if (ec == asio::error::eof) {
        // Half-close: the other side hears the FIN (after close_notify over TLS), and the
        // other direction carries on.
        to.shutdown_send();
        co_return;
      }
      if (ec) co_return fail();
      touch();
      const bool wrote = co_await write_all(to, buffer.data(), n, to_upstream);
      if (!wrote) co_return fail();
    }
  }

  // Ends the tunnel once neither direction has moved a byte for the idle timeout.
  task<void> watch_idle() {
    steady_timer timer(client_.get_executor());
    for (;;) {
      timer.expires_at(last_activity_ + idle_timeout_);
      auto [ec] = co_await timer.async_wait(use_tuple);
      if (ec) co_return;  // the tunnel ended first
      if (clock_type::now() >= last_activity_ + idle_timeout_) {
        result_.idle_closed = true;
        close_both();
        co_return;
      }
    }
  }

  void close_both() noexcept {
    client_.close();
    upstream_.close();
  }

  [[nodiscard]] const tunnel_result& result() const noexcept { return result_; }

 private:
  // Every partial write counts as activity: a slow reader is not idle.
  task<bool> write_all(byte_stream& to, const char* data, std::size_t n, bool to_upstream) {
    auto& counter =
        to_upstream ? stats_.tunnel_bytes_to_upstream : stats_.tunnel_bytes_to_client;
    std::uint64_t& total = to_upstream ? result_.bytes_to_upstream : result_.bytes_to_client;
    while (n > 0) {
      auto [ec, wrote] = co_await to.async_write_some(asio::buffer(data, n), use_tuple);
      if (ec) co_return false;
      data += wrote;
      n -= wrote;
      total += wrote;
      counter.fetch_add(wrote, std::memory_order_relaxed);
      touch();
    }
    co_return true;
  }

  // A broken side breaks the tunnel: closing both ends the other direction's wait too.
  void fail() noexcept {
    if (!result_.idle_closed) result_.broken = true;
    close_both();
  }

  void touch() noexcept { last_activity_ = clock_type::now(); }

  byte_stream& client_;
  byte_stream& upstream_;
  relay_buffers& buffers_;
  std::chrono::milliseconds idle_timeout_;
  metrics& stats_;
  clock_type::time_point last_activity_;
  tunnel_result result_;
};

}  // namespace

tunnel_slot::~tunnel_slot() {
  if (taken_) taken_->fetch_sub(1, std::memory_order_relaxed);
}

bool tunnel_slot::take(std::atomic<std::uint32_t>& taken, std::uint32_t max) noexcept {
  if (taken.fetch_add(1, std::memory_order_relaxed) >= max) {
    taken.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  taken_ = &taken;
  return true;
}

task<tunnel_result> run_tunnel(byte_stream& client, byte_stream& upstream,
                               std::string client_pending, std::string upstream_pending,
                               relay_buffers& buffers, std::chrono::milliseconds idle_timeout,
                               metrics& stats) {
  using namespace asio::experimental::awaitable_operators;
  tunnel t(client, upstream, buffers, idle_timeout, stats);
  co_await ((t.relay(true, std::move(client_pending)) &&
             t.relay(false, std::move(upstream_pending))) ||
            t.watch_idle());
  co_return t.result();
}

}  // namespace bfast::server
