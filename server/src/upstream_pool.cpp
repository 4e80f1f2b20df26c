#include "upstream_pool.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace bfast::server {

bool quiet_now(beast::tcp_stream& stream) noexcept {
  if (!stream.socket().is_open()) return false;
  char byte;
  const ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::unique_ptr<beast::tcp_stream> upstream_pool::take() {
  prune(std::chrono::steady_clock::now());
  while (!idle_.empty()) {
    std::shared_ptr<entry> e = std::move(idle_.back());
    idle_.pop_back();
    std::unique_ptr<beast::tcp_stream> s = std::move(e->stream);
    // The watch's completion may already be queued: with the stream gone it only drops `e`.
    beast::error_code ig;
    s->socket().cancel(ig);
    if (quiet_now(*s)) return s;
    stats_.closed_by_peer.fetch_add(1, std::memory_order_relaxed);
  }
  return nullptr;
}

void upstream_pool::give_back(std::unique_ptr<beast::tcp_stream> stream) {
  const auto now = std::chrono::steady_clock::now();
  prune(now);
  if (max_idle_ == 0 || !stream) return;
  if (idle_.size() >= max_idle_) {
    stats_.expired.fetch_add(1, std::memory_order_relaxed);
    forget(idle_.front().get());
  }
  auto e = std::make_shared<entry>(entry{std::move(stream), now});
  idle_.push_back(e);
  watch(e);
}

void upstream_pool::watch(const std::shared_ptr<entry>& e) {
  // Waiting for readability consumes nothing: a byte or an EOF wakes it, and either one means
  // the connection can never carry another exchange.
  e->stream->socket().async_wait(
      boost::asio::ip::tcp::socket::wait_read,
      [this, e](const beast::error_code& ec) {
        if (!e->stream) return;  // taken, or closed by the pool
        if (ec == boost::asio::error::operation_aborted) return;
        stats_.closed_by_peer.fetch_add(1, std::memory_order_relaxed);
        forget(e.get());
      });
}

void upstream_pool::forget(const entry* e) noexcept {
  const auto it = std::find_if(idle_.begin(), idle_.end(),
                               [e](const std::shared_ptr<entry>& p) { return p.get() == e; });
  if (it == idle_.end()) return;
  std::shared_ptr<entry> victim = std::move(*it);
  idle_.erase(it);
  beast::error_code ig;
  victim->stream->socket().close(ig);
  victim->stream.reset();
}

void upstream_pool::prune(std::chrono::steady_clock::time_point now) {
  while (!idle_.empty() && now - idle_.front()->since > idle_timeout_) {
    stats_.expired.fetch_add(1, std::memory_order_relaxed);
    forget(idle_.front().get());
  }
}

void upstream_pool::close_all() noexcept {
  while (!idle_.empty()) forget(idle_.front().get());
}

}  // namespace bfast::server
