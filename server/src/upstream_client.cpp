#include "upstream_client.hpp"

#include <algorithm>
#include <cstdio>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>

#include "bfast/filter/headers.hpp"
#include "bfast/filter/rewrite.hpp"

namespace bfast::server {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

constexpr std::uint32_t min_header_limit = 64 * 1024;
// Beast reads at most the buffer's free room (512 bytes when fresh): room for a header and a
// small body lets one read take a whole small response.
constexpr std::size_t read_room = 16 * 1024;
// Beyond the header limit, what a chunk-size line with its extensions or a trailer section may
// add to the read buffer; the buffer's fixed bound is what makes such a line finite.
constexpr std::size_t chunk_line_room = 16 * 1024;

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

// Errors that mean a pooled connection had been closed by the upstream while idle.
bool is_stale(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

std::uint32_t header_limit(const config::proxy_config& cfg) {
  return std::max(min_header_limit, cfg.max_header_bytes);
}

}  // namespace

upstream_client::upstream_client(shared_state& state, worker& w, const config_snapshot& cfg)
    : s_(state), w_(w), cfg_(cfg), buffer_(header_limit(*cfg) + chunk_line_room) {}

bool upstream_client::fail(upstream_error_kind kind, bool timed_out) {
  if (!cancelled_) s_.stats.count(kind);
  failure_ = {kind, timed_out, {}};
  abandon();
  return false;
}

task<bool> upstream_client::connect() {
  if (cancelled_) co_return fail(upstream_error_kind::connect_refused, false);
  stream_ = std::make_unique<byte_stream>(w_.ioc.get_executor());
  reused_ = false;
  // One deadline for the connection and its TLS handshake, as nginx's proxy_connect_timeout.
  stream_->expires_after(milliseconds(cfg_->upstream_connect_timeout_ms));
  auto [ec, ep] = co_await stream_->tcp().async_connect(w_.next_upstream(), use_tuple);
  if (ec) {
    s_.upstream_connect_failures.fetch_add(1, std::memory_order_relaxed);
    co_return fail(is_timeout(ec) ? upstream_error_kind::connect_timeout
                                  : upstream_error_kind::connect_refused,
                   is_timeout(ec));
  }
  s_.upstream_connect_failures.store(0, std::memory_order_relaxed);
  peer_ = ep;
  beast::error_code ig;
  stream_->socket().set_option(tcp::no_delay(true), ig);
  if (!w_.tls->upstream) co_return true;
  co_return co_await handshake();
}

task<bool> upstream_client::handshake() {
  const tls_contexts& tls = *w_.tls;
  if (!stream_->start_tls(tls.upstream, tls_role::client) ||
      !prepare_upstream_tls(stream_->ssl(), tls, tls.upstream_verify)) {
    const bool failed = fail(upstream_error_kind::tls_handshake, false);
    failure_.detail = "upstream TLS: cannot set up the connection";
    co_return failed;
  }
  auto [ec, n] = co_await stream_->async_handshake(use_tuple);
  if (!ec) co_return true;
  if (is_timeout(ec)) co_return fail(upstream_error_kind::connect_timeout, true);
  const bool refused = SSL_get_verify_result(stream_->ssl()) != X509_V_OK;
  std::string detail = upstream_tls_failure(stream_->ssl(), ec);
  std::fprintf(stderr, "bfast-proxy: upstream %s: %s\n", tls.upstream_name.c_str(),
               detail.c_str());
  const bool failed =
      fail(refused ? upstream_error_kind::tls_verify : upstream_error_kind::tls_handshake, false);
  failure_.detail = std::move(detail);
  co_return failed;
}

task<std::tuple<beast::error_code, std::size_t>> upstream_client::write_some(
    const std::array<asio::const_buffer, 5>& pieces) {
  // Cleartext writes go to the socket itself, outside the stream's deadline: the caller's
  // idle timer bounds them.
  if (!stream_->tls()) co_return co_await stream_->socket().async_write_some(pieces, use_tuple);
  co_return co_await stream_->async_write_some(pieces, use_tuple);
}

task<bool> upstream_client::write_head() {
  // The header deadline runs from here to the final response header, 1xx responses included.
  stream_->expires_after(milliseconds(cfg_->upstream_header_timeout_ms));
  auto [ec, n] = co_await asio::async_write(*stream_, asio::buffer(head_), use_tuple);
  if (!ec) co_return true;
  if (reused_ && retryable_ && !is_timeout(ec)) {
    s_.stats.upstream_retries.fetch_add(1, std::memory_order_relaxed);
    const bool connected = co_await connect();
    if (!connected) co_return false;
    const bool written = co_await write_head();
    co_return written;
  }
  co_return fail(is_timeout(ec) ? upstream_error_kind::header_timeout
                                 : upstream_error_kind::reset_before_response,
                 is_timeout(ec));
}

task<bool> upstream_client::send_head(const http::request_header<>& req, bool retryable) {
  parser_.reset();
  buffer_.clear();
  if (buffer_.capacity() < read_room) buffer_.reserve(read_room);
  body_incomplete_ = false;
  answered_early_ = false;
  head_request_ = req.method() == http::verb::head;
  // Every other request had its Upgrade stripped on the way up.
  upgrade_sent_ = req.count(http::field::upgrade) > 0;
  retryable_ = retryable;
  latency_ms_ = 0;
  head_.clear();
  append_head(head_, req);
  pooled_connection pooled = w_.pool.take();
  stream_ = std::move(pooled.stream);
  peer_ = pooled.peer;
  reused_ = stream_ != nullptr;
  if (reused_) {
    s_.stats.upstream_reused.fetch_add(1, std::memory_order_relaxed);
  } else {
    const bool connected = co_await connect();
    if (!connected) co_return false;
  }
  const bool written = co_await write_head();
  co_return written;
}

task<bool> upstream_client::send_body(const body_piece& piece) {
  using namespace asio::experimental::awaitable_operators;
  body_incomplete_ = true;
  std::array<asio::const_buffer, 5> rest = piece.buffers();
  std::size_t left = asio::buffer_size(rest);
  // Only a write's progress restarts the idle deadline: a drip of interim responses does not.
  steady_timer idle(stream_->get_executor(), milliseconds(cfg_->upstream_body_idle_timeout_ms));
  // The idle timer bounds the body; the header deadline starts again in read_header.
  stream_->expires_never();
  while (left > 0) {
    // Raced against the upstream's readability: an upstream that answers and stops reading
    // would otherwise hold this write until the idle deadline, and its answer with it.
    auto won = co_await (write_some(rest) || stream_->async_wait_readable(use_tuple) ||
                         idle.async_wait(use_tuple));
    if (won.index() == 0) {
      auto [ec, n] = std::get<0>(won);
      if (ec) {
        // Not counted yet: the upstream may have answered before it closed (read_early_answer).
        failure_ = {upstream_error_kind::reset_before_response, false, {}};
        co_return false;
      }
      left -= n;
      // Drop what was written from the front of the sequence.
      for (auto& b : rest) {
        const std::size_t used = std::min(n, b.size());
        b += used;
        n -= used;
      }
      idle.expires_after(milliseconds(cfg_->upstream_body_idle_timeout_ms));
    } else if (won.index() == 1) {
      const bool interim = co_await read_interim();
      if (!interim) co_return false;
    } else {
      co_return fail(upstream_error_kind::send_timeout, true);
    }
  }
  co_return true;
}

task<std::tuple<beast::error_code>> upstream_client::wait_readable() {
  co_return co_await stream_->async_wait_readable(use_tuple);
}

task<bool> upstream_client::read_interim() {
  do {
    parser_.emplace();
    parser_->header_limit(header_limit(*cfg_));
    parser_->body_limit(boost::none);
    if (head_request_) parser_->skip(true);
    // Bounds this one header; the callers' idle deadlines bound the exchange, and only progress
    // of the request body restarts those.
    stream_->expires_after(milliseconds(cfg_->upstream_header_timeout_ms));
    auto [ec, n] = co_await http::async_read_header(*stream_, buffer_, *parser_, use_tuple);
    if (ec)
      co_return fail(is_timeout(ec) ? upstream_error_kind::header_timeout
                                    : upstream_error_kind::bad_response,
                     is_timeout(ec));
    const unsigned status = parser_->get().result_int();
    if (status == 101) co_return fail(upstream_error_kind::bad_response, false);
    if (status < 100 || status >= 200) break;
    // An interim response: the final one may have come in the same read.
  } while (buffer_.size() > 0);
  if (parser_->get().result_int() / 100 == 1) co_return true;
  if (const auto bad = check_final_header()) co_return fail(*bad, false);
  answered_early_ = true;
  // Before the first body byte went up too: the upstream still expects the body.
  body_incomplete_ = true;
  start_body();
  co_return false;
}

void upstream_client::start_body() {
  // A body framed by Content-Length is read straight from the socket; chunked and
  // close-delimited ones go through the parser.
  direct_ = !parser_->is_done() && !parser_->chunked() && parser_->content_length().has_value();
  remaining_ = direct_ ? *parser_->content_length() : 0;
}

std::optional<upstream_error_kind> upstream_client::check_final_header() const {
  const auto& h = parser_->get();
  const unsigned status = h.result_int();
  // Beast takes any three digits; anything outside 100..599 is not HTTP.
  if (status < 100 || status > 599) return upstream_error_kind::bad_response;
  // A coded transfer (gzip, chunked) would reach the client as coded bytes labelled identity.
  if (h.count(http::field::transfer_encoding) > 0) {
    const std::string te = filter::combined_value(h, http::field::transfer_encoding);
    if (!beast::iequals(te, "chunked")) return upstream_error_kind::bad_response;
    if (h.count(http::field::content_length) > 0) return upstream_error_kind::bad_response;
  }
  return std::nullopt;
}

task<bool> upstream_client::read_header(bool head_request) {
  const auto sent_at = clock_type::now();
  // One deadline for the final header, interim responses included: a 1xx drip cannot extend it.
  stream_->expires_after(milliseconds(cfg_->upstream_header_timeout_ms));
  for (;;) {
    parser_.emplace();
    parser_->header_limit(header_limit(*cfg_));
    parser_->body_limit(boost::none);  // pass-through bodies stream, whatever their size
    if (head_request) parser_->skip(true);
    auto [ec, n] = co_await http::async_read_header(*stream_, buffer_, *parser_, use_tuple);
    if (ec) {
      if (reused_ && retryable_ && is_stale(ec) && buffer_.size() == 0) {
        // Closed while idle, just as it was taken: the request went nowhere, so send it again.
        s_.stats.upstream_retries.fetch_add(1, std::memory_order_relaxed);
        retryable_ = false;
        const bool connected = co_await connect();
        if (!connected) co_return false;
        const bool written = co_await write_head();
        if (!written) co_return false;
        continue;
      }
      upstream_error_kind kind = upstream_error_kind::bad_response;
      if (is_timeout(ec)) kind = upstream_error_kind::header_timeout;
      else if (is_stale(ec)) kind = upstream_error_kind::reset_before_response;
      co_return fail(kind, is_timeout(ec));
    }
    const unsigned status = parser_->get().result_int();
    if (status == 101) {
      // Unasked, a 101 would turn the connection into a tunnel the client never agreed to.
      if (!upgrade_sent_ || !filter::valid_switching_response(parser_->get()))
        co_return fail(upstream_error_kind::bad_response, false);
      break;
    }
    if (status >= 100 && status < 200) {
      // Interim: consumed, never relayed. The upstream has the request, so no retry from here.
      retryable_ = false;
      continue;
    }
    if (const auto bad = check_final_header()) co_return fail(*bad, false);
    break;
  }
  latency_ms_ = std::chrono::duration<double, std::milli>(clock_type::now() - sent_at).count();
  s_.stats.upstream_latency_seconds.observe(latency_ms_ / 1000);
  start_body();
  co_return true;
}

task<bool> upstream_client::read_early_answer(bool head_request) {
  retryable_ = false;
  if (!stream_) co_return false;
  const bool answered = co_await read_header(head_request);
  body_incomplete_ = true;
  co_return answered;
}

bool upstream_client::body_done() const noexcept {
  return direct_ ? remaining_ == 0 : parser_->is_done();
}

std::string_view upstream_client::take_buffered_body() noexcept {
  if (!direct_) return {};
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer_.size(), remaining_));
  remaining_ -= n;
  return {static_cast<const char*>(buffer_.data().data()), n};
}

