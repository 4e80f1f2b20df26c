#include "h2_session.hpp"

#include <array>
#include <cstdio>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "byte_stream.hpp"
#include "client_session.hpp"

namespace bfast::server {
namespace {

namespace http = beast::http;
using std::chrono::milliseconds;

constexpr std::size_t read_bytes = 16 * 1024;
constexpr std::size_t body_piece_bytes = 16 * 1024;
// Each way: the stream's queue in h2_connection (64 KiB) already covers the client's window, so
// the pipe need only keep the session busy.
constexpr std::size_t pipe_bytes = 16 * 1024;
// A chunk-size line and the CRLF after the data, for a body without content-length.
constexpr std::size_t chunk_overhead = 16;
// nginx's lingering close, shortened: a bound on time and on bytes dropped.
constexpr milliseconds linger_time{2000};
constexpr std::size_t linger_bytes = 64 * 1024;
constexpr std::uint32_t internal_error = 2;  // RFC 9113 §7 INTERNAL_ERROR
constexpr std::uint32_t refused_stream = 7;  // RFC 9113 §7 REFUSED_STREAM
static_assert(h2_error_codes == http2_error_codes);

void add_delta(std::array<std::atomic<std::uint64_t>, http2_error_codes>& to,
               const std::array<std::uint64_t, h2_error_codes>& now,
               std::array<std::uint64_t, h2_error_codes>& seen) {
  for (std::size_t i = 0; i < h2_error_codes; ++i) {
    if (now[i] != seen[i]) to[i].fetch_add(now[i] - seen[i], std::memory_order_relaxed);
    seen[i] = now[i];
  }
}

// Fields HTTP/2 carries that have no place in the HTTP/1.1 request the session reads.
bool dropped_request_field(std::string_view name) {
  return beast::iequals(name, "host") || beast::iequals(name, "te") ||
         beast::iequals(name, "connection") || beast::iequals(name, "transfer-encoding");
}

}  // namespace

h2_limits h2_limits_of(const config::proxy_config& cfg) {
  h2_limits l;
  l.max_concurrent_streams = cfg.http2_max_concurrent_streams;
  l.max_header_list_bytes = cfg.http2_max_header_list_bytes;
  return l;
}

struct h2_session::bridge {
  bridge(std::int32_t i, stream_pipe_end e, const executor& ex)
      : id(i), end(std::move(e)), wake(ex) {}
  std::int32_t id;
  stream_pipe_end end;      // the h2 side: request in, response out
  steady_timer wake;        // send_body() has room again, or the stream is gone
  bool chunked = false;     // the request body goes chunked (no content-length)
  bool request_ended = false;
  bool terminated = false;  // the last chunk was written
  bool head = false;        // a HEAD: the response has no body whatever its framing says
  bool closed = false;      // the HTTP/2 stream is gone
  bool relayed = false;     // the whole response went to the stream
  proxy_session* session = nullptr;  // while the stream's session runs
};

h2_session::h2_session(shared_state& state, worker& w, byte_stream& stream,
                       std::string client_address)
    : s_(state),
      w_(w),
      cfg_(w.cfg),
      stream_(stream),
      client_address_(std::move(client_address)),
      conn_(h2_limits_of(*cfg_)),
      writer_wake_(stream.get_executor()),
      idle_(stream.get_executor()),
      write_deadline_(stream.get_executor()),
      tasks_done_(stream.get_executor()),
      tasks_(std::make_shared<task_count>()) {
  tasks_->none_left = &tasks_done_;
}

h2_session::~h2_session() {
  tasks_->none_left = nullptr;
  // Ends that outlive this object (an io_context destroyed with everything suspended) must
  // not call back into it.
  for (auto& [id, b] : bridges_) b->end.on_room(nullptr);
}

h2_session::task_guard::task_guard(std::shared_ptr<task_count> c) : count(std::move(c)) {
  ++count->running;
}

h2_session::task_guard::~task_guard() {
  if (!count) return;
  if (--count->running == 0 && count->none_left) count->none_left->cancel();
}

task<void> h2_session::run(std::string initial) {
  using namespace asio::experimental::awaitable_operators;
  s_.stats.http2_connections_open.fetch_add(1, std::memory_order_relaxed);
  stream_.expires_never();
  arm_idle();
  if (!initial.empty()) {
    const auto st = conn_.receive(initial);
    dispatch();
    if (st == h2_connection::status::failed) failed_ = true;
    if (st != h2_connection::status::ok) reading_done_ = true;
  }
  if (reading_done_) co_await write_loop();
  else co_await (read_loop() && write_loop());
  idle_.cancel();
  write_deadline_.cancel();
  if (failed_) stream_.abort();
  else stream_.close();
  // Streams still open end with the connection: their sessions see a reset.
  for (auto& [id, b] : bridges_) {
    stream_gone(*b);
    b->end.abort();
  }
  bridges_.clear();
  report_stats();
  s_.stats.http2_connections_open.fetch_sub(1, std::memory_order_relaxed);
  while (tasks_->running > 0) {
    tasks_done_.expires_at(steady_timer::time_point::max());
    co_await tasks_done_.async_wait(use_tuple);
  }
}

void h2_session::drain() {
  if (drained_) return;
  drained_ = true;
  conn_.drain();
  wake_writer();
}

task<void> h2_session::read_loop() {
  std::array<char, read_bytes> buf;
  std::size_t dropped = 0;
  while (!reading_done_) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
    if (lingering_) {
      if ((dropped += n) > linger_bytes) break;
      continue;
    }
    const auto st = conn_.receive({buf.data(), n});
    dispatch();
    wake_writer();
    if (st == h2_connection::status::failed) failed_ = true;
    if (st != h2_connection::status::ok) break;
  }
  reading_done_ = true;
  wake_writer();
}

