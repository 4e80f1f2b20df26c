// A small HTTP/1.1 server for the proxy's own endpoints (admin, demo API): whole requests and
// responses in memory, with the same deadlines and limits as the data path.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace bfast::server {

namespace http = boost::beast::http;

using simple_request = http::request<http::string_body>;
using simple_response = http::response<http::string_body>;
using simple_handler = std::function<simple_response(const simple_request&)>;

struct simple_limits {
  std::size_t max_connections = 0;  // past it a new connection is closed at once; 0: no limit
  std::atomic<std::uint64_t>* refused = nullptr;        // counts those closed connections
  std::atomic<std::uint64_t>* accept_errors = nullptr;  // counts failed accepts
};

// Accepts on `acceptor` until it is closed; each connection runs on the acceptor's executor.
// A failed accept (out of descriptors) pauses the loop briefly instead of spinning or ending it.
void serve_simple(boost::asio::ip::tcp::acceptor& acceptor, simple_handler handler,
                  simple_limits limits = {});

// Binds a listening acceptor; throws std::system_error naming the address on failure.
void open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const std::string& host,
                   unsigned short port);

}  // namespace bfast::server
