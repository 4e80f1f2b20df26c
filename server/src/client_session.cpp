// One client connection, as a state machine over its exchanges: read a request under the
// header deadline, check it, send it upstream (upstream_client), let the exchange's filter decide
// on the response, then stream the body through or buffer, transform and send it. One coroutine
// per connection; every read and write has a deadline, and every buffer a bound.
#include <chrono>
#include <cstdio>
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
#include "bfast/filter/exchange.hpp"
#include "bfast/filter/headers.hpp"
#include "bfast/filter/network_hints.hpp"
#include "bfast/filter/request_target.hpp"
#include "bfast/filter/rewrite.hpp"
#include "server_state.hpp"
#include "tcp_info.hpp"
#include "upstream_client.hpp"
#include "wire_format.hpp"

namespace bfast::server {
namespace {

namespace http = beast::http;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// The first read of a request; Beast grows the buffer from there up to its bound.
constexpr std::size_t first_read_bytes = 2048;
// Beyond the header limit, what a chunk-size line with extensions or a trailer section may add.
constexpr std::size_t chunk_line_room = 16 * 1024;
// A body held whole goes out in pieces of this size, each write under its own deadline.
constexpr std::size_t send_piece_bytes = 256 * 1024;
// The transcoder reads up to 64 bytes past the JSON's end (simdjson's padding).
constexpr std::size_t transcoder_padding = 64;

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

// The peer went away or stopped sending: nothing to answer.
bool is_connection_error(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || is_timeout(ec) ||
         ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// What one exchange leaves behind for the access log.
struct exchange_record {
  std::string method;
  std::string target;
  unsigned version = 11;
  bool client_keep_alive = true;
  unsigned status = 0;
  std::string_view decision;  // set when the proxy answered itself; else the filter's
  std::string_view reason;
  std::string_view compress;
  std::uint64_t bytes_out = 0;
  double upstream_ms = 0;
  bool aborted = false;
};

// How sending the request went, from the client's side.
enum class request_outcome { sent, client_gone, bad_body, body_too_large, upstream_failed };

// A relay buffer lent by the worker for one exchange.
class relay_lease {
 public:
  explicit relay_lease(relay_buffers& from) : from_(from) {}
  relay_lease(const relay_lease&) = delete;
  relay_lease& operator=(const relay_lease&) = delete;
  ~relay_lease() { from_.give_back(std::move(buffer_)); }
  char* data() {
    if (!buffer_) buffer_ = from_.take();
    return buffer_.get();
  }
  static constexpr std::size_t size() { return relay_buffers::buffer_bytes; }

 private:
  relay_buffers& from_;
  std::unique_ptr<char[]> buffer_;
};

}  // namespace

class proxy_session {
 public:
  proxy_session(shared_state& state, worker& w, tcp::socket socket)
      : s_(state),
        cfg_(state.cfg),
        w_(w),
        stream_(std::move(socket)),
        buffer_(cfg_.max_header_bytes + chunk_line_room),
        up_(state, w) {
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
    up_.abandon();
    s_.trim.note_closing(s_.stats.open_connections.load(std::memory_order_relaxed));
    s_.stats.open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  proxy_session(const proxy_session&) = delete;
  proxy_session& operator=(const proxy_session&) = delete;

  asio::awaitable<void> run() {
    bool first = true;
    for (;;) {
      // Wait for the first byte of the next request under the idle deadline; the header
      // deadline starts with it, so a slow sender cannot hold the connection open. An idle
      // connection keeps no buffers.
      if (buffer_.size() == 0) {
        if (!first && s_.draining.load()) break;
        buffer_.shrink_to_fit();
        up_.shrink();
        idle_ = true;
        stream_.expires_after(milliseconds(first ? cfg_.client_header_timeout_ms
                                                 : cfg_.keepalive_idle_timeout_ms));
        auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_bytes), use_tuple);
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
    filter::exchange_filter ex_filter(s_.stats);
    relay_lease relay(w_.relay);
    const bool keep = co_await exchange(ex_filter, relay);
    if (ex_.status != 0) log(ex_filter, started);
    co_return keep;
  }

  asio::awaitable<bool> exchange(filter::exchange_filter& ex_filter, relay_lease& relay) {
    req_header_.emplace();
    req_header_->header_limit(cfg_.max_header_bytes);
    req_header_->body_limit(cfg_.max_request_body_bytes);
    stream_.expires_after(milliseconds(cfg_.client_header_timeout_ms));
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *req_header_, use_tuple);
    if (ec) {
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        co_return co_await reject(http::status::request_header_fields_too_large,
                                  reject_kind::header_too_large);
      if (ec == http::error::body_limit)
        co_return co_await reject(http::status::payload_too_large, reject_kind::body_too_large);
      if (!is_connection_error(ec))
        co_return co_await reject(http::status::bad_request, reject_kind::bad_request);
      co_return false;
    }
    s_.stats.requests.fetch_add(1, std::memory_order_relaxed);

    auto& req = req_header_->get();
    ex_.method = std::string(req.method_string());
    ex_.target = std::string(req.target());
    ex_.version = req.version();
    ex_.client_keep_alive = req.keep_alive();

    // Request smuggling: the framing must be unambiguous before a byte goes upstream.
    if (filter::check_request_framing(req, req.version()) != filter::framing_error::none)
      co_return co_await reject(http::status::bad_request, reject_kind::smuggling);
    const filter::request_destination dest =
        filter::check_destination(req, req.target(), req.version());
    if (dest.error != filter::host_error::none)
      co_return co_await reject(http::status::bad_request, reject_kind::bad_host);
    if (req.method() == http::verb::connect)
      co_return co_await reject(http::status::method_not_allowed, reject_kind::method_not_allowed);
    // An HTTP/1.0 client cannot take an interim response (RFC 9110 §10.1.1): its Expect is
    // ignored.
    bool expect_continue = false;
    if (req.count(http::field::expect) > 0 && req.version() >= 11) {
      if (!beast::iequals(filter::combined_value(req, http::field::expect), "100-continue"))
        co_return co_await reject(http::status::expectation_failed, reject_kind::expectation_failed);
      expect_continue = true;
    }
    const auto content_length = req_header_->content_length();
    const bool chunked_body = req_header_->chunked();
    const bool has_body = chunked_body || (content_length && *content_length > 0);
    if (content_length && *content_length > cfg_.max_request_body_bytes)
      co_return co_await reject(http::status::payload_too_large, reject_kind::body_too_large);

    const config::route_rule& route = cfg_.route_for(dest.absolute_form ? dest.origin_target
                                                                        : std::string(req.target()));
    ex_filter.on_request(filter::combined_value(req, http::field::accept),
                      filter::route_facts{route.enabled, route.max_body_bytes});
    const bool negotiated = ex_filter.negotiated();
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
    if (dest.absolute_form) {
      ureq.target(dest.origin_target);
      ureq.set(http::field::host, dest.authority);
    }
    filter::forward_info info;
    info.client_address = client_address_;
    info.peer_trusted = peer_trusted_;
    info.negotiated = negotiated;
    filter::rewrite_request_for_upstream(ureq, info);
    if (chunked_body) ureq.chunked(true);
    else if (content_length) ureq.content_length(*content_length);

    const bool head_upstream = client_head && !head_via_get;
    bool body_unread = false;  // the upstream answered before the body was all read
    if (!co_await up_.send_head(ureq.base(), retryable)) co_return co_await send_upstream_error();
    if (has_body) {
      const request_outcome sent = co_await send_request_body(chunked_body, expect_continue, relay);
      switch (sent) {
        case request_outcome::sent:
          break;
        case request_outcome::client_gone:
          // nginx's 499: the client closed the connection before its request was whole.
          up_.abandon();
          ex_.status = 499;
          ex_.decision = "error";
          ex_.reason = "client_closed";
          co_return false;
        case request_outcome::bad_body:
          up_.abandon();
          co_return co_await reject(http::status::bad_request, reject_kind::bad_chunked);
        case request_outcome::body_too_large:
          up_.abandon();
          co_return co_await reject(http::status::payload_too_large, reject_kind::body_too_large);
        case request_outcome::upstream_failed:
          // An upstream may answer (413, 401, ...) before reading the whole body, and may
          // close too: its answer is relayed, and the client connection closes after it.
          body_unread = up_.answered_early();
          if (!body_unread && !up_.failure().timed_out)
            body_unread = co_await up_.read_early_answer(head_upstream);
          if (!body_unread) co_return co_await send_upstream_error(false);
          break;
      }
    }
    if (!body_unread) {
      const bool answered = co_await up_.read_header(head_upstream);
      if (!answered) co_return co_await send_upstream_error(!has_body);
    }
    ex_.upstream_ms = up_.header_latency_ms();
    if (body_unread) ex_.client_keep_alive = false;

    auto& ures = up_.parser().get();
    const filter::header_decision d = ex_filter.on_response_header(ures.result_int(), ures);
    if (!d.transform) co_return co_await send_streamed(client_head, {}, relay);
    treq.json = {};
    co_return co_await transform_response(ex_filter, route, treq, client_head, relay);
  }

