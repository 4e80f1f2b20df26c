#include "simple_http.hpp"

#include <chrono>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
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

asio::awaitable<void> simple_session(tcp::socket socket, std::shared_ptr<simple_handler> handler) {
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

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, std::shared_ptr<simple_handler> handler) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec) {
      if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), simple_session(std::move(socket), handler),
                   asio::detached);
  }
}

}  // namespace

void serve_simple(tcp::acceptor& acceptor, simple_handler handler) {
  asio::co_spawn(acceptor.get_executor(),
                 accept_loop(acceptor, std::make_shared<simple_handler>(std::move(handler))),
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
