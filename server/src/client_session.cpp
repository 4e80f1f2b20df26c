// The request side of a client connection: the idle wait, reading and checking a request,
// sending it and its body upstream, and the answers the proxy gives by itself.
#include "client_session.hpp"

#include <sys/socket.h>

#include <array>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <random>
#include <utility>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "bfast/config/cidr.hpp"
#include "bfast/filter/accept.hpp"
#include "bfast/filter/client_decoder.hpp"
#include "bfast/filter/forwarded.hpp"
#include "bfast/filter/headers.hpp"
#include "bfast/filter/request_id.hpp"
#include "bfast/filter/request_target.hpp"
#include "bfast/filter/rewrite.hpp"
#include "h2_session.hpp"
#include "tcp_info.hpp"
#include "tunnel.hpp"
#include "wire_format.hpp"

namespace bfast::server {
namespace {

namespace http = beast::http;
using std::chrono::milliseconds;

// The first read of a request; Beast grows the buffer from there up to its bound.
constexpr std::size_t first_read_bytes = 2048;
// Beyond the header limit, what a chunk-size line with extensions or a trailer section may add.
constexpr std::size_t chunk_line_room = 16 * 1024;

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

// One generator per I/O thread, seeded once from the kernel: an id costs no system call.
std::string new_request_id() {
  thread_local filter::request_id_generator generator([] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }());
  return generator.next();
}

// The Date header's text changes once a second: each thread formats it once per second.
const std::string& current_http_date() {
  thread_local std::time_t formatted_at = -1;
  thread_local std::string text;
  const std::time_t now = std::time(nullptr);
  if (now != formatted_at) {
    formatted_at = now;
    text = filter::http_date(now);
  }
  return text;
}

// A client's id, if it sent exactly one that is sane; otherwise a new one.
std::string request_id_of(const http::fields& req) {
  const auto range = req.equal_range(filter::request_id_header);
  if (range.first != range.second && std::next(range.first) == range.second &&
      filter::acceptable_request_id(range.first->value()))
    return std::string(range.first->value());
  return new_request_id();
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::size_t route_slot_of(metrics& m, const config::proxy_config& cfg,
                          const config::route_rule& route) {
  for (const config::route_rule& r : cfg.routes)
    if (&r == &route) return m.routes.slot_of(route.prefix);
  return route_labels::none;
}

// An exchange that ended in a response: its decision and reason as the access log names them,
// the coding standing for the reason of a transformed body.
void count_exchange(metrics& m, const exchange_record& ex, const filter::exchange_filter& f,
                    std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const bool own = !ex.decision.empty();
  const std::string_view decision = own ? ex.decision : f.decision_token();
  const std::string_view reason =
      own ? ex.reason
          : f.result() == filter::exchange_filter::outcome::passthrough ? filter::reason_token(f.why())
                                                                       : ex.compress;
  m.count_exchange(ex.route_slot, decision, reason, seconds);
  // A client that closed first was written nothing.
  if (!(own && ex.reason == "client_closed")) m.count_response(ex.route_slot, ex.status);
}

}  // namespace

proxy_session::proxy_session(shared_state& state, worker& w, tcp_socket socket)
    : s_(state),
      cfg_(w.cfg),
      w_(w),
      stream_(std::move(socket)),
      buffer_(cfg_->max_header_bytes + chunk_line_room),
      up_(state, w, cfg_) {
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
  peer_trusted_ = config::any_contains(cfg_->trusted_ranges, client_address_);
  stream_.socket().set_option(tcp::no_delay(true), ec);
  tcp_info_fd_ = static_cast<int>(stream_.socket().native_handle());
}

proxy_session::proxy_session(shared_state& state, worker& w, stream_pipe_end end,
                             std::string client_address, int tcp_info_fd, bool client_tls)
    : s_(state),
      cfg_(w.cfg),
      w_(w),
      stream_(w.ioc.get_executor(), std::move(end)),
      buffer_(cfg_->max_header_bytes + chunk_line_room),
      client_address_(std::move(client_address)),
      h2_stream_(true),
      client_tls_(client_tls),
      tcp_info_fd_(tcp_info_fd),
      up_(state, w, cfg_) {
  peer_trusted_ = config::any_contains(cfg_->trusted_ranges, client_address_);
}

proxy_session::~proxy_session() {
  up_.abandon();
  // A stream's exchange is not a connection: the HTTP/2 connection's session counts that.
  if (h2_stream_) return;
  w_.sessions.erase(this);
  s_.trim.note_closing(s_.stats.open_connections.load(std::memory_order_relaxed));
  s_.stats.open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void proxy_session::close_if_idle() {
  if (h2_) h2_->drain();
  else if (idle_) stream_.close();
}

task<void> proxy_session::run() {
  const tls_context_ptr ctx = h2_stream_ ? nullptr : w_.tls->listener;
  if (ctx) {
    const bool secured = co_await accept_tls(ctx);
    if (!secured) {
      stream_.close();
      co_return;
    }
    client_tls_ = true;
    if (negotiated_alpn(stream_.ssl()) == "h2") {
      co_await serve_h2({});
      co_return;
    }
  }
  bool first = true;
  for (;;) {
    // Wait for the first byte of the next request under the idle deadline; the header
    // deadline starts with it, so a slow sender cannot hold the connection open. An idle
    // connection keeps no buffers.
    if (buffer_.size() == 0) {
      if (!first && s_.draining.load()) break;
      buffer_.shrink_to_fit();
      head_.clear();
      head_.shrink_to_fit();
      up_.shrink();
      idle_ = true;
      stream_.expires_after(milliseconds(first ? cfg_->client_header_timeout_ms
                                               : cfg_->keepalive_idle_timeout_ms));
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_bytes), use_tuple);
      idle_ = false;
      if (ec) break;
      buffer_.commit(n);
      if (first && !ctx && !h2_stream_ && cfg_->http2 && co_await starts_h2c()) {
        const auto data = buffer_.data();
        std::string initial(static_cast<const char*>(data.data()), data.size());
        buffer_.clear();
        buffer_.shrink_to_fit();
        co_await serve_h2(std::move(initial));
        co_return;
      }
    }
    first = false;
    if (!co_await handle_request()) break;
  }
  close_client();
}