  filter::client_network client_network_of(const http::fields& req) {
    const filter::ingress_rule ingress{peer_trusted_, cfg_.client_rtt_header};
    std::optional<filter::socket_measure> socket;
    if (!peer_trusted_) {
      socket.emplace();
      if (const auto m = read_tcp_info(stream_.socket().native_handle())) {
        if (m->rtt_us > 0) socket->rtt_ms = (m->rtt_us + 500) / 1000;
        if (m->delivery_rate_bps > 0) socket->delivery_kbps = m->delivery_rate_bps * 8 / 1000;
        if (m->window_bytes > 0) socket->window_bytes = m->window_bytes;
      }
    }
    return filter::network_of(req, ingress, socket);
  }

  // The request body, relayed piece by piece as it arrives. The idle deadline restarts with
  // every byte received, so a slow but live sender is never cut.
  asio::awaitable<request_outcome> send_request_body(bool chunked, bool expect_continue,
                                                     relay_lease& relay) {
    if (expect_continue) {
      static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(milliseconds(cfg_.client_write_timeout_ms));
      auto [ec, n] = co_await asio::async_write(
          stream_, asio::buffer(continue_line.data(), continue_line.size()), use_tuple);
      if (ec) co_return request_outcome::client_gone;
    }
    req_body_.emplace(std::move(*req_header_));
    req_body_->body_limit(cfg_.max_request_body_bytes);
    char* const data = relay.data();
    while (!req_body_->is_done()) {
      req_body_->get().body().data = data;
      req_body_->get().body().size = relay.size();
      stream_.expires_after(milliseconds(cfg_.client_body_idle_timeout_ms));
      auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *req_body_, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == http::error::body_limit) co_return request_outcome::body_too_large;
      if (ec) {
        // A framing error is the client's to hear about; a vanished peer hears nothing.
        co_return is_connection_error(ec) ? request_outcome::client_gone : request_outcome::bad_body;
      }
      const std::size_t got = relay.size() - req_body_->get().body().size;
      const body_piece piece({}, {data, got}, chunked, req_body_->is_done());
      if (piece.empty()) continue;
      if (!co_await up_.send_body(piece)) co_return request_outcome::upstream_failed;
    }
    co_return request_outcome::sent;
  }

