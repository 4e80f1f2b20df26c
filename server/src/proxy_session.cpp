// One client connection: read a request, forward it upstream, decide on the response's headers,
// then either stream the body through or buffer, transcode and send it. One coroutine per
// connection; every read, write and connect has a deadline.
#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "bfast/config/cidr.hpp"
#include "bfast/filter/accept.hpp"
#include "bfast/filter/decision.hpp"
#include "bfast/filter/headers.hpp"
#include "bfast/filter/network_hints.hpp"
#include "bfast/filter/rewrite.hpp"
#include "server_state.hpp"
#include "tcp_info.hpp"

namespace bfast::server {
namespace {

namespace http = beast::http;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t relay_chunk = 64 * 1024;
constexpr std::uint32_t upstream_header_limit = 64 * 1024;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

bool is_idempotent(http::verb v) {
  switch (v) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

// Errors that mean a pooled connection had been closed by the upstream while idle.
bool is_stale_connection(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == http::error::partial_message;
}


// Start line and fields as they go on the wire. Written here rather than by Beast's serializer,
// whose buffer sequence (one element per field name, separator and value) cost more than the
// rest of a small pass-through; the whole head then goes out as one buffer.
void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields(std::string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
}

void append_head(std::string& out, const http::response_header<>& h) {
  append_version(out, h.version());
  const unsigned code = h.result_int();
  out += ' ';
  out += static_cast<char>('0' + code / 100 % 10);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  const std::string_view reason = h.reason();
  out += reason.empty() ? std::string_view(http::obsolete_reason(h.result())) : reason;
  out += "\r\n";
  append_fields(out, h);
}

void append_head(std::string& out, const http::request_header<>& h) {
  out += h.method_string();
  out += ' ';
  out += h.target();
  out += ' ';
  append_version(out, h.version());
  out += "\r\n";
  append_fields(out, h);
}

// One write's buffers: an optional head, then a body piece, framed as a chunk when the message
// is chunked, then the last chunk when the body ends here.
struct body_piece {
  std::array<asio::const_buffer, 5> buffers{};
  std::array<char, 20> size_line{};

  body_piece(std::string_view head, std::string_view data, bool chunked, bool last) {
    static constexpr std::string_view crlf = "\r\n";
    static constexpr std::string_view last_chunk = "0\r\n\r\n";
    buffers[0] = asio::buffer(head.data(), head.size());
    if (chunked && !data.empty()) {
      const int n = std::snprintf(size_line.data(), size_line.size(), "%zx\r\n", data.size());
      buffers[1] = asio::buffer(size_line.data(), static_cast<std::size_t>(n));
      buffers[3] = asio::buffer(crlf.data(), crlf.size());
    }
    buffers[2] = asio::buffer(data.data(), data.size());
    if (chunked && last) buffers[4] = asio::buffer(last_chunk.data(), last_chunk.size());
  }
  [[nodiscard]] bool empty() const { return asio::buffer_size(buffers) == 0; }
};

// What one exchange leaves behind for the access log and metrics.
struct exchange_record {
  std::string method;
  std::string target;
  unsigned version = 11;
  bool client_keep_alive = true;
  unsigned status = 0;
  std::string_view decision = "passthrough";
  std::string_view reason;
  std::string_view compress;
  std::uint64_t bytes_out = 0;
  double upstream_ms = 0;
  bool aborted = false;
};

enum class forward_result { ok, upstream_failed, client_failed, body_too_large };

}  // namespace

class proxy_session {
 public:
  proxy_session(shared_state& state, worker& w, tcp::socket socket)
      : s_(state), cfg_(state.cfg), w_(w), stream_(std::move(socket)) {
    // open_connections was counted by the acceptor, which enforces max_connections.
    w_.sessions.insert(this);
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto addr = peer.address();
      if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
      client_address_ = addr.to_string();
    }
    peer_trusted_ = config::any_contains(cfg_.trusted_ranges, client_address_);
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~proxy_session() {
    w_.sessions.erase(this);
    s_.stats.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  proxy_session(const proxy_session&) = delete;
  proxy_session& operator=(const proxy_session&) = delete;

  asio::awaitable<void> run() {
    bool first = true;
    for (;;) {
      // Wait for the first byte of the next request under the idle deadline; the header
      // deadline starts with it, so a slow sender cannot hold the connection open.
      if (buffer_.size() == 0) {
        if (!first && s_.draining.load()) break;
        idle_ = true;
        stream_.expires_after(milliseconds(first ? cfg_.client_header_timeout_ms
                                                 : cfg_.keepalive_idle_timeout_ms));
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), use_tuple);
        idle_ = false;
        if (ec) break;
        buffer_.commit(n);
      }
      first = false;
      if (!co_await handle_request()) break;
    }
    close_client();
  }

