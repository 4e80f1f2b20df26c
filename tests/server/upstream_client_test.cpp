// upstream_client and upstream_pool over real loopback sockets, against a scripted upstream in
// the same io_context: which responses are accepted, and when a connection is pooled and reused.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>

#include "server_state.hpp"
#include "upstream_client.hpp"

namespace bfast::server {
namespace {

void rethrow(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

// Answers each request head with the next scripted response, on whatever connection it came.
class scripted_upstream {
 public:
  scripted_upstream(asio::io_context& ioc, std::vector<std::string> responses)
      : acceptor_(ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        signal_(ioc, steady_timer::time_point::max()),
        responses_(responses.begin(), responses.end()) {
    asio::co_spawn(ioc, accept_loop(), rethrow);
  }

  [[nodiscard]] tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  [[nodiscard]] int accepted() const noexcept { return accepted_; }
  [[nodiscard]] int written() const noexcept { return written_; }
  // Wakes when the upstream has written its n-th response.
  task<void> wait_written(int n) {
    while (written_ < n) co_await signal_.async_wait(use_tuple);
  }
  // The upstream ends its idle connections, as a server's keep-alive timeout does.
  void close_connections() {
    for (auto& s : sockets_) {
      beast::error_code ig;
      s->close(ig);
    }
  }
  void stop() {
    beast::error_code ig;
    acceptor_.close(ig);
    close_connections();
  }

 private:
  task<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(use_tuple);
      if (ec) co_return;
      ++accepted_;
      sockets_.push_back(std::make_shared<tcp::socket>(std::move(sock)));
      asio::co_spawn(co_await asio::this_coro::executor, serve(sockets_.back()), rethrow);
    }
  }

  task<void> serve(std::shared_ptr<tcp::socket> sock) {
    std::string in;
    for (;;) {
      auto [ec, n] = co_await asio::async_read_until(*sock, asio::dynamic_buffer(in), "\r\n\r\n",
                                                     use_tuple);
      if (ec || responses_.empty()) co_return;
      in.erase(0, n);
      const std::string response = std::move(responses_.front());
      responses_.pop_front();
      auto [wec, w] = co_await asio::async_write(*sock, asio::buffer(response), use_tuple);
      ++written_;
      signal_.cancel();
      if (wec) co_return;
    }
  }

  tcp::acceptor acceptor_;
  steady_timer signal_;
  std::deque<std::string> responses_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
  int accepted_ = 0;
  int written_ = 0;
};

struct exchange_result {
  bool done = false;
  bool header_ok = false;
  upstream_error_kind failure = upstream_error_kind::bad_response;
  unsigned status = 0;
  std::string body;
  bool body_error = false;
};

class upstream_client_test : public ::testing::Test {
 protected:
  upstream_client_test()
      : cfg_(std::make_shared<const config::proxy_config>(make_config())),
        transforms_(1, 16ull << 20, 0, stats_),
        log_(false, 4096, stats_.access_log_dropped),
        w_(cfg_, std::make_shared<const std::vector<tcp::endpoint>>(), stats_.upstream_pool) {}

  static config::proxy_config make_config() {
    config::proxy_config c;
    // Generous: a test that passes never waits for them.
    c.upstream_connect_timeout_ms = 5'000;
    c.upstream_header_timeout_ms = 5'000;
    c.upstream_body_idle_timeout_ms = 5'000;
    c.upstream_pool_max_idle = 4;
    c.upstream_pool_idle_timeout_ms = 60'000;
    return c;
  }

  void start_upstream(std::vector<std::string> responses) {
    upstream_ = std::make_unique<scripted_upstream>(w_.ioc, std::move(responses));
    state_.reset(new shared_state{stats_, transforms_, log_, {}, {}});
    use_addresses({upstream_->endpoint()});
  }

  void use_addresses(std::vector<tcp::endpoint> addresses) {
    w_.use(std::make_shared<const std::vector<tcp::endpoint>>(std::move(addresses)));
  }

  // Runs the io_context until `cond` holds; false if nothing more happens for a long while.
  bool run_until(const std::function<bool()>& cond) {
    while (!cond())
      if (w_.ioc.run_one_for(std::chrono::seconds(10)) == 0) return false;
    return true;
  }

  // One GET through a fresh upstream_client; the client reads only once the upstream has
  // written its `nth` response, so whatever follows a response is already in the socket.
  exchange_result exchange(int nth) {
    exchange_result r;
    asio::co_spawn(w_.ioc, run_exchange(nth, r), rethrow);
    EXPECT_TRUE(run_until([&] { return r.done; }));
    return r;
  }

  task<void> run_exchange(int nth, exchange_result& r) {
    upstream_client up(*state_, w_, cfg_);
    http::request<http::empty_body> req(http::verb::get, "/", 11);
    req.set(http::field::host, "upstream.test");
    if (co_await up.send_head(req.base(), true)) {
      co_await upstream_->wait_written(nth);
      r.header_ok = co_await up.read_header(false);
    }
    if (!r.header_ok) {
      r.failure = up.failure().kind;
      r.done = true;
      co_return;
    }
    r.status = up.parser().get().result_int();
    char piece[7];
    while (!up.body_done()) {
      auto [ec, n] = co_await up.read_body(piece, sizeof piece);
      r.body.append(piece, n);
      if (ec) {
        r.body_error = true;
        break;
      }
    }
    up.release();
    r.done = true;
  }

