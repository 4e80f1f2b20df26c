// The upstream side of one client connection: takes a pooled connection or connects, sends the
// request, reads the response under its deadlines, and gives the connection back only when it
// is clean. It owns the rules a proxy must not get wrong here: retry only what is safe to
// retry, 1xx responses are consumed and never extend the header deadline, a status outside
// 100..599 or a coded transfer is a bad response, a 101 is taken only in answer to an Upgrade
// the proxy sent, and a connection returns to the pool only when the response ended exactly at
// its framing and nothing more is readable.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "server_state.hpp"
#include "wire_format.hpp"

namespace bfast::server {

// Why the upstream could not give a response, and whether that was a deadline (504) or not (502).
struct upstream_failure {
  upstream_error_kind kind = upstream_error_kind::bad_response;
  bool timed_out = false;
  std::string detail;  // for the client's 502 when it says more than "unavailable" (TLS)
};

class upstream_client {
 public:
  using response_parser = http::response_parser<http::buffer_body>;
  using io_result = std::pair<beast::error_code, std::size_t>;

  // `cfg` is the owner's snapshot, which it renews between exchanges only.
  upstream_client(shared_state& state, worker& w, const config_snapshot& cfg);
  upstream_client(const upstream_client&) = delete;
  upstream_client& operator=(const upstream_client&) = delete;

  // Sends the request head on a pooled connection, or a new one. `retryable`: the request has
  // no body and an idempotent method, so a pooled connection that turns out stale is replaced.
  [[nodiscard]] task<bool> send_head(const http::request_header<>& req, bool retryable);
  // One piece of the request body, under the body idle deadline. Watches the upstream while it
  // writes: interim responses are consumed, and a final answer before the body is all sent
  // (a 413, say) stops the body and is kept for the client (answered_early()).
  [[nodiscard]] task<bool> send_body(const body_piece& piece);
  [[nodiscard]] bool answered_early() const noexcept { return answered_early_; }
  // The request body has all gone up: the connection may be pooled after the response.
  void body_sent() noexcept { body_incomplete_ = false; }
  // Completes when the upstream has something to read (a byte or an EOF), while the caller
  // waits for more of the request body.
  [[nodiscard]] task<std::tuple<beast::error_code>> wait_readable();
  // Reads what the upstream sent before the request body was whole: true for interim
  // responses (consumed), false for a final answer (answered_early()) or a failure.
  [[nodiscard]] task<bool> read_interim();
  // Reads the final response's header; interim responses are consumed. `head_request`: the
  // response has no body whatever its header says. A 101 is final when the request asked for
  // an upgrade and the 101 is fit to start a tunnel; otherwise it is a bad response.
  [[nodiscard]] task<bool> read_header(bool head_request);
  // After a failed send_body: the upstream may have answered early (a 413, say) and closed.
  // Reads that answer if it is there; the connection is never reused afterwards.
  [[nodiscard]] task<bool> read_early_answer(bool head_request);

  [[nodiscard]] response_parser& parser() noexcept { return *parser_; }
  [[nodiscard]] bool body_done() const noexcept;
  // Some of the body into [dst, dst + cap), under the body idle deadline.
  [[nodiscard]] task<io_result> read_body(char* dst, std::size_t cap);
  // Bytes that arrived with the header and belong to the body (a Content-Length body only).
  [[nodiscard]] bool has_buffered_body() const noexcept { return buffer_.size() > 0; }
  // Those bytes in place, never past the framing, counted as read; they stay in the buffer
  // until drop_buffered_body(), so a small body goes out without a copy.
  [[nodiscard]] std::string_view take_buffered_body() noexcept;
  void drop_buffered_body(std::size_t n) noexcept { buffer_.consume(n); }

  // After a 101: the connection leaves this client for the tunnel and is never pooled. The
  // bytes read past the 101's header, the new protocol's first, move into `pending`.
  [[nodiscard]] byte_stream& switch_protocols(std::string& pending);

  // After a complete response: back to the pool if clean, else closed.
  void release();
  // Closes the connection; nothing it carries can be trusted any more.
  void abandon() noexcept;
  // The client is gone (its HTTP/2 stream was reset): the operation in progress fails at once,
  // nothing is retried or connected again, and the failure is not counted as the upstream's.
  void cancel() noexcept;
  // Frees what an idle client connection does not need.
  void shrink() noexcept;

  [[nodiscard]] const upstream_failure& failure() const noexcept { return failure_; }
  [[nodiscard]] double header_latency_ms() const noexcept { return latency_ms_; }

 private:
  [[nodiscard]] task<bool> connect();
  [[nodiscard]] task<bool> handshake();
  // One write of the request body; the caller races it against the upstream's answer.
  [[nodiscard]] task<std::tuple<beast::error_code, std::size_t>> write_some(
      const std::array<asio::const_buffer, 5>& pieces);
  [[nodiscard]] task<bool> write_head();
  [[nodiscard]] bool fail(upstream_error_kind kind, bool timed_out);
  void start_body();
  [[nodiscard]] std::optional<upstream_error_kind> check_final_header() const;

  shared_state& s_;
  worker& w_;
  const config_snapshot& cfg_;
  bool cancelled_ = false;
  std::unique_ptr<byte_stream> stream_;
  tcp::endpoint peer_;
  bool reused_ = false;
  bool retryable_ = false;
  bool body_incomplete_ = false;  // the request body did not all go up
  bool head_request_ = false;     // the response has no body whatever its header says
  bool answered_early_ = false;
  bool upgrade_sent_ = false;     // the request asked to switch protocols: a 101 may answer
  head_string head_;              // the request head, kept for a retry
  read_buffer buffer_;
  std::optional<response_parser> parser_;
  bool direct_ = false;            // a Content-Length body, read past the parser
  std::uint64_t remaining_ = 0;    // of such a body, the bytes still to read
  upstream_failure failure_;
  double latency_ms_ = 0;
};

}  // namespace bfast::server