  void close_if_idle() {
    if (idle_) stream_.close();
  }

 private:
  // ---- the request -------------------------------------------------------------------------

  asio::awaitable<bool> handle_request() {
    const auto started = clock_type::now();
    ex_ = exchange_record{};
    req_header_.emplace();
    req_header_->header_limit(cfg_.max_header_bytes);
    req_header_->body_limit(cfg_.max_request_body_bytes);
    stream_.expires_after(milliseconds(cfg_.client_header_timeout_ms));
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *req_header_, use_tuple);
    if (ec) {
      if (ec == http::error::header_limit)
        co_await reject(http::status::request_header_fields_too_large, reject_kind::header_too_large,
                        started);
      else if (ec == http::error::body_limit)
        co_await reject(http::status::payload_too_large, reject_kind::body_too_large, started);
      else if (ec != http::error::end_of_stream && ec != asio::error::eof && !is_timeout(ec) &&
               ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
               ec != http::error::partial_message)
        co_await reject(http::status::bad_request, reject_kind::bad_request, started);
      co_return false;
    }
    s_.stats.requests.fetch_add(1, std::memory_order_relaxed);

    auto& req = req_header_->get();
    ex_.method = std::string(req.method_string());
    ex_.target = std::string(req.target());
    ex_.version = req.version();
    ex_.client_keep_alive = req.keep_alive();

    // Request smuggling: the framing must be unambiguous before a byte goes upstream.
    if (filter::check_request_framing(req, req.version()) != filter::framing_error::none) {
      co_await reject(http::status::bad_request, reject_kind::smuggling, started);
      co_return false;
    }
    if (req.method() == http::verb::connect) {
      co_await reject(http::status::method_not_allowed, reject_kind::method_not_allowed, started);
      co_return false;
    }
    bool expect_continue = false;
    if (req.count(http::field::expect) > 0) {
      if (!beast::iequals(filter::combined_value(req, http::field::expect), "100-continue")) {
        co_await reject(http::status::expectation_failed, reject_kind::expectation_failed, started);
        co_return false;
      }
      expect_continue = true;
    }
    const auto content_length = req_header_->content_length();
    const bool has_body = req_header_->chunked() || (content_length && *content_length > 0);
    if (content_length && *content_length > cfg_.max_request_body_bytes) {
      co_await reject(http::status::payload_too_large, reject_kind::body_too_large, started);
      co_return false;
    }

    const config::route_rule& route = cfg_.route_for(req.target());
    const std::string accept = filter::combined_value(req, http::field::accept);
    const bool negotiated = route.enabled && filter::accept_prefers_bfast(accept);
    const bool client_head = req.method() == http::verb::head;
    // A HEAD for the B-FAST variant must carry the variant's Content-Length and ETag, which only
    // the body gives: ask the upstream for the GET and send no body.
    const bool head_via_get = negotiated && client_head;

    transform_request treq;
    treq.pack_floats = route.pack_floats;
    treq.mode = route.compress;
    treq.client = route.client;
    if (negotiated) {
      // Only a transform asks the policy, so a pass-through costs no TCP_INFO call.
      treq.network = client_network_of(req);
      const std::string accept_encoding = filter::combined_value(req, http::field::accept_encoding);
      const bool has_ae = req.count(http::field::accept_encoding) > 0;
      treq.accept_gzip = filter::coding_acceptable(accept_encoding, has_ae, "gzip");
      treq.accept_zstd = filter::coding_acceptable(accept_encoding, has_ae, "zstd");
    }
    const bool retryable = is_idempotent(req.method()) && !has_body;

