#include "upstream_resolver.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

namespace bfast::server {
namespace {

std::vector<tcp::endpoint> endpoints_of(const tcp::resolver::results_type& results) {
  std::vector<tcp::endpoint> out;
  for (const auto& r : results) out.push_back(r.endpoint());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<tcp::endpoint> resolve_now(const config::endpoint& upstream,
                                       boost::system::error_code& ec) {
  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(upstream.host, std::to_string(upstream.port), ec);
  if (ec) return {};
  auto found = endpoints_of(results);
  if (found.empty()) ec = asio::error::host_not_found;
  return found;
}

std::string resolve_error(const config::endpoint& upstream, const boost::system::error_code& ec) {
  return "upstream: cannot resolve \"" + upstream.host + "\": " + ec.message();
}

std::string addresses_text(const std::vector<tcp::endpoint>& addresses) {
  std::string s;
  for (const auto& a : addresses) {
    if (!s.empty()) s += ", ";
    s += (a.address().is_v6() ? "[" + a.address().to_string() + "]" : a.address().to_string()) +
         ":" + std::to_string(a.port());
  }
  return s;
}

upstream_resolver::upstream_resolver(asio::io_context& ioc, metrics& stats, changed_fn changed)
    : stats_(stats),
      changed_(std::move(changed)),
      interval_resolver_(ioc),
      once_resolver_(ioc),
      timer_(ioc) {}

void upstream_resolver::watch(const config::endpoint& upstream,
                              std::chrono::milliseconds interval, upstream_addresses current) {
  ++round_;
  timer_.cancel();
  interval_resolver_.cancel();
  upstream_ = upstream;
  interval_ = interval;
  current_ = std::move(current);
  failing_ = false;
  stats_.upstream_addresses.store(static_cast<std::int64_t>(current_->size()));
  if (interval_.count() > 0) arm();
}

void upstream_resolver::arm() {
  timer_.expires_after(interval_);
  timer_.async_wait([this, round = round_](const boost::system::error_code& ec) {
    if (ec || round != round_) return;
    interval_resolver_.async_resolve(
        upstream_.host, std::to_string(upstream_.port),
        [this, round](const boost::system::error_code& e, tcp::resolver::results_type results) {
          on_resolved(round, e, e ? std::vector<tcp::endpoint>{} : endpoints_of(results));
        });
  });
}

void upstream_resolver::on_resolved(std::uint64_t round, const boost::system::error_code& ec_in,
                                    std::vector<tcp::endpoint> found) {
  if (round != round_) return;  // a reload changed the upstream meanwhile
  boost::system::error_code ec = ec_in;
  if (ec == asio::error::operation_aborted) return;
  if (!ec && found.empty()) ec = asio::error::host_not_found;
  if (ec) {
    stats_.upstream_resolve_failures.fetch_add(1, std::memory_order_relaxed);
    if (!failing_)
      std::fprintf(stderr, "bfast-proxy: %s; keeping %s\n", resolve_error(upstream_, ec).c_str(),
                   addresses_text(*current_).c_str());
    failing_ = true;
    arm();
    return;
  }
  if (failing_) std::fprintf(stderr, "bfast-proxy: upstream \"%s\" resolves again\n",
                             upstream_.host.c_str());
  failing_ = false;
  if (found != *current_) {
    std::fprintf(stderr, "bfast-proxy: upstream \"%s\" now resolves to %s (was %s)\n",
                 upstream_.host.c_str(), addresses_text(found).c_str(),
                 addresses_text(*current_).c_str());
    current_ = std::make_shared<const std::vector<tcp::endpoint>>(std::move(found));
    stats_.upstream_addresses.store(static_cast<std::int64_t>(current_->size()));
    changed_(current_);
  }
  arm();
}

void upstream_resolver::resolve_once(const config::endpoint& upstream, resolved_fn done) {
  once_resolver_.async_resolve(
      upstream.host, std::to_string(upstream.port),
      [done = std::move(done)](boost::system::error_code ec,
                               tcp::resolver::results_type results) {
        std::vector<tcp::endpoint> found;
        if (!ec) found = endpoints_of(results);
        if (!ec && found.empty()) ec = asio::error::host_not_found;
        done(ec, std::move(found));
      });
}

void upstream_resolver::stop() {
  ++round_;
  timer_.cancel();
  interval_resolver_.cancel();
  once_resolver_.cancel();
}

}  // namespace bfast::server
