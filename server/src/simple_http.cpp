#include "simple_http.hpp"

#include <chrono>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace bfast::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

struct listener_state {
  simple_handler handler;
  simple_limits limits;
  std::atomic<std::size_t> open{0};
};

// Counts a connection open for as long as its session lives; taken when accepted, so a burst of
// accepts sees the count before any session has started.
class open_slot {
 public:
  explicit open_slot(std::shared_ptr<listener_state> l) : l_(std::move(l)) {
    l_->open.fetch_add(1);
  }
  [[nodiscard]] const listener_state& listener() const { return *l_; }
  ~open_slot() {
    if (l_) l_->open.fetch_sub(1);
  }
  open_slot(open_slot&& o) noexcept : l_(std::move(o.l_)) {}
  open_slot(const open_slot&) = delete;
  open_slot& operator=(const open_slot&) = delete;
  open_slot& operator=(open_slot&&) = delete;

 private:
  std::shared_ptr<listener_state> l_;
};

void bump(std::atomic<std::uint64_t>* counter) {
  if (counter) counter->fetch_add(1, std::memory_order_relaxed);
}

asio::awaitable<void> simple_session(tcp::socket socket, open_slot slot) {
  const simple_handler* handler = &slot.listener().handler;
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(64 * 1024);
    stream.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) break;
    simple_request req = parser.release();
    simple_response res;
    try {
      res = (*handler)(req);
    } catch (const std::exception&) {
      res = simple_response{http::status::internal_server_error, req.version()};
      res.body() = "internal error\n";
    }
    res.version(req.version());
    const bool keep = req.keep_alive() && res.keep_alive();
    res.keep_alive(keep);
    if (req.method() == http::verb::head) {
      // Same headers as GET, no body.
      res.prepare_payload();
      http::response<http::empty_body> head{res.base()};
      stream.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await http::async_write(stream, head, use_tuple);
      if (wec || !keep) break;
      continue;
    }
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds(30));
    auto [wec, wn] = co_await http::async_write(stream, res, use_tuple);
    if (wec || !keep) break;
  }
  beast::error_code ig;
  stream.socket().shutdown(tcp::socket::shutdown_send, ig);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor,
                                  std::shared_ptr<listener_state> listener) {
  const simple_limits& limits = listener->limits;
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      bump(limits.accept_errors);
      // Out of descriptors and the like: the pending connection stays queued, so retrying at
      // once would spin; wait a moment instead.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(10));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (limits.max_connections && listener->open.load() >= limits.max_connections) {
      bump(limits.refused);
      beast::error_code ig;
      socket.close(ig);
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), simple_session(std::move(socket), open_slot(listener)),
                   asio::detached);
  }
}

}  // namespace

void serve_simple(tcp::acceptor& acceptor, simple_handler handler, simple_limits limits) {
  auto listener = std::make_shared<listener_state>();
  listener->handler = std::move(handler);
  listener->limits = limits;
  asio::co_spawn(acceptor.get_executor(), accept_loop(acceptor, std::move(listener)),
                 asio::detached);
}

void open_acceptor(tcp::acceptor& acceptor, const std::string& host, unsigned short port) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw std::system_error(ec, "bad listen address " + host);
  const tcp::endpoint ep(address, port);
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + host + ":" + std::to_string(port));
  acceptor.listen(asio::socket_base::max_listen_connections);
}

}  // namespace bfast::server