task<void> h2_session::write_loop() {
  for (;;) {
    const std::string_view out = failed_ ? std::string_view() : conn_.pending_output();
    dispatch();
    if (out.empty()) {
      if (failed_ || reading_done_ || conn_.done()) break;
      writer_wake_.expires_at(steady_timer::time_point::max());
      co_await writer_wake_.async_wait(use_tuple);
      // Once more behind what is ready to run: a response head and the body right behind it
      // (already in the pipe) leave in one write, not two.
      co_await asio::post(stream_.get_executor(), use_tuple);
      continue;
    }
    // A client that stops reading has client_write_timeout_ms to start again.
    write_deadline_.expires_after(milliseconds(cfg_->client_write_timeout_ms));
    write_deadline_.async_wait([this](const beast::error_code& ec) {
      if (!ec) stream_.abort();
    });
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(out), use_tuple);
    write_deadline_.cancel();
    if (ec) {
      failed_ = true;
      break;
    }
    conn_.consume(n);
  }
  if (!failed_) co_await linger();
}

task<void> h2_session::linger() {
  stream_.shutdown_send();
  lingering_ = true;
  write_deadline_.expires_after(linger_time);
  write_deadline_.async_wait([this](const beast::error_code& ec) {
    if (!ec) stream_.close();
  });
  // While the reader runs, it drops what comes; else this does.
  if (!reading_done_) co_return;
  std::array<char, read_bytes> buf;
  for (std::size_t dropped = 0; dropped <= linger_bytes;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buf), use_tuple);
    if (ec) break;
    dropped += n;
  }
}

void h2_session::dispatch() {
  const std::vector<h2_event> events = conn_.take_events();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const h2_event& e = events[i];
    auto it = bridges_.find(e.stream);
    switch (e.what) {
      case h2_event::kind::request: {
        // END_STREAM on the HEADERS: the end_of_request event follows at once.
        const bool no_body = i + 1 < events.size() &&
                             events[i + 1].what == h2_event::kind::end_of_request &&
                             events[i + 1].stream == e.stream;
        start_stream(e.stream, no_body);
        break;
      }
      case h2_event::kind::body:
        feed(e.stream);
        break;
      case h2_event::kind::end_of_request:
        if (it != bridges_.end()) {
          it->second->request_ended = true;
          feed(e.stream);
        }
        break;
      case h2_event::kind::writable:
        if (it != bridges_.end()) it->second->wake.cancel();
        break;
      case h2_event::kind::closed:
        if (it != bridges_.end()) {
          bridge& b = *it->second;
          stream_gone(b);
          // A reset before the whole response: the session stops waiting on the upstream, so
          // a stream opened and reset costs one connect at most (rapid reset).
          if (!b.relayed && b.session != nullptr) b.session->stream_reset();
          // The exchange ends with its stream, reset or not (a client's RST_STREAM NO_ERROR
          // too); after a whole response the session is done and this changes nothing.
          b.end.abort();
          bridges_.erase(it);
        }
        if (bridges_.empty()) arm_idle();
        break;
    }
  }
  report_stats();
}