    // The client's header moves into the upstream request instead of being copied field by
    // field; the parser keeps the framing it needs to read the body.
    http::request<http::empty_body> ureq(std::move(req.base()));
    if (head_via_get) ureq.method(http::verb::get);
    ureq.version(11);
    filter::forward_info info;
    info.client_address = client_address_;
    info.peer_trusted = peer_trusted_;
    info.negotiated = negotiated;
    filter::rewrite_request_for_upstream(ureq, info);
    if (req_header_->chunked()) ureq.chunked(true);
    else if (content_length) ureq.content_length(*content_length);

    const forward_result fr =
        co_await forward(ureq, has_body, expect_continue, retryable, client_head && !head_via_get);
    if (fr == forward_result::client_failed) co_return false;
    if (fr == forward_result::body_too_large) {
      co_await reject(http::status::payload_too_large, reject_kind::body_too_large, started);
      co_return false;
    }
    if (fr == forward_result::upstream_failed) {
      const bool keep = co_await send_upstream_error(started) && !has_body;
      co_return keep;
    }

    auto& ures = up_parser_->get();
    filter::exchange_facts facts;
    facts.negotiated = negotiated;
    facts.route_enabled = route.enabled;
    facts.size_limit = route.max_body_bytes;
    const filter::header_decision d = filter::decide_on_headers(ures.result_int(), ures, facts);

    bool keep = false;
    if (!d.transform) {
      s_.stats.count(d.why);
      auto res = response_from_upstream();
      filter::rewrite_passthrough_response(res, d, d.why);
      if (negotiated && res.result() == http::status::not_modified)
        filter::rewrite_not_modified_for_variant(res);
      ex_.reason = filter::reason_token(d.why);
      keep = co_await send_streamed(res, client_head, {});
    } else {
      treq.json = {};
      keep = co_await transform_response(d, route, treq, client_head);
    }
    log(started);
    co_return keep;
  }

  filter::client_network client_network_of(const http::fields& req) {
    filter::client_network net = filter::read_client_hints(req);
    // Behind an ingress the socket measures the ingress, so only its header counts.
    if (peer_trusted_) {
      if (!cfg_.client_rtt_header.empty()) {
        if (auto it = req.find(cfg_.client_rtt_header); it != req.end()) {
          if (const auto ms = filter::parse_rtt_ms(it->value())) {
            net.rtt_ms = *ms;
            net.rtt_from = filter::rtt_source::ingress_header;
          }
        }
      }
      return net;
    }
    filter::socket_measure socket;
    if (const auto m = read_tcp_info(stream_.socket().native_handle())) {
      if (m->rtt_us > 0) socket.rtt_ms = (m->rtt_us + 500) / 1000;
      if (m->delivery_rate_bps > 0) socket.delivery_kbps = m->delivery_rate_bps * 8 / 1000;
      if (m->window_bytes > 0) socket.window_bytes = m->window_bytes;
    }
    return filter::with_socket_measure(net, socket);
  }

  // ---- upstream ------------------------------------------------------------------------------

  void fail_upstream(upstream_error_kind kind, bool timed_out) {
    s_.stats.count(kind);
    upstream_status_ = timed_out ? http::status::gateway_timeout : http::status::bad_gateway;
    up_.reset();
  }

