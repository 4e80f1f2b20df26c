// A worker destroyed while sessions are still suspended in its io_context, as when the shutdown
// timeout cuts connections: the sessions' destructors run inside the io_context's destructor and
// must find the session set and the pool alive. ASan catches the other order as a
// heap-use-after-free.
#include <gtest/gtest.h>

#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "server_state.hpp"

namespace bfast::server {
namespace {

// What a worker's sessions share, with the defaults.
struct server_parts {
  std::shared_ptr<const config::proxy_config> cfg = std::make_shared<const config::proxy_config>();
  metrics stats;
  transform_service transforms{1, 16ull << 20, 0, stats};
  access_log log{false, 4096, stats.access_log_dropped};
  shared_state state{stats, transforms, log, {}, {}};
};

TEST(worker, outlives_the_sessions_it_destroys) {
  server_parts p;
  auto& stats = p.stats;
  // The client's side lives in an io_context of its own, which outlives the worker's.
  asio::io_context side(1);
  tcp::acceptor acceptor(side, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(side);
  client.connect(acceptor.local_endpoint());

  auto w = std::make_unique<worker>(p.cfg, std::make_shared<const std::vector<tcp::endpoint>>(),
                                    stats.upstream_pool);
  tcp_socket accepted = acceptor.accept(w->ioc);
  stats.open_connections.store(1);
  start_proxy_session(p.state, *w, std::move(accepted));
  // Until the session waits for its first request, registered with the worker.
  while (w->sessions.empty())
    ASSERT_NE(w->ioc.run_one_for(std::chrono::seconds(10)), 0u) << "the session never started";
  w->ioc.poll();
  ASSERT_EQ(w->sessions.size(), 1u);

  w.reset();
  EXPECT_EQ(stats.open_connections.load(), 0);
}

// The same with an HTTP/2 connection whose stream is in flight: the stream's session, its
// responder and its pipe may be destroyed after the connection's session, or before it.
TEST(worker, outlives_an_http2_connection_with_a_stream_in_flight) {
  server_parts p;
  auto& stats = p.stats;
  asio::io_context side(1);
  tcp::acceptor acceptor(side, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  // An upstream that takes connections (the kernel's backlog) and never answers.
  tcp::acceptor upstream(side, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket client(side);
  client.connect(acceptor.local_endpoint());

  auto w = std::make_unique<worker>(
      p.cfg, std::make_shared<const std::vector<tcp::endpoint>>(1, upstream.local_endpoint()),
      stats.upstream_pool);
  tcp_socket accepted = acceptor.accept(w->ioc);
  stats.open_connections.store(1);
  start_proxy_session(p.state, *w, std::move(accepted));
  // The preface, an empty SETTINGS, and HEADERS for stream 1 without END_STREAM (a body would
  // follow): GET, http, /, :authority a.test, in HPACK's static table and one literal.
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes += std::string("\0\0\0\4\0\0\0\0\0", 9);
  const std::string block = std::string("\x82\x86\x84\x41\x06", 5) + "a.test";
  bytes += std::string("\0\0", 2) + static_cast<char>(block.size()) + "\x01\x04" +
           std::string("\0\0\0\x01", 4) + block;
  asio::write(client, asio::buffer(bytes));
  // Until the stream's session has sent its request upstream and waits for the body.
  while (stats.http2_streams_open.load() == 0 || stats.requests.load() == 0)
    ASSERT_NE(w->ioc.run_one_for(std::chrono::seconds(10)), 0u) << "the stream never started";
  for (int i = 0; i < 100 && w->ioc.poll() > 0; ++i) {
  }
  ASSERT_EQ(stats.http2_streams_open.load(), 1);

  w.reset();
  EXPECT_EQ(stats.open_connections.load(), 0);
}

}  // namespace
}  // namespace bfast::server
