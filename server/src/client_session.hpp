// One client connection, as a state machine over its exchanges: read a request under the
// header deadline, check it, send it upstream (upstream_client), let the exchange's filter decide
// on the response, then stream the body through or buffer, transform and send it. One coroutine
// per connection; every read and write has a deadline, and every buffer a bound. The request
// side is in client_session.cpp, the response side in client_response.cpp.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

#include "bfast/filter/exchange.hpp"
#include "bfast/filter/network_hints.hpp"
#include "bfast/filter/request_body.hpp"
#include "server_state.hpp"
#include "upstream_client.hpp"

namespace bfast::server {

namespace http = beast::http;

// What one exchange leaves behind for the access log.
struct exchange_record {
  std::string method;
  std::string target;
  std::string request_id;   // empty when the request_id setting is off
  std::string user_agent;   // for the log only, bounded
  std::string real_client;  // the client behind trusted proxies, when not the peer itself
  unsigned version = 11;
  bool client_keep_alive = true;
  unsigned status = 0;
  std::string_view decision;  // set when the proxy answered itself; else the filter's
  std::string_view reason;
  std::string_view compress;
  std::string_view request_body;  // decoded | refused: a B-FAST request body's fate
  std::uint64_t request_in = 0;
  std::uint64_t request_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t response_in = 0;   // a representation the proxy chose: the upstream's JSON bytes
  std::uint64_t response_out = 0;  // ... and its body's bytes on the wire
  std::string_view upstream_error;  // the upstream_error_kind token, when the upstream failed
  double upstream_ms = 0;
  bool aborted = false;
  std::size_t route_slot = route_labels::none;  // the route label of the metrics
};

// How sending the request went, from the client's side.
enum class request_outcome {
  sent,
  client_gone,
  bad_body,
  body_too_large,
  upstream_failed,
  overloaded,  // a body read whole for conversion did not fit the transform memory budget
};

class h2_session;

class proxy_session {
 public:
  proxy_session(shared_state& state, worker& w, tcp_socket socket);
  // One exchange of an HTTP/2 stream, read from and answered into a pipe: the client's
  // address, the socket's descriptor (for TCP_INFO) and whether it is TLS are the HTTP/2
  // connection's.
  proxy_session(shared_state& state, worker& w, stream_pipe_end end, std::string client_address,
                int tcp_info_fd, bool client_tls);
  ~proxy_session();
  // The HTTP/2 stream this session serves was reset: the exchange ends at once, its upstream
  // connection with it, and the log says 499 as for a client that closed.
  void stream_reset() noexcept;
  proxy_session(const proxy_session&) = delete;
  proxy_session& operator=(const proxy_session&) = delete;

  task<void> run();

  void close_if_idle();

 private:
  using clock_type = std::chrono::steady_clock;

  // On a TLS listener, before the first request: plain HTTP gets a 400 in the clear, and the
  // handshake must finish within tls_handshake_timeout_ms.
  task<bool> accept_tls(const tls_context_ptr& ctx);

  // Reads until the bytes buffered tell whether they open an h2c connection (the preface).
  task<bool> starts_h2c();
  // The connection speaks HTTP/2 from here; `initial` holds what was read of it already.
  task<void> serve_h2(std::string initial);

  task<bool> handle_request();

  task<bool> exchange(filter::exchange_filter& ex_filter, relay_lease& relay);

  // After a 101: relays it, then the connection is a byte tunnel to the upstream until it ends.
  task<bool> switch_protocols();

  filter::client_network client_network_of(const http::fields& req);

  // The request body, relayed piece by piece as it arrives. The idle deadline restarts with
  // every byte received, so a slow but live sender is never cut.
  task<request_outcome> send_request_body(bool chunked, bool expect_continue,
                                          relay_lease& relay);