  // Whether the pool holds a connection; it is closed, so the pool is empty afterwards.
  bool pool_had_one() {
    auto s = w_.pool.take();
    if (!s.stream) return false;
    beast::error_code ig;
    s.stream->socket().close(ig);
    return true;
  }

  void TearDown() override {
    w_.pool.close_all();
    if (upstream_) upstream_->stop();
    w_.ioc.poll();
  }

  config_snapshot cfg_;
  metrics stats_;
  transform_service transforms_;
  access_log log_;
  worker w_;
  std::unique_ptr<scripted_upstream> upstream_;
  std::unique_ptr<shared_state> state_;
};

TEST_F(upstream_client_test, response_followed_by_another_is_not_pooled) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
  const exchange_result r = exchange(1);
  ASSERT_TRUE(r.header_ok);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok");
  EXPECT_FALSE(r.body_error);
  EXPECT_FALSE(pool_had_one());
  EXPECT_EQ(stats_.upstream_not_reused.load(), 1u);
}

TEST_F(upstream_client_test, clean_content_length_response_is_pooled_and_reused) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
                  "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"});
  const exchange_result first = exchange(1);
  ASSERT_TRUE(first.header_ok);
  EXPECT_EQ(first.body, "hello world");
  const exchange_result second = exchange(2);
  ASSERT_TRUE(second.header_ok);
  EXPECT_EQ(second.body, "abc");
  EXPECT_EQ(upstream_->accepted(), 1);
  EXPECT_EQ(stats_.upstream_reused.load(), 1u);
  EXPECT_EQ(stats_.upstream_retries.load(), 0u);
  EXPECT_TRUE(pool_had_one());
}

TEST_F(upstream_client_test, idle_connection_to_an_address_gone_from_dns_is_closed) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"});
  ASSERT_TRUE(exchange(1).header_ok);
  // The name now resolves to another address only (nothing listens there; no request goes).
  use_addresses({tcp::endpoint(asio::ip::make_address("127.0.0.2"), upstream_->endpoint().port())});
  EXPECT_EQ(stats_.upstream_pool.retired.load(), 1u);
  EXPECT_FALSE(pool_had_one());
}

TEST_F(upstream_client_test, connection_in_use_when_its_address_goes_is_not_pooled) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"});
  upstream_client up(*state_, w_, cfg_);
  http::request<http::empty_body> req{http::verb::get, "/", 11};
  req.set(http::field::host, "upstream.test");
  bool done = false;
  bool complete = false;
  asio::co_spawn(
      w_.ioc,
      [&]() -> task<void> {
        if (co_await up.send_head(req.base(), true)) {
          co_await upstream_->wait_written(1);
          if (co_await up.read_header(false)) {
            up.drop_buffered_body(up.take_buffered_body().size());
            complete = up.body_done();
            // Resolved again while the response was in flight: the address left.
            use_addresses({tcp::endpoint(asio::ip::make_address("127.0.0.2"), 1)});
            up.release();
          }
        }
        done = true;
      },
      rethrow);
  ASSERT_TRUE(run_until([&] { return done; }));
  ASSERT_TRUE(complete);
  EXPECT_EQ(stats_.upstream_not_reused.load(), 0u);
  EXPECT_EQ(stats_.upstream_pool.retired.load(), 1u);
  EXPECT_FALSE(pool_had_one());
}

TEST_F(upstream_client_test, idle_connection_closed_by_upstream_is_dropped) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"});
  ASSERT_TRUE(exchange(1).header_ok);
  upstream_->close_connections();
  // The pool's watch sees the EOF while the connection idles.
  ASSERT_TRUE(run_until([&] { return stats_.upstream_pool.closed_by_peer.load() == 1; }));
  const exchange_result r = exchange(2);
  ASSERT_TRUE(r.header_ok);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "b");
  EXPECT_EQ(upstream_->accepted(), 2);
  EXPECT_EQ(stats_.upstream_reused.load(), 0u);
  EXPECT_EQ(stats_.upstream_retries.load(), 0u);
}

TEST_F(upstream_client_test, connection_closed_just_before_take_gives_no_error) {
  start_upstream({"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
                  "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"});
  ASSERT_TRUE(exchange(1).header_ok);
  // No run between the close and the next request: take() itself, or the retry, must cope.
  upstream_->close_connections();
  const exchange_result r = exchange(2);
  ASSERT_TRUE(r.header_ok);
  EXPECT_EQ(r.body, "b");
  EXPECT_EQ(upstream_->accepted(), 2);
}

TEST_F(upstream_client_test, interim_responses_are_consumed) {
  start_upstream({"HTTP/1.1 100 Continue\r\n\r\n"
                  "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"});
  const exchange_result r = exchange(1);
  ASSERT_TRUE(r.header_ok);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok");
  EXPECT_TRUE(pool_had_one());
}

TEST_F(upstream_client_test, status_600_is_a_bad_response) {
  start_upstream({"HTTP/1.1 600 Beyond\r\nContent-Length: 0\r\n\r\n"});
  const exchange_result r = exchange(1);
  EXPECT_FALSE(r.header_ok);
  EXPECT_EQ(r.failure, upstream_error_kind::bad_response);
  EXPECT_FALSE(pool_had_one());
}

TEST_F(upstream_client_test, coded_transfer_is_a_bad_response) {
  start_upstream({"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"});
  const exchange_result r = exchange(1);
  EXPECT_FALSE(r.header_ok);
  EXPECT_EQ(r.failure, upstream_error_kind::bad_response);
  EXPECT_FALSE(pool_had_one());
}

}  // namespace
}  // namespace bfast::server