task<upstream_client::io_result> upstream_client::read_body(char* dst, std::size_t cap) {
  stream_->expires_after(milliseconds(cfg_->upstream_body_idle_timeout_ms));
  if (direct_) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, remaining_));
    std::size_t n = 0;
    if (buffer_.size() > 0) {
      // What arrived with the header is used first; never more than the framing says.
      n = asio::buffer_copy(asio::buffer(dst, want), buffer_.data());
      buffer_.consume(n);
    } else {
      auto [ec, got] = co_await stream_->async_read_some(asio::buffer(dst, want), use_tuple);
      if (ec)
        co_return io_result{ec == asio::error::eof ? beast::error_code(http::error::partial_message)
                                                   : ec,
                            0};
      n = got;
    }
    remaining_ -= n;
    co_return io_result{{}, n};
  }
  parser_->get().body().data = dst;
  parser_->get().body().size = cap;
  auto [ec, n] = co_await http::async_read_some(*stream_, buffer_, *parser_, use_tuple);
  if (ec == http::error::need_buffer) ec = {};
  co_return io_result{ec, cap - parser_->get().body().size};
}

byte_stream& upstream_client::switch_protocols(std::string& pending) {
  const auto data = buffer_.data();
  pending.assign(static_cast<const char*>(data.data()), data.size());
  buffer_.clear();
  // The tunnel keeps its own deadline; the header deadline must not fire into it.
  stream_->expires_never();
  return *stream_;
}

void upstream_client::release() {
  // Bytes past the framing would be taken for the next exchange's response: any already read
  // forbid reuse here, and any still in the socket are found by the pool's check.
  const bool clean = stream_ && parser_ && !body_incomplete_ && body_done() &&
                     parser_->keep_alive() && buffer_.size() == 0 &&
                     !s_.draining.load(std::memory_order_relaxed);
  if (clean) w_.pool.give_back({std::move(stream_), peer_});
  else if (stream_) s_.stats.upstream_not_reused.fetch_add(1, std::memory_order_relaxed);
  abandon();
}

void upstream_client::abandon() noexcept {
  if (stream_) {
    stream_->close();
    stream_.reset();
  }
}

void upstream_client::cancel() noexcept {
  cancelled_ = true;
  retryable_ = false;
  // Closed, not destroyed: the operation waiting on it completes with an error and ends.
  if (stream_) stream_->close();
}

void upstream_client::shrink() noexcept {
  parser_.reset();
  buffer_.clear();
  buffer_.shrink_to_fit();
  head_.clear();
  head_.shrink_to_fit();
}

}  // namespace bfast::server