void h2_session::stream_gone(bridge& b) {
  b.closed = true;
  b.end.on_room(nullptr);
  b.wake.cancel();
  s_.stats.http2_streams_open.fetch_sub(1, std::memory_order_relaxed);
}

void h2_session::report_stats() {
  const h2_stats& now = conn_.stats();
  if (now.streams_opened != reported_.streams_opened)
    s_.stats.http2_streams_total.fetch_add(now.streams_opened - reported_.streams_opened,
                                           std::memory_order_relaxed);
  reported_.streams_opened = now.streams_opened;
  add_delta(s_.stats.http2_resets_sent, now.resets_sent, reported_.resets_sent);
  add_delta(s_.stats.http2_resets_received, now.resets_received, reported_.resets_received);
  add_delta(s_.stats.http2_goaway, now.goaway_sent, reported_.goaway_sent);
}

void h2_session::start_stream(std::int32_t id, bool no_body) {
  const h2_request* req = conn_.request(id);
  if (req == nullptr) return;
  idle_.cancel();
  // Each stream may hold an upstream connection, as a client connection does: max_connections
  // bounds both together, which keeps the descriptor and memory arithmetic of HTTP/1.1.
  const auto in_flight = s_.stats.open_connections.load(std::memory_order_relaxed) +
                         s_.stats.http2_streams_open.load(std::memory_order_relaxed);
  if (in_flight >= static_cast<std::int64_t>(cfg_->max_connections)) {
    // Safe for the client to retry: nothing of the request was processed (RFC 9113 §8.7).
    s_.stats.http2_streams_refused.fetch_add(1, std::memory_order_relaxed);
    conn_.reset(id, refused_stream);
    wake_writer();
    return;
  }
  std::string head;
  head.reserve(256);
  // CONNECT has an authority and no path: as a request line, it gets the session's 405.
  const std::string_view target = req->method == "CONNECT" ? req->authority : req->path;
  head.append(req->method).append(" ").append(target).append(" HTTP/1.1\r\n");
  const auto host = req->headers.find(http::field::host);
  if (!req->authority.empty()) head.append("Host: ").append(req->authority).append("\r\n");
  else if (host != req->headers.end())
    head.append("Host: ").append(host->value()).append("\r\n");
  for (const auto& f : req->headers) {
    if (dropped_request_field(f.name_string())) continue;
    head.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  }
  const bool chunked = !no_body && req->headers.count(http::field::content_length) == 0;
  if (chunked) head.append("Transfer-Encoding: chunked\r\n");
  // One exchange per pipe: the session ends after this response.
  head.append("Connection: close\r\n\r\n");

  auto [ours, theirs] = stream_pipe_end::make(stream_.get_executor(), pipe_bytes);
  auto b = std::make_shared<bridge>(id, std::move(ours), stream_.get_executor());
  b->chunked = chunked;
  b->head = req->method == "HEAD";
  b->end.push(head);
  b->end.on_room([this, id] { feed(id); });
  bridges_.emplace(id, b);
  s_.stats.http2_streams_open.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(stream_.get_executor(), serve_exchange(b, std::move(theirs), task_guard(tasks_)),
                 asio::detached);
  asio::co_spawn(stream_.get_executor(), respond(std::move(b), task_guard(tasks_)),
                 asio::detached);
}

void h2_session::feed(std::int32_t id) {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return;
  bridge& b = *it->second;
  std::string_view body = conn_.body(id);
  bool consumed = false;
  if (b.end.broken()) {
    // The session is gone: the body is nobody's, but it must not hold the window.
    if (!body.empty()) conn_.consume_body(id, body.size());
    if (!body.empty()) wake_writer();
    return;
  }
  while (!body.empty()) {
    const std::size_t room = b.end.room();
    std::size_t k = 0;
    if (b.chunked) {
      if (room <= chunk_overhead) break;
      k = std::min(body.size(), room - chunk_overhead);
      char line[24];
      const int len = std::snprintf(line, sizeof line, "%zx\r\n", k);
      b.end.push({line, static_cast<std::size_t>(len)});
      b.end.push(body.substr(0, k));
      b.end.push("\r\n");
    } else {
      k = std::min(body.size(), room);
      if (k == 0) break;
      b.end.push(body.substr(0, k));
    }
    conn_.consume_body(id, k);
    consumed = true;
    body = conn_.body(id);
  }
  if (body.empty() && b.request_ended && b.chunked && !b.terminated) {
    b.terminated = true;
    b.end.push("0\r\n\r\n");
  }
  // The window update goes out with the writer.
  if (consumed) wake_writer();
}