  // ---- responses -----------------------------------------------------------------------------

  // The upstream's header moves into the client's response; the parser keeps its framing state.
  http::response<http::buffer_body> response_from_upstream() {
    http::response<http::buffer_body> res(std::move(up_.parser().get().base()));
    res.version(ex_.version);
    ex_.status = res.result_int();
    return res;
  }

  bool client_keep_alive() const { return ex_.client_keep_alive && !s_.draining.load(); }

  // Streams the upstream body (after `prefix`, bytes already read from it) to the client.
  // Returns whether the client connection can carry another request.
  asio::awaitable<bool> send_streamed(bool header_only, std::string_view prefix,
                                      relay_lease& relay) {
    auto res = response_from_upstream();
    const unsigned status = res.result_int();
    const bool status_has_body = !(status / 100 == 1 || status == 204 || status == 304);
    bool keep = client_keep_alive();
    const bool body_pending = !up_.body_done() || !prefix.empty();

    if (header_only || !status_has_body || !body_pending) {
      if (!header_only && status_has_body && res.count(http::field::content_length) == 0)
        res.content_length(0);
      res.keep_alive(keep);
      // An unread body (a HEAD answered from a GET) makes the upstream connection unusable.
      up_.release();
      co_return co_await write_client({}, true, &res.base()) && keep;
    }

    bool chunked = false;
    if (res.count(http::field::content_length) == 0) {
      if (ex_.version >= 11) {
        chunked = true;
        res.chunked(true);
      } else {
        keep = false;  // HTTP/1.0: the end of the connection ends the body
      }
    }
    res.keep_alive(keep);
    // Body bytes that came in with the upstream's header go out in the same write as the
    // response header: one segment for a small response, and no delayed-ACK stall between two.
    char* const data = relay.data();
    std::string_view piece = prefix;
    if (piece.empty() && up_.has_buffered_body() && !up_.body_done()) {
      auto [ec, got] = co_await up_.read_body(data, relay.size());
      if (ec) {
        // Nothing has gone to the client yet, so it can be told plainly.
        s_.stats.count(is_timeout(ec) ? upstream_error_kind::body_timeout
                                      : upstream_error_kind::body_reset);
        up_.abandon();
        co_return co_await send_upstream_error_status(is_timeout(ec));
      }
      s_.stats.bytes_from_upstream.fetch_add(got, std::memory_order_relaxed);
      piece = {data, got};
    }
    bool done = up_.body_done();
    if (!co_await write_client(piece, done, &res.base(), chunked)) co_return false;
    while (!done) {
      auto [ec, got] = co_await up_.read_body(data, relay.size());
      if (ec) co_return abort_on_upstream_body_error(ec);
      s_.stats.bytes_from_upstream.fetch_add(got, std::memory_order_relaxed);
      done = up_.body_done();
      if (!co_await write_client({data, got}, done, nullptr, chunked)) co_return false;
    }
    up_.release();
    co_return keep;
  }