task<bool> proxy_session::starts_h2c() {
  for (;;) {
    const auto data = buffer_.data();
    const int preface =
        h2_connection::starts_with_preface({static_cast<const char*>(data.data()), data.size()});
    if (preface >= 0) co_return preface == 1;
    auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(first_read_bytes), use_tuple);
    if (ec) co_return false;
    buffer_.commit(n);
  }
}

task<void> proxy_session::serve_h2(std::string initial) {
  h2_session h2(s_, w_, stream_, client_address_);
  h2_ = &h2;
  if (s_.draining.load()) h2.drain();
  co_await h2.run(std::move(initial));
  h2_ = nullptr;
}

task<bool> proxy_session::accept_tls(const tls_context_ptr& ctx) {
  using namespace asio::experimental::awaitable_operators;
  const auto limit = milliseconds(cfg_->tls_handshake_timeout_ms);
  stream_.expires_after(limit);
  steady_timer deadline(stream_.get_executor(), limit);
  auto first = co_await (stream_.socket().async_wait(tcp::socket::wait_read, use_tuple) ||
                         deadline.async_wait(use_tuple));
  if (first.index() == 1) {
    s_.stats.count(tls_handshake_result::timeout);
    co_return false;
  }
  unsigned char byte = 0;
  const ssize_t got = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (got <= 0) co_return false;
  // Every TLS connection opens with a handshake record (content type 22).
  if (byte != 0x16) {
    s_.stats.count(tls_handshake_result::plain_http);
    s_.stats.count_response(route_labels::none, 400);
    static constexpr std::string_view answer =
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 40\r\nConnection: close\r\n\r\n"
        "plain HTTP request sent to the TLS port\n";
    auto [ec, n] = co_await asio::async_write(stream_.tcp(), asio::buffer(answer), use_tuple);
    if (!ec) {
      // A lingering close, so the answer is not lost to a reset over unread request bytes.
      stream_.shutdown_send();
      std::array<char, 4096> sink;
      for (std::size_t drained = 0; drained < 64 * 1024;) {
        auto [rec, m] = co_await stream_.tcp().async_read_some(asio::buffer(sink), use_tuple);
        if (rec) break;
        drained += m;
      }
    }
    stream_.close();
    co_return false;
  }
  if (!stream_.start_tls(ctx, tls_role::server)) {
    s_.stats.count(tls_handshake_result::failed);
    co_return false;
  }
  auto [ec, n] = co_await stream_.async_handshake(use_tuple);
  if (ec) {
    s_.stats.count(is_timeout(ec) ? tls_handshake_result::timeout : tls_handshake_result::failed);
    co_return false;
  }
  s_.stats.count(tls_handshake_result::ok);
  co_return true;
}