task<void> h2_session::serve_exchange(std::shared_ptr<bridge> b, stream_pipe_end end,
                                       task_guard) {
  int fd = static_cast<int>(stream_.socket().native_handle());
  try {
    auto session = std::make_unique<proxy_session>(s_, w_, std::move(end), client_address_, fd,
                                                   stream_.tls());
    b->session = session.get();
    // Cleared however run() ends.
    struct forget {
      bridge& b;
      ~forget() { b.session = nullptr; }
    } forget_session{*b};
    co_await session->run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bfast-proxy: h2 stream session error: %s\n", e.what());
  }
}

task<void> h2_session::respond(std::shared_ptr<bridge> b, task_guard) {
  // The session's response head is bounded like an upstream's: the header limit and a margin.
  beast::flat_buffer buf(2 * std::size_t{cfg_->max_header_bytes} + read_bytes);
  std::optional<http::response_parser<http::buffer_body>> p;
  for (;;) {
    p.emplace();
    p->header_limit(2 * cfg_->max_header_bytes);
    p->body_limit(boost::none);
    if (b->head) p->skip(true);
    auto [ec, n] = co_await http::async_read_header(b->end, buf, *p, use_tuple);
    if (ec) {
      // The session ended without a response: nothing to relay.
      if (!b->closed) conn_.reset(b->id, internal_error);
      wake_writer();
      co_return;
    }
    const unsigned status = p->get().result_int();
    if (status / 100 != 1) break;
    // The session's 100 Continue, for a client that waits for it before its body.
    if (!b->closed && conn_.inform(b->id, status, p->get().base())) wake_writer();
  }
  if (b->closed) co_return;
  const unsigned status = p->get().result_int();
  const bool end_stream = p->is_done();
  if (!conn_.respond(b->id, status, p->get().base(), end_stream)) {
    b->end.abort();
    co_return;
  }
  wake_writer();
  // The body passes through in pieces of up to 16 KiB, one DATA frame each: Beast reads what
  // the buffer has room for (512 bytes after a small head, and 512-byte frames with it), and
  // up to 64 KiB when it grows; exactly a piece's room is both bounded and full-sized.
  buf.max_size(std::max(buf.size(), body_piece_bytes));
  buf.reserve(body_piece_bytes);
  std::string piece(body_piece_bytes, '\0');
  while (!p->is_done()) {
    p->get().body().data = piece.data();
    p->get().body().size = piece.size();
    auto [ec, n] = co_await http::async_read_some(b->end, buf, *p, use_tuple);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) {
      // Truncated (the session reset its end): never a clean end of stream.
      if (!b->closed) conn_.reset(b->id, internal_error);
      wake_writer();
      co_return;
    }
    const std::size_t got = piece.size() - p->get().body().size;
    const bool last = p->is_done();
    std::size_t off = 0;
    do {
      if (b->closed) co_return;
      off += conn_.send_body(b->id, {piece.data() + off, got - off}, last);
      wake_writer();
      if (off < got) {
        // The client's window is shut: it has client_write_timeout_ms to open it.
        b->wake.expires_after(milliseconds(cfg_->client_write_timeout_ms));
        auto [wec] = co_await b->wake.async_wait(use_tuple);
        if (!wec && !b->closed) {
          conn_.reset(b->id, internal_error);
          b->end.abort();
          wake_writer();
          co_return;
        }
      }
    } while (off < got);
  }
  b->relayed = true;
  b->end.close();
  // All of it is queued: a window the client keeps shut must not hold the stream forever.
  while (!b->closed && !conn_.response_sent(b->id)) {
    const std::uint64_t sent = conn_.body_sent(b->id);
    b->wake.expires_after(milliseconds(cfg_->client_write_timeout_ms));
    auto [wec] = co_await b->wake.async_wait(use_tuple);
    if (!wec && !b->closed && !conn_.response_sent(b->id) && conn_.body_sent(b->id) == sent) {
      conn_.reset(b->id, internal_error);
      wake_writer();
      co_return;
    }
  }
}

void h2_session::arm_idle() {
  idle_.expires_after(milliseconds(cfg_->keepalive_idle_timeout_ms));
  idle_.async_wait([this](const beast::error_code& ec) {
    if (ec || !bridges_.empty()) return;
    drain();
  });
}

}  // namespace bfast::server
