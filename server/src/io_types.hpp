// The I/O types of a worker thread. Each thread runs its own io_context and everything a session
// touches lives on one of them, so its sockets, timers and coroutines name the io_context's own
// executor: the polymorphic any_io_executor costs a copy and a type-erased call at every
// operation, with nothing to choose between.
#pragma once
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/wait_traits.hpp>
#include <boost/beast/core/basic_stream.hpp>

namespace bfast::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

using executor = asio::io_context::executor_type;

// A coroutine on a worker's (or the control thread's) io_context.
template <class T>
using task = asio::awaitable<T, executor>;

// Completion token for a task: the error code comes back in a tuple, never as an exception.
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable_t<executor>{});

using tcp_socket = asio::basic_stream_socket<tcp, executor>;
using tcp_stream = beast::basic_stream<tcp, executor>;
using steady_timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                                asio::wait_traits<std::chrono::steady_clock>,
                                                executor>;

}  // namespace bfast::server
