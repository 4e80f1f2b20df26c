#include "byte_stream.hpp"

#include <cerrno>

#include <openssl/err.h>

namespace bfast::server {
namespace {

// OpenSSL's packed error codes (library and reason) fit an int.
class openssl_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "openssl"; }
  std::string message(int code) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof text);
    return text;
  }
};

const boost::system::error_category& openssl_errors() {
  static const openssl_category category;
  return category;
}

}  // namespace

byte_stream::~byte_stream() {
  if (deadlines_) deadlines_->socket = nullptr;
  if (ssl_ && tcp_.socket().is_open()) shutdown_send();
  if (ssl_) SSL_free(ssl_);
}

void byte_stream::expires_after(std::chrono::milliseconds d) {
  if (pipe_) pipe_->expires_after(d);
  tcp_.expires_after(d);
  deadline_ = std::chrono::steady_clock::now() + d;
}

void byte_stream::expires_never() {
  if (pipe_) pipe_->expires_never();
  tcp_.expires_never();
  deadline_.reset();
}

bool byte_stream::start_tls(const tls_context_ptr& ctx, tls_role role) {
  ssl_ = SSL_new(ctx.get());
  if (!ssl_) return false;
  beast::error_code ec;
  tcp_.socket().non_blocking(true, ec);
  if (ec || SSL_set_fd(ssl_, static_cast<int>(tcp_.socket().native_handle())) != 1) {
    SSL_free(ssl_);
    ssl_ = nullptr;
    return false;
  }
  if (role == tls_role::server) SSL_set_accept_state(ssl_);
  else SSL_set_connect_state(ssl_);
  deadlines_ = std::make_shared<tls_deadlines>(tcp_.get_executor(), tcp_.socket());
  return true;
}

void byte_stream::arm(int timer) {
  tls_deadlines& d = *deadlines_;
  d.timed_out[timer] = false;
  const std::uint64_t wait = ++d.armed[timer];
  if (!deadline_) return;
  d.timers[timer].expires_at(*deadline_);
  d.timers[timer].async_wait([shared = deadlines_, timer, wait](const beast::error_code& ec) {
    if (ec || !shared->socket || shared->armed[timer] != wait) return;
    // As beast::basic_stream does: the connection is no longer usable after a timeout.
    shared->timed_out[timer] = true;
    beast::error_code ig;
    shared->socket->close(ig);
  });
}

void byte_stream::disarm(int timer) {
  ++deadlines_->armed[timer];
  deadlines_->timers[timer].cancel();
}

byte_stream::step byte_stream::try_step(std::uint8_t kind, asio::mutable_buffer in,
                                        asio::const_buffer out) {
  if (!tcp_.socket().is_open()) return {-1, asio::error::bad_descriptor, 0};
  ERR_clear_error();
  std::size_t n = 0;
  int ret = 0;
  switch (kind) {
    case reading_op:
      if (in.size() == 0) return {};
      ret = SSL_read_ex(ssl_, in.data(), in.size(), &n);
      break;
    case writing_op:
      if (out.size() == 0) return {};
      ret = SSL_write_ex(ssl_, out.data(), out.size(), &n);
      break;
    default:
      ret = SSL_do_handshake(ssl_);
      break;
  }
  return result_of(ret, n);
}

byte_stream::step byte_stream::result_of(int ret, std::size_t n) {
  if (ret == 1) return {-1, {}, n};
  const int err = SSL_get_error(ssl_, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ: return {reading, {}, 0};
    case SSL_ERROR_WANT_WRITE: return {writing, {}, 0};
    case SSL_ERROR_ZERO_RETURN: return {-1, asio::error::eof, 0};
    case SSL_ERROR_SYSCALL: {
      tls_broken_ = true;
      const int e = errno;
      if (ERR_peek_error() == 0 && e != 0)
        return {-1, beast::error_code(e, boost::system::system_category()), 0};
      // A peer that vanished without close_notify, where OpenSSL saw no errno.
      return {-1, asio::error::connection_reset, 0};
    }
    default: {
      tls_broken_ = true;
      const unsigned long code = ERR_get_error();
      ERR_clear_error();
      return {-1, beast::error_code(static_cast<int>(code), openssl_errors()), 0};
    }
  }
}

bool byte_stream::input_buffered() const noexcept { return ssl_ && SSL_has_pending(ssl_) == 1; }

void byte_stream::shutdown_send() noexcept {
  if (pipe_) return pipe_->shutdown_send();
  if (ssl_ && !tls_broken_ && !tls_shut_ && SSL_is_init_finished(ssl_)) {
    ERR_clear_error();
    // Non-blocking: close_notify goes out when the socket takes it, else not at all.
    SSL_shutdown(ssl_);
    ERR_clear_error();
    tls_shut_ = true;
  }
  beast::error_code ig;
  tcp_.socket().shutdown(tcp::socket::shutdown_send, ig);
}

void byte_stream::close() noexcept {
  if (pipe_) return pipe_->close();
  if (ssl_ && tcp_.socket().is_open()) shutdown_send();
  beast::error_code ig;
  tcp_.socket().close(ig);
}

void byte_stream::abort() noexcept {
  if (pipe_) return pipe_->abort();
  beast::error_code ig;
  tcp_.socket().set_option(asio::socket_base::linger(true, 0), ig);
  tcp_.socket().close(ig);
}

}  // namespace bfast::server
