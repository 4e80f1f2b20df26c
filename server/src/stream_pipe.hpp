// An in-memory duplex pipe between two coroutines of one thread: what an HTTP/2 stream's bridge
// and the HTTP/1.1 session serving it talk through. Each direction holds at most `capacity`
// bytes (a full pipe makes the writer wait, which is what bounds a slow reader's memory), ends
// with an EOF (shutdown_send) or breaks with a reset (abort), and has no locks: both ends live on
// one io_context. Deadlines work as byte_stream's do: expires_after() bounds every wait started
// after it, and a deadline that passes resets the pipe and fails the wait with
// beast::error::timeout.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>

#include "io_types.hpp"

namespace bfast::server {

// One direction: bytes written and not yet read, and who waits for what.
struct pipe_lane {
  explicit pipe_lane(const executor& ex) : reader_wake(ex), writer_wake(ex) {}
  std::string data;
  std::size_t read_at = 0;
  bool eof = false;    // the writer is done: reads end after the bytes left
  bool reset = false;  // broken: reads and writes fail
  steady_timer reader_wake;
  steady_timer writer_wake;
  std::function<void()> on_room;  // a read made room (for a writer that does not wait)
  [[nodiscard]] std::size_t size() const noexcept { return data.size() - read_at; }
};

struct pipe_core {
  pipe_core(const executor& ex, std::size_t cap) : lanes{pipe_lane(ex), pipe_lane(ex)}, capacity(cap) {}
  pipe_lane lanes[2];
  std::size_t capacity;
};

class stream_pipe_end {
 public:
  using executor_type = executor;
  static constexpr std::size_t default_capacity = 64 * 1024;

  // The two ends of a new pipe.
  [[nodiscard]] static std::pair<stream_pipe_end, stream_pipe_end> make(
      const executor& ex, std::size_t capacity = default_capacity);

  stream_pipe_end(stream_pipe_end&&) noexcept = default;
  stream_pipe_end& operator=(stream_pipe_end&&) noexcept = default;
  ~stream_pipe_end();

  executor_type get_executor() const noexcept { return ex_; }

  void expires_after(std::chrono::milliseconds d) { deadline_ = std::chrono::steady_clock::now() + d; }
  void expires_never() { deadline_.reset(); }

  // Non-blocking side: room left toward the peer, and an append that ignores the bound (for a
  // request head, itself bounded by the HTTP/2 header list limit).
  [[nodiscard]] std::size_t room() const noexcept;
  void push(std::string_view bytes);
  // Called when the peer's read made room toward it.
  void on_room(std::function<void()> f) { out().on_room = std::move(f); }
  [[nodiscard]] bool broken() const noexcept { return !core_ || out().reset; }

  void shutdown_send() noexcept;
  // Says EOF, and takes nothing more: the peer's writes fail.
  void close() noexcept;
  // A reset both ways: what is buffered is lost.
  void abort() noexcept;

  template <class Token>
  auto async_wait_readable(Token&& token) {
    return asio::async_compose<Token, void(beast::error_code)>(wait_op{this}, token, ex_);
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(
        io_op<MutableBuffers, true>{this, buffers}, token, ex_);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(
        io_op<ConstBuffers, false>{this, buffers}, token, ex_);
  }

 private:
  stream_pipe_end(std::shared_ptr<pipe_core> core, int side, const executor& ex)
      : core_(std::move(core)), side_(side), ex_(ex) {}

  pipe_lane& in() const noexcept { return core_->lanes[side_]; }
  pipe_lane& out() const noexcept { return core_->lanes[1 - side_]; }

  enum class ready : std::uint8_t { now, wait };
  // Tries one read or write; `ec`/`n` are the result when it did not have to wait.
  ready try_read(asio::mutable_buffer b, beast::error_code& ec, std::size_t& n);
  ready try_write(asio::const_buffer b, beast::error_code& ec, std::size_t& n);
  bool readable() const noexcept;
  // Arms `timer` as the wake-up and the deadline of one wait.
  void arm(steady_timer& timer) const;
  void time_out() noexcept;

  // A wait is over: woken (re-check), cancelled by the caller, or past its deadline.
  template <class Self>
  bool finished_wait(Self& self, const beast::error_code& ec, beast::error_code& out_ec) {
    if (!ec) {
      time_out();
      out_ec = beast::error::timeout;
      return true;
    }
    if (self.get_cancellation_state().cancelled() != asio::cancellation_type::none) {
      out_ec = asio::error::operation_aborted;
      return true;
    }
    return false;
  }

  template <class Buffers, bool Reading>
  struct io_op {
    stream_pipe_end* p;
    Buffers buffers;
    bool started = false;

    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}) {
      if (started) {
        beast::error_code out_ec;
        if (p->finished_wait(self, ec, out_ec)) return self.complete(out_ec, 0);
      }
      std::size_t n = 0;
      beast::error_code result;
      ready r;
      if constexpr (Reading) {
        r = p->try_read(first_of<asio::mutable_buffer>(buffers), result, n);
      } else {
        r = p->try_write(first_of<asio::const_buffer>(buffers), result, n);
      }
      if (r == ready::wait) {
        steady_timer& t = Reading ? p->in().reader_wake : p->out().writer_wake;
        started = true;
        p->arm(t);
        t.async_wait(std::move(self));
        return;
      }
      if (started) return self.complete(result, n);
      // Done without waiting: the handler must still not run inside the initiating call.
      started = true;
      asio::post(p->ex_, [self = std::move(self), result, n]() mutable { self.complete(result, n); });
    }
  };

  struct wait_op {
    stream_pipe_end* p;
    bool started = false;
    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}) {
      if (started) {
        beast::error_code out_ec;
        if (p->finished_wait(self, ec, out_ec)) return self.complete(out_ec);
      }
      if (!p->readable()) {
        started = true;
        p->arm(p->in().reader_wake);
        p->in().reader_wake.async_wait(std::move(self));
        return;
      }
      if (started) return self.complete({});
      started = true;
      asio::post(p->ex_, [self = std::move(self)]() mutable { self.complete({}); });
    }
  };

  template <class Buffer, class Buffers>
  static Buffer first_of(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  std::shared_ptr<pipe_core> core_;
  int side_ = 0;
  executor ex_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  bool closed_ = false;
};

}  // namespace bfast::server