  // The upstream body ended early, went idle or broke its framing: finishing the response would
  // present a truncated body as complete, so the client connection is reset instead.
  bool abort_on_upstream_body_error(const beast::error_code& ec) {
    s_.stats.count(is_timeout(ec) ? upstream_error_kind::body_timeout
                                  : upstream_error_kind::body_reset);
    s_.stats.responses_aborted.fetch_add(1, std::memory_order_relaxed);
    ex_.aborted = true;
    up_.abandon();
    abort_client();
    return false;
  }

  // One write to the client under its deadline: the response head when given, then `data`.
  asio::awaitable<bool> write_client(std::string_view data, bool last,
                                     const http::response_header<>* head, bool chunked = false) {
    head_.clear();
    if (head) append_head(head_, *head);
    const body_piece piece(head_, data, chunked, last);
    if (piece.empty()) co_return true;
    stream_.expires_after(milliseconds(cfg_.client_write_timeout_ms));
    auto [ec, n] = co_await asio::async_write(stream_, piece.buffers(), use_tuple);
    if (ec) {
      up_.abandon();
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
    const bool keep = client_keep_alive();
    res.keep_alive(keep);
    if (header_only) body = {};
    std::size_t off = std::min(send_piece_bytes, body.size());
    if (!co_await write_client(body.substr(0, off), off == body.size(), &res.base()))
      co_return false;
    for (; off < body.size(); off += send_piece_bytes) {
      const std::string_view part = body.substr(off, send_piece_bytes);
      if (!co_await write_client(part, off + part.size() == body.size(), nullptr)) co_return false;
    }
    co_return keep;
  }

  asio::awaitable<bool> transform_response(filter::exchange_filter& ex_filter,
                                           const config::route_rule& route,
                                           transform_request& treq, bool header_only,
                                           relay_lease& relay) {
    s_.stats.transforms_in_flight.fetch_add(1, std::memory_order_relaxed);
    struct in_flight_guard {
      metrics& m;
      ~in_flight_guard() { m.transforms_in_flight.fetch_sub(1, std::memory_order_relaxed); }
    } guard{s_.stats};

    budget_lease lease = s_.transforms.lease();
    byte_buffer json;
    filter::reason switch_reason = filter::reason::transcoded;
    const std::uint64_t limit = route.max_body_bytes;
    if (const auto cl = up_.parser().content_length()) {
      if (!lease.grow(*cl + transcoder_padding)) switch_reason = filter::reason::overloaded;
      else json.reserve(*cl + transcoder_padding);
    }
    // Buffer the body, up to one read past the route's limit.
    while (switch_reason == filter::reason::transcoded && !up_.body_done()) {
      if (json.size() > limit) {
        switch_reason = filter::reason::too_large;
        break;
      }
      if (json.capacity() - json.size() < relay_lease::size() + transcoder_padding) {
        const std::size_t cap =
            std::max(json.capacity() * 2, json.size() + relay_lease::size() + transcoder_padding);
        if (!lease.grow(cap - json.capacity())) {
          switch_reason = filter::reason::overloaded;
          break;
        }
        json.reserve(cap);
      }
      auto [ec, got] = co_await up_.read_body(reinterpret_cast<char*>(json.data()) + json.size(),
                                              json.capacity() - json.size() - transcoder_padding);
      json.commit(got);
      if (ec) {
        // Nothing has been sent yet, so the client can be told plainly.
        s_.stats.count(is_timeout(ec) ? upstream_error_kind::body_timeout
                                      : upstream_error_kind::body_reset);
        up_.abandon();
        co_return co_await send_upstream_error_status(is_timeout(ec));
      }
    }
    s_.stats.bytes_from_upstream.fetch_add(json.size(), std::memory_order_relaxed);
    if (switch_reason == filter::reason::transcoded && json.size() > limit)
      switch_reason = filter::reason::too_large;

    const std::string_view json_text = json.view();
    if (switch_reason != filter::reason::transcoded) {
      // Too large or over budget: what was read goes out first, the rest streams behind it.
      ex_filter.pass_body(switch_reason, up_.parser().get());
      co_return co_await send_streamed(header_only, json_text, relay);
    }
    auto res = response_from_upstream();
    up_.release();

    // The output needs memory too; past the budget the original goes out instead.
    transform_outcome out;
    filter::reason why = filter::reason::transcoded;
    if (!lease.grow(s_.transforms.output_bytes_bound(json_text.size()))) {
      why = filter::reason::overloaded;
    } else {
      treq.json = padded_view::of(json);
      co_await s_.transforms.run(treq, out);
      if (!out.transcode.ok()) why = filter::reason_from(out.transcode.error);
    }
    if (why != filter::reason::transcoded) {
      // Invalid or not representable: the original bytes, exactly as the upstream sent them.
      ex_filter.pass_body(why, res);
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
    ex_filter.transformed(res, tb);
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

  // A 4xx of the proxy's own, then close: what follows on the connection cannot be trusted.
  asio::awaitable<bool> reject(http::status status, reject_kind kind) {
    s_.stats.count(kind);
    ex_.decision = "rejected";
    ex_.reason = token(kind);
    co_await send_simple(status, std::string(http::obsolete_reason(status)) + "\n", false);
    co_return false;
  }

  asio::awaitable<bool> send_upstream_error_status(bool timed_out, bool keep_ok = true) {
    ex_.decision = "error";
    ex_.reason = timed_out ? "upstream_timeout" : "upstream_error";
    co_return co_await send_simple(
        timed_out ? http::status::gateway_timeout : http::status::bad_gateway,
        timed_out ? "upstream timed out\n" : "upstream unavailable\n",
        keep_ok && client_keep_alive());
  }

  // `keep_ok`: the request was read whole, so the connection may carry the next one.
  asio::awaitable<bool> send_upstream_error(bool keep_ok = true) {
    co_return co_await send_upstream_error_status(up_.failure().timed_out, keep_ok);
  }

  void log(const filter::exchange_filter& ex_filter, clock_type::time_point started) {
    if (!s_.log.enabled()) return;
    access_entry e;
    e.client = client_address_;
    e.method = ex_.method;
    e.target = ex_.target;
    e.status = ex_.status;
    e.decision = ex_.decision.empty() ? ex_filter.decision_token() : ex_.decision;
    e.reason = ex_.decision.empty() ? ex_filter.reason_token() : ex_.reason;
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

  shared_state& s_;
  const config::proxy_config& cfg_;
  worker& w_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // bounded: header limit plus one chunk line or trailer section
  std::string client_address_;
  bool peer_trusted_ = false;
  bool idle_ = false;
  exchange_record ex_;
  std::string head_;  // the serialized head of the response being written
  std::optional<http::request_parser<http::empty_body>> req_header_;
  std::optional<http::request_parser<http::buffer_body>> req_body_;
  upstream_client up_;
};

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