  asio::awaitable<forward_result> forward(http::request<http::empty_body>& ureq, bool has_body,
                                          bool expect_continue, bool retryable, bool head_upstream) {
    for (int attempt = 0;; ++attempt) {
      up_parser_.reset();
      up_buffer_.clear();
      // Beast reads at most the buffer's free capacity (512 bytes when it is fresh): room for a
      // header and a small body lets one read take the whole response.
      if (up_buffer_.capacity() < upstream_read_bytes) up_buffer_.reserve(upstream_read_bytes);
      bool reused = false;
      up_.reset();
      if (attempt == 0) {
        if (auto pooled = w_.pool.take()) {
          up_ = std::move(pooled);
          reused = true;
          s_.stats.upstream_reused.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (!up_) {
        up_ = std::make_unique<beast::tcp_stream>(stream_.get_executor());
        up_->expires_after(milliseconds(cfg_.upstream_connect_timeout_ms));
        auto [ec, ep] = co_await up_->async_connect(s_.upstream, use_tuple);
        if (ec) {
          fail_upstream(is_timeout(ec) ? upstream_error_kind::connect_timeout
                                       : upstream_error_kind::connect_refused,
                        is_timeout(ec));
          co_return forward_result::upstream_failed;
        }
        beast::error_code ig;
        up_->socket().set_option(tcp::no_delay(true), ig);
      }

      // The header goes first, so the upstream can refuse before the body is read.
      head_.clear();
      append_head(head_, ureq.base());
      up_->expires_after(milliseconds(cfg_.upstream_header_timeout_ms));
      auto [wec, wn] = co_await asio::async_write(*up_, asio::buffer(head_), use_tuple);
      if (wec) {
        if (reused && retryable && !is_timeout(wec)) {
          s_.stats.upstream_retries.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        fail_upstream(is_timeout(wec) ? upstream_error_kind::header_timeout
                                      : upstream_error_kind::reset_before_response,
                      is_timeout(wec));
        co_return forward_result::upstream_failed;
      }
      if (has_body) {
        const forward_result r = co_await send_request_body(ureq.chunked(), expect_continue);
        if (r != forward_result::ok) co_return r;
      }

      const auto sent_at = clock_type::now();
      bool stale = false;
      for (;;) {
        up_parser_.emplace();
        up_parser_->header_limit(std::max(upstream_header_limit, cfg_.max_header_bytes));
        up_parser_->body_limit(boost::none);  // passthrough bodies stream, whatever their size
        if (head_upstream) up_parser_->skip(true);
        up_->expires_after(milliseconds(cfg_.upstream_header_timeout_ms));
        auto [rec, rn] = co_await http::async_read_header(*up_, up_buffer_, *up_parser_, use_tuple);
        if (rec) {
          if (reused && retryable && is_stale_connection(rec) && up_buffer_.size() == 0) {
            stale = true;
            break;
          }
          upstream_error_kind kind = upstream_error_kind::bad_response;
          if (is_timeout(rec)) kind = upstream_error_kind::header_timeout;
          else if (is_stale_connection(rec)) kind = upstream_error_kind::reset_before_response;
          fail_upstream(kind, is_timeout(rec));
          co_return forward_result::upstream_failed;
        }
        const unsigned status = up_parser_->get().result_int();
        if (status == 101) {
          fail_upstream(upstream_error_kind::bad_response, false);
          co_return forward_result::upstream_failed;
        }
        if (status >= 100 && status < 200) continue;  // interim responses are not relayed
        break;
      }
      if (stale) {
        s_.stats.upstream_retries.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const double latency = std::chrono::duration<double>(clock_type::now() - sent_at).count();
      s_.stats.upstream_latency_seconds.observe(latency);
      ex_.upstream_ms = latency * 1000;
      // A body framed by Content-Length is read straight from the socket (see
      // read_upstream_body); chunked and close-delimited ones go through the parser.
      up_direct_ = !up_parser_->is_done() && !up_parser_->chunked() &&
                   up_parser_->content_length().has_value();
      up_remaining_ = up_direct_ ? *up_parser_->content_length() : 0;
      co_return forward_result::ok;
    }
  }

  asio::awaitable<forward_result> send_request_body(bool chunked, bool expect_continue) {
    if (expect_continue) {
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(milliseconds(cfg_.client_write_timeout_ms));
      auto [ec, n] = co_await asio::async_write(
          stream_, asio::buffer(continue_line.data(), continue_line.size()), use_tuple);
      if (ec) co_return forward_result::client_failed;
    }
    req_body_.emplace(std::move(*req_header_));
    req_body_->body_limit(cfg_.max_request_body_bytes);
    while (!req_body_->is_done()) {
      req_body_->get().body().data = chunk_.data();
      req_body_->get().body().size = chunk_.size();
      stream_.expires_after(milliseconds(cfg_.client_body_idle_timeout_ms));
      auto [ec, n] = co_await http::async_read(stream_, buffer_, *req_body_, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) {
        up_.reset();
        co_return forward_result::body_too_large;
      }
      if (ec) {
        up_.reset();
        co_return forward_result::client_failed;
      }
      const std::size_t got = chunk_.size() - req_body_->get().body().size;
      const body_piece piece({}, {chunk_.data(), got}, chunked, req_body_->is_done());
      if (piece.empty()) continue;
      up_->expires_after(milliseconds(cfg_.upstream_body_idle_timeout_ms));
      auto [wec, wn] = co_await asio::async_write(*up_, piece.buffers, use_tuple);
      if (wec) {
        fail_upstream(is_timeout(wec) ? upstream_error_kind::header_timeout
                                      : upstream_error_kind::reset_before_response,
                      is_timeout(wec));
        co_return forward_result::upstream_failed;
      }
    }
    co_return forward_result::ok;
  }

  // After a complete response: the connection goes back to the pool if the upstream allows it.
  // Bytes past the end of the body would be taken for the next response, so they forbid it.
  void release_upstream() {
    if (up_ && up_parser_ && upstream_body_done() && up_parser_->keep_alive() &&
        up_buffer_.size() == 0 && !s_.draining.load())
      w_.pool.give_back(std::move(up_));
    up_.reset();
  }

  [[nodiscard]] bool upstream_body_done() const {
    return up_direct_ ? up_remaining_ == 0 : up_parser_->is_done();
  }

  // Reads some of the upstream body into [dst, dst + cap). A Content-Length body comes straight
  // from the socket into `dst`, as much as the kernel holds per call, with no copy through
  // up_buffer_; a chunked or close-delimited one goes through the parser.
  asio::awaitable<std::pair<beast::error_code, std::size_t>> read_upstream_body(char* dst,
                                                                                std::size_t cap) {
    up_->expires_after(milliseconds(cfg_.upstream_body_idle_timeout_ms));
    if (up_direct_) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, up_remaining_));
      std::size_t n = 0;
      if (up_buffer_.size() > 0) {
        // What arrived with the header is used first.
        n = asio::buffer_copy(asio::buffer(dst, want), up_buffer_.data());
        up_buffer_.consume(n);
      } else {
        auto [ec, got] = co_await up_->async_read_some(asio::buffer(dst, want), use_tuple);
        if (ec) co_return std::pair{ec == asio::error::eof ? beast::error_code(http::error::partial_message) : ec, std::size_t{0}};
        n = got;
      }
      up_remaining_ -= n;
      co_return std::pair{beast::error_code{}, n};
    }
    up_parser_->get().body().data = dst;
    up_parser_->get().body().size = cap;
    auto [ec, n] = co_await http::async_read_some(*up_, up_buffer_, *up_parser_, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    co_return std::pair{ec, cap - up_parser_->get().body().size};
  }

  // ---- responses -----------------------------------------------------------------------------

  // The upstream's header moves into the client's response; the parser keeps its framing state.
  http::response<http::buffer_body> response_from_upstream() {
    http::response<http::buffer_body> res(std::move(up_parser_->get().base()));
    res.version(ex_.version);
    ex_.status = res.result_int();
    return res;
  }

  bool client_keep_alive() const { return ex_.client_keep_alive && !s_.draining.load(); }

  // Streams the upstream body (after `prefix`, bytes already read from it) to the client.
  // Returns whether the client connection can carry another request.
  asio::awaitable<bool> send_streamed(http::response<http::buffer_body>& res, bool header_only,
                                      std::string_view prefix) {
    const unsigned status = res.result_int();
    const bool status_has_body = !(status / 100 == 1 || status == 204 || status == 304);
    bool keep = client_keep_alive();
    const bool body_pending = !upstream_body_done() || !prefix.empty();

    if (header_only || !status_has_body || !body_pending) {
      if (!header_only && status_has_body && res.count(http::field::content_length) == 0)
        res.content_length(0);
      res.keep_alive(keep);
      // An unread body (a HEAD answered from a GET) makes the upstream connection unusable.
      release_upstream();
      co_return co_await write_client({}, true, res.base()) && keep;
    }

    bool chunked = false;
    if (res.count(http::field::content_length) == 0) {
      if (ex_.version >= 11) {
        chunked = true;
        res.chunked(true);
      } else {
        keep = false;
      }  // HTTP/1.0: the end of the connection ends the body
    }
    res.keep_alive(keep);
    // Body bytes that came in with the upstream's header go out in the same write as the
    // response header: one segment for a small response, and no delayed-ACK stall between two.
    std::string_view piece = prefix;
    if (piece.empty() && up_buffer_.size() > 0 && !upstream_body_done()) {
      auto [ec, got] = co_await read_upstream_body(chunk_.data(), chunk_.size());
      if (ec) {
        abort_on_upstream_body_error(ec);
        co_return false;
      }
      s_.stats.bytes_from_upstream.fetch_add(got, std::memory_order_relaxed);
      piece = {chunk_.data(), got};
    }
    bool done = upstream_body_done();
    if (!co_await write_client(piece, done, res.base(), chunked)) co_return false;
    while (!done) {
      auto [ec, got] = co_await read_upstream_body(chunk_.data(), chunk_.size());
      if (ec) {
        abort_on_upstream_body_error(ec);
        co_return false;
      }
      s_.stats.bytes_from_upstream.fetch_add(got, std::memory_order_relaxed);
      done = upstream_body_done();
      if (!co_await write_client({chunk_.data(), got}, done, std::nullopt, chunked))
        co_return false;
    }
    release_upstream();
    co_return keep;
  }

  // The upstream body ended early or went idle: finishing the response would present a truncated
  // body as complete, so the client connection is reset instead.
  void abort_on_upstream_body_error(const beast::error_code& ec) {
    s_.stats.count(is_timeout(ec) ? upstream_error_kind::body_timeout
                                  : upstream_error_kind::body_reset);
    s_.stats.responses_aborted.fetch_add(1, std::memory_order_relaxed);
    ex_.aborted = true;
    up_.reset();
    abort_client();
  }

  // One write to the client under its deadline: the response head when given, then `data`.
  asio::awaitable<bool> write_client(std::string_view data, bool last,
                                     std::optional<std::reference_wrapper<const http::response_header<>>> head,
                                     bool chunked = false) {
    head_.clear();
    if (head) append_head(head_, head->get());
    const body_piece piece(head_, data, chunked, last);
    if (piece.empty()) co_return true;
    stream_.expires_after(milliseconds(cfg_.client_write_timeout_ms));
    auto [ec, n] = co_await asio::async_write(stream_, piece.buffers, use_tuple);
    if (ec) {
      up_.reset();
      co_return false;
    }
    ex_.bytes_out += data.size();
    s_.stats.bytes_to_client.fetch_add(data.size(), std::memory_order_relaxed);
    co_return true;
  }

  // Sends a body held whole in memory, in pieces so each write has its own deadline. The first
  // piece shares its write with the header.
  asio::awaitable<bool> send_buffered(http::response<http::buffer_body>& res, bool header_only,
                                      std::string_view body) {
    constexpr std::size_t piece = 256 * 1024;
    const bool keep = client_keep_alive();
    res.keep_alive(keep);
    if (header_only) body = {};
    std::size_t off = std::min(piece, body.size());
    if (!co_await write_client(body.substr(0, off), off == body.size(), res.base()))
      co_return false;
    for (; off < body.size(); off += piece) {
      const std::string_view part = body.substr(off, piece);
      if (!co_await write_client(part, off + part.size() == body.size(), std::nullopt))
        co_return false;
    }
    co_return keep;
  }

  asio::awaitable<bool> transform_response(const filter::header_decision& d,
                                           const config::route_rule& route, transform_request& treq,
                                           bool header_only) {
    s_.stats.transforms_in_flight.fetch_add(1, std::memory_order_relaxed);
    struct in_flight_guard {
      metrics& m;
      ~in_flight_guard() { m.transforms_in_flight.fetch_sub(1, std::memory_order_relaxed); }
    } guard{s_.stats};

    budget_lease lease = s_.transforms.lease();
    byte_buffer json;
    filter::reason switch_reason = filter::reason::transcoded;
    const std::uint64_t limit = route.max_body_bytes;
    if (const auto cl = up_parser_->content_length()) {
      if (!lease.grow(*cl + transcoder_padding)) switch_reason = filter::reason::overloaded;
      else json.reserve(*cl + transcoder_padding);
    }
    // Buffer the body, up to one read past the route's limit.
    while (switch_reason == filter::reason::transcoded && !upstream_body_done()) {
      if (json.size() > limit) {
        switch_reason = filter::reason::too_large;
        break;
      }
      if (json.capacity() - json.size() < relay_chunk + transcoder_padding) {
        const std::size_t cap =
            std::max(json.capacity() * 2, json.size() + relay_chunk + transcoder_padding);
        if (!lease.grow(cap - json.capacity())) {
          switch_reason = filter::reason::overloaded;
          break;
        }
        json.reserve(cap);
      }
      auto [ec, got] = co_await read_upstream_body(
          reinterpret_cast<char*>(json.data()) + json.size(),
          json.capacity() - json.size() - transcoder_padding);
      json.commit(got);
      if (ec) {
        // Nothing has been sent yet, so the client can be told plainly.
        fail_upstream(is_timeout(ec) ? upstream_error_kind::body_timeout
                                     : upstream_error_kind::body_reset,
                      is_timeout(ec));
        co_return co_await send_upstream_error_now();
      }
    }
    s_.stats.bytes_from_upstream.fetch_add(json.size(), std::memory_order_relaxed);
    if (switch_reason == filter::reason::transcoded && json.size() > limit)
      switch_reason = filter::reason::too_large;

    auto res = response_from_upstream();
    const std::string_view json_text = json.view();
    if (switch_reason != filter::reason::transcoded) {
      // Too large or over budget: what was read goes out first, the rest streams behind it.
      s_.stats.count(switch_reason);
      ex_.reason = filter::reason_token(switch_reason);
      filter::rewrite_passthrough_response(res, d, switch_reason);
      co_return co_await send_streamed(res, header_only, json_text);
    }
    release_upstream();

    // The output needs memory too; past the budget the original goes out instead.
    transform_outcome out;
    filter::reason why = filter::reason::transcoded;
    if (!lease.grow(s_.transforms.output_bytes_bound(json.size()))) {
      why = filter::reason::overloaded;
    } else {
      treq.json = padded_view::of(json);
      co_await s_.transforms.run(treq, out);
      if (!out.transcode.ok()) why = filter::reason_from(out.transcode.error);
    }
    s_.stats.count(why);
    ex_.reason = filter::reason_token(why);
    if (why != filter::reason::transcoded) {
      // Invalid or not representable: the original bytes, exactly as the upstream sent them.
      filter::rewrite_passthrough_response(res, d, why);
      res.erase(http::field::transfer_encoding);
      res.content_length(json_text.size());
      co_return co_await send_buffered(res, header_only, json_text);
    }

    s_.stats.transcode_seconds.observe(out.transcode_seconds);
    s_.stats.compress_seconds.observe(out.compress_seconds);
    s_.stats.transcoded_by_compression[static_cast<std::size_t>(out.compress)].fetch_add(
        1, std::memory_order_relaxed);
    s_.stats.transform_json_bytes.fetch_add(json_text.size(), std::memory_order_relaxed);
    s_.stats.transform_out_bytes.fetch_add(out.body.size(), std::memory_order_relaxed);
    filter::transformed_body tb;
    tb.json_bytes = json_text.size();
    tb.body_bytes = out.body.size();
    tb.compress = out.compress_token;
    tb.content_encoding = out.content_encoding;
    tb.policy_reason = out.policy_reason;
    filter::rewrite_transformed_response(res, tb);
    ex_.decision = "transcoded";
    ex_.compress = out.compress_token;
    co_return co_await send_buffered(res, header_only, out.body.view());
  }

  // ---- answers of the proxy's own --------------------------------------------------------------

  asio::awaitable<bool> send_simple(http::status status, std::string_view text, bool keep) {
    http::response<http::string_body> res{status, ex_.version == 10 ? 10u : 11u};
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::string(text);
    res.prepare_payload();
    res.keep_alive(keep);
    ex_.status = res.result_int();
    ex_.bytes_out += res.body().size();
    stream_.expires_after(milliseconds(cfg_.client_write_timeout_ms));
    auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
    co_return keep && !ec;
  }

  asio::awaitable<void> reject(http::status status, reject_kind kind,
                               clock_type::time_point started) {
    s_.stats.count(kind);
    ex_.decision = "rejected";
    ex_.reason = token(kind);
    std::string text = std::string(http::obsolete_reason(status)) + "\n";
    co_await send_simple(status, text, false);
    log(started);
  }

  asio::awaitable<bool> send_upstream_error_now() {
    ex_.decision = "error";
    ex_.reason = upstream_status_ == http::status::gateway_timeout ? "upstream_timeout"
                                                                   : "upstream_error";
    co_return co_await send_simple(upstream_status_,
                                   upstream_status_ == http::status::gateway_timeout
                                       ? "upstream timed out\n"
                                       : "upstream unavailable\n",
                                   client_keep_alive());
  }

  asio::awaitable<bool> send_upstream_error(clock_type::time_point started) {
    const bool keep = co_await send_upstream_error_now();
    log(started);
    co_return keep;
  }

  void log(clock_type::time_point started) {
    if (!s_.log.enabled()) return;
    access_entry e;
    e.client = client_address_;
    e.method = ex_.method;
    e.target = ex_.target;
    e.status = ex_.status;
    e.decision = ex_.decision;
    e.reason = ex_.reason;
    e.compress = ex_.compress;
    e.bytes_out = ex_.bytes_out;
    e.upstream_ms = ex_.upstream_ms;
    e.total_ms = ms_since(started);
    e.aborted = ex_.aborted;
    s_.log.write(e);
  }

  void abort_client() {
    beast::error_code ig;
    stream_.socket().set_option(asio::socket_base::linger(true, 0), ig);
    stream_.socket().close(ig);
  }

  void close_client() {
    beast::error_code ig;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ig);
    stream_.socket().close(ig);
  }

  static constexpr std::size_t transcoder_padding = 64;
  // up_buffer_'s capacity, the size of the upstream reads that go through the parser.
  static constexpr std::size_t upstream_read_bytes = 16 * 1024;

  shared_state& s_;
  const config::proxy_config& cfg_;
  worker& w_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string client_address_;
  bool peer_trusted_ = false;
  bool idle_ = false;
  exchange_record ex_;
  http::status upstream_status_ = http::status::bad_gateway;

  std::string head_;  // the serialized head of the message being written
  std::optional<http::request_parser<http::empty_body>> req_header_;
  std::optional<http::request_parser<http::buffer_body>> req_body_;
  std::unique_ptr<beast::tcp_stream> up_;
  bool up_direct_ = false;           // the body is Content-Length framed and read past the parser
  std::uint64_t up_remaining_ = 0;   // of such a body, the bytes still to read
  beast::flat_buffer up_buffer_;
  std::optional<http::response_parser<http::buffer_body>> up_parser_;
  std::array<char, relay_chunk> chunk_{};
};

std::unique_ptr<beast::tcp_stream> upstream_pool::take() {
  prune(std::chrono::steady_clock::now());
  if (idle_.empty()) return nullptr;
  std::unique_ptr<beast::tcp_stream> s = std::move(idle_.back().stream);
  idle_.pop_back();
  return s;
}

void upstream_pool::give_back(std::unique_ptr<beast::tcp_stream> stream) {
  prune(std::chrono::steady_clock::now());
  if (max_idle_ == 0) return;
  if (idle_.size() >= max_idle_) idle_.pop_front();
  idle_.push_back({std::move(stream), std::chrono::steady_clock::now()});
}

void upstream_pool::prune(std::chrono::steady_clock::time_point now) {
  while (!idle_.empty() && now - idle_.front().since > idle_timeout_) idle_.pop_front();
}

void start_proxy_session(shared_state& state, worker& w, tcp::socket socket) {
  asio::co_spawn(
      w.ioc,
      [&state, &w, socket = std::move(socket)]() mutable -> asio::awaitable<void> {
        // The session lives in this coroutine's frame, on its worker's thread.
        auto session = std::make_unique<proxy_session>(state, w, std::move(socket));
        try {
          co_await session->run();
        } catch (const std::exception& e) {
          std::fprintf(stderr, "bfast-proxy: session error: %s\n", e.what());
        }
      },
      asio::detached);
}

void close_idle_sessions(worker& w) {
  // Copied: closing a session may end it, which erases it from the set.
  std::vector<proxy_session*> sessions(w.sessions.begin(), w.sessions.end());
  for (proxy_session* s : sessions) s->close_if_idle();
}

}  // namespace bfast::server
