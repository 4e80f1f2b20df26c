// A worker destroyed while sessions are still suspended in its io_context, as when the shutdown
// timeout cuts connections: the sessions' destructors run inside the io_context's destructor and
// must find the session set and the pool alive. ASan catches the other order as a
// heap-use-after-free.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "server_state.hpp"

namespace bfast::server {
namespace {

TEST(worker, outlives_the_sessions_it_destroys) {
  const auto cfg = std::make_shared<const config::proxy_config>();
  metrics stats;
  transform_service transforms(1, 16ull << 20, 0, stats);
  access_log log(false, 4096, stats.access_log_dropped);
  shared_state state{stats, transforms, log, {}, {}};
  // The client's side lives in an io_context of its own, which outlives the worker's.
  asio::io_context side(1);
  tcp::acceptor acceptor(side, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(side);
  client.connect(acceptor.local_endpoint());

  auto w = std::make_unique<worker>(cfg, std::make_shared<const std::vector<tcp::endpoint>>(),
                                    stats.upstream_pool);
  tcp_socket accepted = acceptor.accept(w->ioc);
  stats.open_connections.store(1);
  start_proxy_session(state, *w, std::move(accepted));
  // Until the session waits for its first request, registered with the worker.
  while (w->sessions.empty())
    ASSERT_NE(w->ioc.run_one_for(std::chrono::seconds(10)), 0u) << "the session never started";
  w->ioc.poll();
  ASSERT_EQ(w->sessions.size(), 1u);

  w.reset();
  EXPECT_EQ(stats.open_connections.load(), 0);
}

}  // namespace
}  // namespace bfast::server
