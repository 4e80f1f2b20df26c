#include "upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace bfast::server {

bool quiet_now(byte_stream& stream) noexcept {
  if (!stream.socket().is_open() || stream.input_buffered()) return false;
  char byte;
  const ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

pooled_connection upstream_pool::take() {
  prune(std::chrono::steady_clock::now());
  while (!idle_.empty()) {
    pooled_connection c = std::move(idle_.back().c);
    idle_.pop_back();
    if (quiet_now(*c.stream)) return c;
    stats_.closed_by_peer.fetch_add(1, std::memory_order_relaxed);
  }
  return {};
}

void upstream_pool::give_back(pooled_connection c) {
  const auto now = std::chrono::steady_clock::now();
  prune(now);
  if (max_idle_ == 0 || !c.stream) return;
  if (!current(c.peer) || c.stream->tls_context() != tls_context_) {
    stats_.retired.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  while (idle_.size() >= max_idle_) {
    stats_.expired.fetch_add(1, std::memory_order_relaxed);
    idle_.erase(idle_.begin());
  }
  const auto ex = c.stream->get_executor();
  idle_.push_back({std::move(c), now});
  arm_sweep(ex);
}

bool upstream_pool::current(const tcp::endpoint& peer) const noexcept {
  return addresses_.empty() || std::binary_search(addresses_.begin(), addresses_.end(), peer);
}

void upstream_pool::retain_only(const std::vector<tcp::endpoint>& addresses) {
  addresses_ = addresses;
  std::sort(addresses_.begin(), addresses_.end());
  const auto gone = std::remove_if(idle_.begin(), idle_.end(),
                                   [this](const entry& e) { return !current(e.c.peer); });
  stats_.retired.fetch_add(static_cast<std::uint64_t>(idle_.end() - gone),
                           std::memory_order_relaxed);
  idle_.erase(gone, idle_.end());
}

void upstream_pool::use_tls_context(const SSL_CTX* ctx) {
  if (ctx == tls_context_) return;
  tls_context_ = ctx;
  stats_.retired.fetch_add(idle_.size(), std::memory_order_relaxed);
  idle_.clear();
}

void upstream_pool::arm_sweep(const executor& ex) {
  if (sweep_armed_) return;
  if (!sweeper_) sweeper_.emplace(ex);
  sweep_armed_ = true;
  sweeper_->expires_after(sweep_interval);
  sweeper_->async_wait([this](const beast::error_code& ec) {
    sweep_armed_ = false;
    if (ec) return;
    sweep();
  });
}

void upstream_pool::sweep() {
  prune(std::chrono::steady_clock::now());
  const auto dirty = std::remove_if(idle_.begin(), idle_.end(),
                                    [](entry& e) { return !quiet_now(*e.c.stream); });
  stats_.closed_by_peer.fetch_add(static_cast<std::uint64_t>(idle_.end() - dirty),
                                  std::memory_order_relaxed);
  idle_.erase(dirty, idle_.end());
  if (!idle_.empty()) arm_sweep(sweeper_->get_executor());
}

void upstream_pool::prune(std::chrono::steady_clock::time_point now) {
  const auto fresh = std::find_if(idle_.begin(), idle_.end(),
                                  [&](const entry& e) { return now - e.since <= idle_timeout_; });
  stats_.expired.fetch_add(static_cast<std::uint64_t>(fresh - idle_.begin()),
                           std::memory_order_relaxed);
  idle_.erase(idle_.begin(), fresh);
}

void upstream_pool::close_all() noexcept {
  idle_.clear();
  sweeper_.reset();
  sweep_armed_ = false;
}

}  // namespace bfast::server
