// A connection's byte stream, cleartext, TLS or one end of an in-memory pipe (an HTTP/2 stream's
// exchange, stream_pipe.hpp), chosen at run time, so that the sessions, the upstream client, the
// pool and the tunnel are written once for all. A pipe stream has an unopened socket: its
// socket options and endpoints fail as a closed socket's do.
//
// TLS runs on the socket's descriptor directly (OpenSSL's socket BIO, as nginx does), not through
// memory BIOs: no ciphertext waits in a buffer outside OpenSSL, so "readable" means the socket is
// readable or OpenSSL holds a record (wait_readable), and an idle connection keeps no buffers
// (SSL_MODE_RELEASE_BUFFERS). Deadlines work as beast::basic_stream's do: expires_after() bounds
// every operation started after it, and a deadline that passes closes the socket and fails the
// operation with beast::error::timeout.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <openssl/ssl.h>

#include "io_types.hpp"
#include "stream_pipe.hpp"

namespace bfast::server {

// An SSL_CTX shared by the connections made from it; each SSL holds its own reference too.
using tls_context_ptr = std::shared_ptr<SSL_CTX>;

enum class tls_role : std::uint8_t { server, client };

// Per-direction deadlines of a TLS stream. Shared with the timers' handlers, which may run after
// the stream is gone: `socket` is then null.
struct tls_deadlines {
  tls_deadlines(const executor& ex, tcp_socket& s)
      : timers{steady_timer(ex), steady_timer(ex)}, socket(&s) {}
  steady_timer timers[2];
  std::uint64_t armed[2]{};  // bumped per wait: a late expiry of an earlier wait does nothing
  bool timed_out[2]{};
  tcp_socket* socket;
};

class byte_stream {
 public:
  using executor_type = executor;
  enum direction : std::uint8_t { reading = 0, writing = 1 };

  explicit byte_stream(tcp_socket socket) : tcp_(std::move(socket)) {}
  explicit byte_stream(const executor& ex) : tcp_(ex) {}
  byte_stream(const executor& ex, stream_pipe_end end) : tcp_(ex), pipe_(std::move(end)) {}
  byte_stream(const byte_stream&) = delete;
  byte_stream& operator=(const byte_stream&) = delete;
  ~byte_stream();

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  tcp_stream& tcp() noexcept { return tcp_; }
  tcp_socket& socket() noexcept { return tcp_.socket(); }
  [[nodiscard]] bool tls() const noexcept { return ssl_ != nullptr; }
  [[nodiscard]] bool piped() const noexcept { return pipe_.has_value(); }
  [[nodiscard]] SSL* ssl() const noexcept { return ssl_; }
  // The context this stream's TLS was made from (null: cleartext), to tell pooled connections
  // of an older upstream TLS setting from current ones.
  [[nodiscard]] const SSL_CTX* tls_context() const noexcept {
    return ssl_ ? SSL_get_SSL_CTX(ssl_) : nullptr;
  }

  void expires_after(std::chrono::milliseconds d);
  void expires_never();

  // Makes the (connected) stream TLS; the handshake follows with async_handshake. False when
  // OpenSSL cannot make the connection's state.
  [[nodiscard]] bool start_tls(const tls_context_ptr& ctx, tls_role role);

  // Completes when a read would find something without waiting: a byte or an EOF on the
  // socket, or a record OpenSSL already holds. Reads nothing, so it may lose a race safely.
  template <class Token>
  auto async_wait_readable(Token&& token) {
    return asio::async_initiate<Token, void(beast::error_code)>(
        [this](auto handler) {
          if (pipe_) {
            pipe_->async_wait_readable(std::move(handler));
            return;
          }
          if (!input_buffered()) {
            tcp_.socket().async_wait(tcp::socket::wait_read, std::move(handler));
            return;
          }
          auto ex = get_executor();
          asio::post(ex, [h = std::move(handler)]() mutable { std::move(h)(beast::error_code{}); });
        },
        token);
  }
  // Whether the stream holds bytes not yet read from it (TLS only: the socket's own are not).
  [[nodiscard]] bool input_buffered() const noexcept;