  // The request direction (client_request.cpp): a B-FAST body read whole under the route's
  // bounds and converted to JSON in `json`, the memory held by `lease`; `ureq` then describes
  // the JSON. nullopt: send it up; otherwise the proxy has answered, and this is the exchange's.
  task<std::optional<bool>> convert_request_body(http::request<http::empty_body>& ureq,
                                                 const filter::request_body_decision& plan,
                                                 const config::route_rule& route,
                                                 bool expect_continue, budget_lease& lease,
                                                 std::string& json);
  // Answers Expect: 100-continue; false if the client is gone.
  task<bool> send_continue();
  // Reads the whole body into `body` (after 100 Continue when asked), leasing as it grows.
  task<request_outcome> read_request_body(bool expect_continue, std::uint64_t limit,
                                          byte_buffer& body, budget_lease& lease);
  // The converted body, in one piece.
  task<request_outcome> send_converted_body(std::string_view json);
  // A body the proxy would not convert: BFast-Status says why; `keep` once it was read whole.
  task<bool> refuse_request_body(http::status status, std::string_view reason, bool keep);
  // What every response to the client carries: the exchange's X-Request-Id, and a Date when the
  // upstream sent none (as nginx adds one).
  void stamp_response(http::fields& res);
  // The upstream's header moves into the client's response; the parser keeps its framing state.
  http::response<http::buffer_body> response_from_upstream();

  // Streams the upstream body (after `prefix`, bytes already read from it) to the client.
  // Returns whether the client connection can carry another request.
  task<bool> send_streamed(bool header_only, std::string_view prefix,
                           relay_lease& relay);

  // The upstream body ended early, went idle or broke its framing: finishing the response would
  // present a truncated body as complete, so the client connection is reset instead.
  bool abort_on_upstream_body_error(const beast::error_code& ec);

  // One write to the client under its deadline: the response head when given, then `data`.
  task<bool> write_client(std::string_view data, bool last,
                          const http::response_header<>* head, bool chunked = false);

  // Sends a body held whole in memory, in pieces so each write has its own deadline. The first
  // piece shares its write with the header.
  task<bool> send_buffered(http::response<http::buffer_body>& res, bool header_only,
                           std::string_view body);

  // JSON was the faster choice: the upstream's text, or the proxy's gzip / zstd of it.
  task<bool> send_json(filter::exchange_filter& ex_filter, http::response<http::buffer_body>& res,
                       const transform_outcome& out, byte_buffer& json, bool header_only);
  task<bool> transform_response(filter::exchange_filter& ex_filter,
                                const config::route_rule& route,
                                transform_request& treq, bool header_only,
                                relay_lease& relay);

  task<bool> send_simple(http::status status, std::string_view text, bool keep,
                         std::string_view bfast_status = {});

  // A 4xx of the proxy's own, then close: what follows on the connection cannot be trusted.
  task<bool> reject(http::status status, reject_kind kind);

  // A 502 or 504 of the proxy's own; BFast-Status names the kind of the upstream's failure.
  task<bool> send_upstream_error_status(upstream_error_kind kind, bool timed_out,
                                        bool keep_ok = true);

  // `keep_ok`: the request was read whole, so the connection may carry the next one.
  task<bool> send_upstream_error(bool keep_ok = true);

  void log(const filter::exchange_filter& ex_filter, clock_type::time_point started);

  void abort_client();

  void close_client();

  bool client_keep_alive() const { return ex_.client_keep_alive && !s_.draining.load(); }

  shared_state& s_;
  config_snapshot cfg_;  // renewed between exchanges: one exchange, one configuration
  worker& w_;
  byte_stream stream_;
  read_buffer buffer_;  // bounded: header limit plus one chunk line or trailer section
  std::string client_address_;
  bool peer_trusted_ = false;
  bool idle_ = false;
  bool stream_reset_ = false;
  bool h2_stream_ = false;
  bool client_tls_ = false;  // the client's connection is TLS (X-Forwarded-Proto: https)  // serves one HTTP/2 stream's exchange over a pipe
  int tcp_info_fd_ = -1;
  h2_session* h2_ = nullptr;  // while the connection speaks HTTP/2
  exchange_record ex_;
  head_string head_;  // the serialized head of the response being written
  std::optional<http::request_parser<http::empty_body>> req_header_;
  std::optional<http::request_parser<http::buffer_body>> req_body_;
  upstream_client up_;
};

}  // namespace bfast::server