task<bool> proxy_session::handle_request() {
  const auto started = clock_type::now();
  ex_ = exchange_record{};
  if (cfg_ != w_.cfg) {
    // Reloaded since the last exchange: this one and the next take the new configuration.
    cfg_ = w_.cfg;
    peer_trusted_ = config::any_contains(cfg_->trusted_ranges, client_address_);
  }
  filter::exchange_filter ex_filter;
  relay_lease relay(w_.relay);
  const bool keep = co_await exchange(ex_filter, relay);
  if (ex_.status != 0) {
    count_exchange(s_.stats, ex_, ex_filter, started);
    log(ex_filter, started);
  }
  co_return keep;
}

task<bool> proxy_session::exchange(filter::exchange_filter& ex_filter, relay_lease& relay) {
  req_header_.emplace();
  req_header_->header_limit(cfg_->max_header_bytes);
  req_header_->body_limit(cfg_->max_request_body_bytes);
  stream_.expires_after(milliseconds(cfg_->client_header_timeout_ms));
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
  if (cfg_->request_id) ex_.request_id = request_id_of(req);
  // Copied only for the access log: the header moves upstream before the line is written.
  if (s_.log.enabled()) {
    ex_.method = std::string(req.method_string().substr(0, max_logged_field_bytes));
    ex_.target = std::string(req.target().substr(0, max_logged_target_bytes));
    ex_.user_agent = std::string(req[http::field::user_agent].substr(0, max_logged_field_bytes));
    if (peer_trusted_) {
      std::string real = filter::real_client_address(
          filter::combined_value(req, "X-Forwarded-For"), client_address_,
          [this](std::string_view a) { return config::any_contains(cfg_->trusted_ranges, a); });
      if (real != client_address_) ex_.real_client = std::move(real);
    }
  }
  ex_.version = req.version();
  ex_.client_keep_alive = req.keep_alive();

  if (req.method() == http::verb::connect)
    co_return co_await reject(http::status::method_not_allowed, reject_kind::method_not_allowed);
  // Request smuggling: the framing must be unambiguous before a byte goes upstream.
  if (filter::check_request_framing(req, req.version()) != filter::framing_error::none)
    co_return co_await reject(http::status::bad_request, reject_kind::smuggling);
  const filter::request_destination dest =
      filter::check_destination(req, req.target(), req.version(),
                                req.method() == http::verb::options);
  if (dest.error != filter::host_error::none)
    co_return co_await reject(http::status::bad_request, reject_kind::bad_host);
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
  if (content_length && *content_length > cfg_->max_request_body_bytes)
    co_return co_await reject(http::status::payload_too_large, reject_kind::body_too_large);

  const config::route_rule& route = cfg_->route_for(dest.absolute_form ? std::string_view(dest.origin_target)
                                                                      : std::string_view(req.target()));
  ex_.route_slot = route_slot_of(s_.stats, *cfg_, route);
  // An upgrade goes through as nginx takes one: a GET without a body, on a route that allows
  // it. Any other Upgrade is stripped on the way up and the request served as plain HTTP.
  const std::string upgrade = filter::upgrade_protocols(req, req.version());
  const bool upgrade_asked =
      !upgrade.empty() && route.upgrades && req.method() == http::verb::get && !has_body;
  tunnel_slot slot;
  if (upgrade_asked && !slot.take(s_.tunnel_slots, cfg_->max_tunnels)) {
    s_.stats.tunnels_refused.fetch_add(1, std::memory_order_relaxed);
    ex_.decision = "rejected";
    ex_.reason = "too_many_tunnels";
    // Closed after: the client may already be sending the new protocol's bytes.
    co_return co_await send_simple(http::status::service_unavailable, "too many tunnels\n", false);
  }
  const bool has_ae = req.count(http::field::accept_encoding) > 0;
  const std::string accept_encoding =
      has_ae ? filter::combined_value(req, http::field::accept_encoding) : std::string();
  const bool accept_gzip = filter::coding_acceptable(accept_encoding, has_ae, "gzip");
  const bool accept_zstd = filter::coding_acceptable(accept_encoding, has_ae, "zstd");
  {
    const std::string accept = filter::combined_value(req, http::field::accept);
    const std::string if_none_match = filter::combined_value(req, http::field::if_none_match);
    filter::request_facts rf;
    rf.accept = accept;
    rf.has_accept = req.count(http::field::accept) > 0;
    rf.coding_accepted = accept_gzip || accept_zstd;
    rf.if_none_match = if_none_match;
    ex_filter.on_request(rf, filter::route_facts{route.enabled, route.max_body_bytes,
                                                 route.negotiation_rule, route.compress_json});
  }
  const bool negotiated = ex_filter.negotiated();
  const bool chooses = ex_filter.chooses();
  const bool client_head = req.method() == http::verb::head;
  // A HEAD for a chosen representation must carry its Content-Length and ETag, which only the
  // body gives: ask the upstream for the GET and send no body.
  const bool head_via_get = chooses && client_head;

  transform_request treq;
  treq.pack_floats = route.pack_floats;
  treq.mode = route.compress;
  treq.client = route.client;
  treq.rule = route.negotiation_rule;
  treq.accept_bfast = negotiated;
  treq.accept_json = ex_filter.json_acceptable();
  if (chooses) {
    // Only a choice asks the policy, so a pass-through costs no TCP_INFO call.
    treq.network = client_network_of(req);
    treq.accept_gzip = accept_gzip;
    treq.accept_zstd = accept_zstd;
    const auto decoder = req.find(filter::client_decoder_header);
    if (decoder != req.end()) treq.client = filter::client_speeds_of(decoder->value(), route.client);
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
  info.proto = client_tls_ ? "https" : "http";
  info.negotiated = negotiated;
  info.json_acceptable = ex_filter.json_acceptable();
  filter::rewrite_request_for_upstream(ureq, info);
  if (!ex_.request_id.empty()) ureq.set(filter::request_id_header, ex_.request_id);
  if (upgrade_asked) filter::restore_upgrade_request(ureq, upgrade);
  if (chunked_body) ureq.chunked(true);
  else if (content_length) ureq.content_length(*content_length);

  // A B-FAST body on a route that converts them is read whole and goes up as JSON.
  const filter::request_body_decision body_plan =
      filter::decide_request_body(ureq, has_body, route.decode_requests);
  if (body_plan.action == filter::request_body_action::unsupported_encoding)
    co_return co_await refuse_request_body(http::status::unsupported_media_type,
                                           "unsupported_encoding", false);
  const bool converting = body_plan.action == filter::request_body_action::decode;
  budget_lease request_lease = s_.transforms.lease();
  std::string request_json;
  if (converting) {
    if (const auto answered = co_await convert_request_body(ureq, body_plan, route, expect_continue,
                                                            request_lease, request_json))
      co_return *answered;
  }

  const bool head_upstream = client_head && !head_via_get;
  bool body_unread = false;  // the upstream answered before the body was all read
  // Failing before the body was read, the connection cannot carry another request: the unread
  // body would be taken for one.
  if (!co_await up_.send_head(ureq.base(), retryable))
    co_return co_await send_upstream_error(!has_body);
  if (has_body) {
    const request_outcome sent = converting
                                     ? co_await send_converted_body(request_json)
                                     : co_await send_request_body(chunked_body, expect_continue,
                                                                  relay);
    request_json = std::string();
    request_lease.release();
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
      case request_outcome::overloaded:  // only a body read for conversion, answered before
        up_.abandon();
        co_return co_await refuse_request_body(http::status::service_unavailable, "overloaded",
                                               false);
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
  // Only an Upgrade the proxy sent can bring a 101 this far (upstream_client).
  if (ures.result_int() == 101) co_return co_await switch_protocols();
  const filter::header_decision d = ex_filter.on_response_header(ures.result_int(), ures);
  if (!d.transform) co_return co_await send_streamed(client_head, {}, relay);
  treq.json = {};
  co_return co_await transform_response(ex_filter, route, treq, client_head, relay);
}

task<bool> proxy_session::switch_protocols() {
  auto res = response_from_upstream();
  filter::rewrite_switching_response(res);
  ex_.decision = "tunnel";
  std::string upstream_pending;
  byte_stream& upstream = up_.switch_protocols(upstream_pending);
  if (!co_await write_client({}, true, &res.base())) {
    ex_.reason = "client_gone";
    co_return false;
  }
  // What the client sent after its request is the new protocol's, never HTTP to parse.
  const auto pending = buffer_.data();
  std::string client_pending(static_cast<const char*>(pending.data()), pending.size());
  buffer_.clear();
  buffer_.shrink_to_fit();
  head_.clear();
  head_.shrink_to_fit();
  up_.shrink();
  stream_.expires_never();
  const tunnel_result r = co_await run_tunnel(
      stream_, upstream, std::move(client_pending), std::move(upstream_pending),
      w_.relay, milliseconds(cfg_->tunnel_idle_timeout_ms), s_.stats);
  ex_.bytes_out += r.bytes_to_client;
  ex_.aborted = r.broken;
  ex_.reason = r.idle_closed ? "idle_timeout" : r.broken ? "broken" : "closed";
  co_return false;
}

filter::client_network proxy_session::client_network_of(const http::fields& req) {
  const filter::ingress_rule ingress{peer_trusted_, cfg_->client_rtt_header};
  std::optional<filter::socket_measure> socket;
  if (!peer_trusted_) {
    socket.emplace();
    if (const auto m = read_tcp_info(tcp_info_fd_)) {
      if (m->rtt_us > 0) socket->rtt_ms = (m->rtt_us + 500) / 1000;
      if (m->delivery_rate_bps > 0) socket->delivery_kbps = m->delivery_rate_bps * 8 / 1000;
      if (m->window_bytes > 0) socket->window_bytes = m->window_bytes;
    }
  }
  return filter::network_of(req, ingress, socket);
}

task<bool> proxy_session::send_continue() {
  static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
  stream_.expires_after(milliseconds(cfg_->client_write_timeout_ms));
  auto [ec, n] = co_await asio::async_write(
      stream_, asio::buffer(continue_line.data(), continue_line.size()), use_tuple);
  if (!ec) s_.stats.count_response(ex_.route_slot, 100);
  co_return !ec;
}

task<request_outcome> proxy_session::read_request_body(bool expect_continue, std::uint64_t limit,
                                                       byte_buffer& body, budget_lease& lease) {
  if (expect_continue && !co_await send_continue()) co_return request_outcome::client_gone;
  req_body_.emplace(std::move(*req_header_));
  req_body_->body_limit(limit);
  while (!req_body_->is_done()) {
    // Grown in doubling steps, each leased before it is allocated.
    if (body.capacity() - body.size() < relay_lease::size()) {
      const std::size_t cap = std::max(body.capacity() * 2, body.size() + relay_lease::size());
      if (!lease.grow(cap - body.capacity())) co_return request_outcome::overloaded;
      body.reserve(cap);
    }
    const std::size_t room = body.capacity() - body.size();
    req_body_->get().body().data = body.data() + body.size();
    req_body_->get().body().size = room;
    stream_.expires_after(milliseconds(cfg_->client_body_idle_timeout_ms));
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *req_body_, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) co_return request_outcome::body_too_large;
    if (ec)
      co_return is_connection_error(ec) ? request_outcome::client_gone : request_outcome::bad_body;
    body.commit(room - req_body_->get().body().size);
  }
  co_return request_outcome::sent;
}

task<request_outcome> proxy_session::send_request_body(bool chunked, bool expect_continue,
                                                       relay_lease& relay) {
  if (expect_continue && !co_await send_continue()) co_return request_outcome::client_gone;
  req_body_.emplace(std::move(*req_header_));
  req_body_->body_limit(cfg_->max_request_body_bytes);
  char* const data = relay.data();
  // Only bytes from the client restart the idle deadline; what the upstream sends does not.
  steady_timer idle(stream_.get_executor(), milliseconds(cfg_->client_body_idle_timeout_ms));
  while (!req_body_->is_done()) {
    if (buffer_.size() == 0) {
      // Waiting for the client, the upstream is watched too: it may answer (413, 401, ...)
      // before the body is whole, and that answer must not wait for a client that paused.
      using namespace asio::experimental::awaitable_operators;
      auto won = co_await (stream_.async_wait_readable(use_tuple) || up_.wait_readable() ||
                           idle.async_wait(use_tuple));
      if (won.index() == 1) {
        const bool interim = co_await up_.read_interim();
        if (!interim) co_return request_outcome::upstream_failed;
        continue;
      }
      if (won.index() == 2) co_return request_outcome::client_gone;
    }
    req_body_->get().body().data = data;
    req_body_->get().body().size = relay.size();
    stream_.expires_after(milliseconds(cfg_->client_body_idle_timeout_ms));
    auto [ec, n] = co_await http::async_read_some(stream_, buffer_, *req_body_, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec == http::error::body_limit) co_return request_outcome::body_too_large;
    if (ec) {
      // A framing error is the client's to hear about; a vanished peer hears nothing.
      co_return is_connection_error(ec) ? request_outcome::client_gone : request_outcome::bad_body;
    }
    const std::size_t got = relay.size() - req_body_->get().body().size;
    idle.expires_after(milliseconds(cfg_->client_body_idle_timeout_ms));
    const body_piece piece({}, {data, got}, chunked, req_body_->is_done());
    if (piece.empty()) continue;
    if (!co_await up_.send_body(piece)) co_return request_outcome::upstream_failed;
  }
  up_.body_sent();
  co_return request_outcome::sent;
}

task<bool> proxy_session::send_simple(http::status status, std::string_view text, bool keep,
                                       std::string_view bfast_status) {
  http::response<http::string_body> res{status, ex_.version == 10 ? 10u : 11u};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  // Refused before its head was read, a request still gets an id to quote.
  if (ex_.request_id.empty() && cfg_->request_id) ex_.request_id = new_request_id();
  stamp_response(res);
  if (!bfast_status.empty()) res.set(filter::status_header_name, bfast_status);
  res.body() = std::string(text);
  res.prepare_payload();
  res.keep_alive(keep);
  ex_.status = res.result_int();
  ex_.bytes_out += res.body().size();
  stream_.expires_after(milliseconds(cfg_->client_write_timeout_ms));
  auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
  co_return keep && !ec;
}

task<bool> proxy_session::reject(http::status status, reject_kind kind) {
  s_.stats.count(kind);
  ex_.decision = "rejected";
  ex_.reason = token(kind);
  co_await send_simple(status, std::string(http::obsolete_reason(status)) + "\n", false);
  co_return false;
}

void proxy_session::stamp_response(http::fields& res) {
  if (res.count(http::field::date) == 0) res.set(http::field::date, current_http_date());
  if (!ex_.request_id.empty()) res.set(filter::request_id_header, ex_.request_id);
}

task<bool> proxy_session::send_upstream_error_status(upstream_error_kind kind, bool timed_out,
                                                     bool keep_ok) {
  ex_.decision = "error";
  ex_.reason = timed_out ? "upstream_timeout" : "upstream_error";
  ex_.upstream_error = token(kind);
  co_return co_await send_simple(
      timed_out ? http::status::gateway_timeout : http::status::bad_gateway,
      timed_out ? "upstream timed out\n" : "upstream unavailable\n",
      keep_ok && client_keep_alive(), filter::format_upstream_error_status(token(kind)));
}

void proxy_session::stream_reset() noexcept {
  stream_reset_ = true;
  up_.cancel();
}

task<bool> proxy_session::send_upstream_error(bool keep_ok) {
  if (stream_reset_) {
    ex_.status = 499;
    ex_.decision = "error";
    ex_.reason = "client_closed";
    co_return false;
  }
  const upstream_failure& f = up_.failure();
  if (f.detail.empty())
    co_return co_await send_upstream_error_status(f.kind, f.timed_out, keep_ok);
  ex_.decision = "error";
  ex_.reason = "upstream_tls";
  ex_.upstream_error = token(f.kind);
  co_return co_await send_simple(http::status::bad_gateway, f.detail + "\n",
                                 keep_ok && client_keep_alive(),
                                 filter::format_upstream_error_status(token(f.kind)));
}

void proxy_session::log(const filter::exchange_filter& ex_filter, clock_type::time_point started) {
  if (!s_.log.enabled()) return;
  access_entry e;
  e.client = client_address_;
  e.real_client = ex_.real_client;
  e.request_id = ex_.request_id;
  e.user_agent = ex_.user_agent;
  e.upstream_error = ex_.upstream_error;
  e.response_in = ex_.response_in;
  e.response_out = ex_.response_out;
  e.method = std::move(ex_.method);
  e.target = std::move(ex_.target);
  e.protocol = h2_stream_ ? "HTTP/2.0" : ex_.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  e.status = ex_.status;
  e.decision = ex_.decision.empty() ? ex_filter.decision_token() : ex_.decision;
  e.reason = ex_.decision.empty() ? ex_filter.reason_token() : ex_.reason;
  e.compress = ex_.compress;
  e.request_body = ex_.request_body;
  e.request_in = ex_.request_in;
  e.request_out = ex_.request_out;
  e.bytes_out = ex_.bytes_out;
  e.upstream_ms = ex_.upstream_ms;
  e.total_ms = ms_since(started);
  e.aborted = ex_.aborted;
  s_.log.write(e);
}

void proxy_session::abort_client() { stream_.abort(); }

void proxy_session::close_client() {
  stream_.shutdown_send();
  stream_.close();
}

void start_proxy_session(shared_state& state, worker& w, tcp_socket socket) {
  asio::co_spawn(
      w.ioc,
      [&state, &w, socket = std::move(socket)]() mutable -> task<void> {
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