  // Sends what ends this side: the TLS close_notify (best effort, never waits), then the FIN.
  void shutdown_send() noexcept;
  // Closes the connection, saying close_notify first when TLS is up and healthy.
  void close() noexcept;
  // Closes with a reset: nothing more is said.
  void abort() noexcept;

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (pipe_) return pipe_->async_read_some(buffers, std::forward<Token>(token));
    if (!ssl_) return tcp_.async_read_some(buffers, std::forward<Token>(token));
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(
        tls_io_op{this, first_of(buffers), {}, reading_op}, token, tcp_.socket());
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (pipe_) return pipe_->async_write_some(buffers, std::forward<Token>(token));
    if (!ssl_) return tcp_.async_write_some(buffers, std::forward<Token>(token));
    tls_io_op op{this, {}, {}, writing_op};
    op.take(buffers);
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(std::move(op), token,
                                                                            tcp_.socket());
  }

  template <class Token>
  auto async_handshake(Token&& token) {
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(
        tls_io_op{this, {}, {}, handshaking}, token, tcp_.socket());
  }

 private:
  static constexpr std::size_t coalesce_bytes = 16 * 1024;  // one TLS record
  enum op_kind : std::uint8_t { reading_op = 0, writing_op = 1, handshaking = 2 };

  template <class MutableBuffers>
  static asio::mutable_buffer first_of(const MutableBuffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it) {
      asio::mutable_buffer b(*it);
      if (b.size() > 0) return b;
    }
    return {};
  }

  // One SSL_read, SSL_write or handshake step, waiting on the socket between tries.
  struct tls_io_op {
    byte_stream* s;
    asio::mutable_buffer in;
    asio::const_buffer out;
    std::uint8_t kind;
    std::unique_ptr<char[]> staged{};  // small buffers gathered into one record
    int state = 0;  // 0: start, 1: waited on the socket, 2: posted a result
    beast::error_code result{};
    std::size_t done = 0;

    // A small message (a head and a short body) gathered into one record and one send; else
    // the first buffer, so that a large body is never copied, at the cost of one short record
    // for the head or chunk line before it.
    template <class ConstBuffers>
    void take(const ConstBuffers& buffers) {
      std::size_t total = 0, count = 0;
      asio::const_buffer first;
      for (auto it = asio::buffer_sequence_begin(buffers);
           it != asio::buffer_sequence_end(buffers); ++it) {
        asio::const_buffer b(*it);
        if (b.size() == 0) continue;
        if (count++ == 0) first = b;
        total += b.size();
      }
      if (count <= 1 || total > coalesce_bytes) {
        out = first;
        return;
      }
      staged = std::make_unique_for_overwrite<char[]>(total);
      const std::size_t copied = asio::buffer_copy(asio::buffer(staged.get(), total), buffers);
      out = asio::const_buffer(staged.get(), copied);
    }

    template <class Self>
    void operator()(Self& self, beast::error_code ec = {}) {
      if (state == 2) return self.complete(result, done);
      const bool waited = state == 1;
      // A read and a write may wait at once (a tunnel): each kind has its own deadline timer.
      const int timer = kind == writing_op ? writing : reading;
      if (waited) {
        s->disarm(timer);
        if (s->deadlines_->timed_out[timer]) ec = beast::error::timeout;
        if (ec) return self.complete(ec, 0);
      }
      const step st = s->try_step(kind, in, out);
      if (st.wait_for >= 0) {
        state = 1;
        s->arm(timer);
        s->tcp_.socket().async_wait(st.wait_for == reading ? tcp::socket::wait_read
                                                           : tcp::socket::wait_write,
                                    std::move(self));
        return;
      }
      if (waited) return self.complete(st.ec, st.n);
      // Finished without waiting: the handler must still not run inside the initiating call.
      state = 2;
      result = st.ec;
      done = st.n;
      auto ex = s->get_executor();
      asio::post(ex, std::move(self));
    }
  };

  struct step {
    int wait_for = -1;  // reading or writing: try again once the socket is ready
    beast::error_code ec;
    std::size_t n = 0;
  };
  step try_step(std::uint8_t kind, asio::mutable_buffer in, asio::const_buffer out);
  step result_of(int ret, std::size_t n);
  void arm(int dir);
  void disarm(int dir);

  tcp_stream tcp_;
  SSL* ssl_ = nullptr;
  bool tls_broken_ = false;  // a fatal TLS error: no close_notify may follow
  bool tls_shut_ = false;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::shared_ptr<tls_deadlines> deadlines_;
  std::optional<stream_pipe_end> pipe_;
};

}  // namespace bfast::server
