// The upstream's addresses: its name resolved at start, then again at an interval on the control
// thread. Asio's resolver runs getaddrinfo on a thread of its own, so no I/O thread ever waits on
// DNS. A failed resolution keeps the last good addresses.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bfast/config/config.hpp"
#include "metrics.hpp"
#include "server_state.hpp"

namespace bfast::server {

// Blocking: for the start and --check-config only. Sorted and without duplicates.
[[nodiscard]] std::vector<tcp::endpoint> resolve_now(const config::endpoint& upstream,
                                                     boost::system::error_code& ec);

// The error as --check-config and a reload report it, naming the field.
[[nodiscard]] std::string resolve_error(const config::endpoint& upstream,
                                        const boost::system::error_code& ec);

[[nodiscard]] std::string addresses_text(const std::vector<tcp::endpoint>& addresses);

class upstream_resolver {
 public:
  using resolved_fn =
      std::function<void(const boost::system::error_code&, std::vector<tcp::endpoint>)>;
  using changed_fn = std::function<void(upstream_addresses)>;

  // `changed` runs on `ioc`'s thread whenever a resolution gives another set of addresses.
  upstream_resolver(asio::io_context& ioc, metrics& stats, changed_fn changed);
  upstream_resolver(const upstream_resolver&) = delete;
  upstream_resolver& operator=(const upstream_resolver&) = delete;

  // From now on resolves `upstream` every `interval` (0: never again), starting from `current`.
  // A resolution started before this call is dropped when it completes.
  void watch(const config::endpoint& upstream, std::chrono::milliseconds interval,
             upstream_addresses current);
  // One resolution now, apart from the interval (a reload's new upstream).
  void resolve_once(const config::endpoint& upstream, resolved_fn done);
  void stop();
  [[nodiscard]] const upstream_addresses& current() const noexcept { return current_; }

 private:
  void arm();
  void on_resolved(std::uint64_t round, const boost::system::error_code& ec,
                   std::vector<tcp::endpoint> found);

  metrics& stats_;
  changed_fn changed_;
  tcp::resolver interval_resolver_;
  tcp::resolver once_resolver_;
  asio::steady_timer timer_;
  config::endpoint upstream_;
  std::chrono::milliseconds interval_{0};
  upstream_addresses current_;
  std::uint64_t round_ = 0;
  bool failing_ = false;  // logs a failure once, and the recovery
};

}  // namespace bfast::server
