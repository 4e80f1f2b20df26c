// libFuzzer target for the upstream side: the real upstream_client reads raw bytes from an
// in-process upstream on a loopback socket. The first byte chooses GET or HEAD and whether the
// upstream closes after writing; the rest is the response. A strict reference reader, which
// answers "unknown" outside a small grammar, says how the response is framed; the client must
// deliver exactly that body, no body for HEAD/204/304, reject statuses outside 100..599 and
// coded transfers, and pool the connection only when the response ended exactly at its framing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include "server_state.hpp"
#include "upstream_client.hpp"

namespace {

namespace server = bfast::server;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

using server::use_tuple;
// Small enough that one write always fits the loopback socket buffers.
constexpr std::size_t max_response = 16 * 1024;

std::string_view input_;  // for failure reports

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_upstream_response: %s\ninput (%zu bytes): ", what, input_.size());
  for (const char c : input_) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F && b != '\\') std::fputc(b, stderr);
    else std::fprintf(stderr, "\\x%02X", b);
  }
  std::fputc('\n', stderr);
  std::abort();
}

// ---- the reference reader: a small strict grammar, "unknown" outside it ----

enum class verdict { unknown, incomplete, rejected, complete };

struct reference {
  verdict v = verdict::unknown;
  unsigned status = 0;
  std::size_t end = 0;           // where the final response's framing ends
  bool close_delimited = false;  // the body runs to EOF
  bool keep_alive = false;
  std::string body;
};

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}
bool value_char(char c) { return c >= 0x20 && c < 0x7F; }

struct head_fields {
  unsigned version = 0, status = 0;
  std::vector<std::string> cl, te, conn;
};

// One status line and header section from `at`; nullopt with `v` saying why it stopped.
std::optional<head_fields> read_head(std::string_view s, std::size_t& at, verdict& v) {
  head_fields h;
  auto line = [&](std::string_view& out) {
    const auto crlf = s.find("\r\n", at);
    if (crlf == std::string_view::npos) return false;
    out = s.substr(at, crlf - at);
    at = crlf + 2;
    return true;
  };
  std::string_view l;
  v = verdict::incomplete;
  if (!line(l)) return std::nullopt;
  v = verdict::unknown;
  if (l.size() < 13 || (l.substr(0, 9) != "HTTP/1.1 " && l.substr(0, 9) != "HTTP/1.0 ") ||
      l[12] != ' ')
    return std::nullopt;
  h.version = l[7] == '1' ? 11 : 10;
  for (std::size_t i = 9; i < 12; ++i) {
    if (l[i] < '0' || l[i] > '9') return std::nullopt;
    h.status = h.status * 10 + static_cast<unsigned>(l[i] - '0');
  }
  for (char c : l.substr(13))
    if (!token_char(c) && c != ' ') return std::nullopt;
  if (l.find('\r') != std::string_view::npos || l.find('\n') != std::string_view::npos)
    return std::nullopt;
  for (;;) {
    v = verdict::incomplete;
    if (!line(l)) return std::nullopt;
    v = verdict::unknown;
    if (l.empty()) break;
    const auto colon = l.find(':');
    if (colon == 0 || colon == std::string_view::npos) return std::nullopt;
    const std::string_view name = l.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), token_char)) return std::nullopt;
    std::string_view value = l.substr(colon + 1);
    if (!std::all_of(value.begin(), value.end(), value_char)) return std::nullopt;
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (beast::iequals(name, "content-length")) h.cl.emplace_back(value);
    else if (beast::iequals(name, "transfer-encoding")) h.te.emplace_back(value);
    else if (beast::iequals(name, "connection")) h.conn.emplace_back(value);
    else if (beast::iequals(name, "upgrade") || beast::iequals(name, "trailer") ||
             beast::iequals(name, "proxy-connection") || beast::iequals(name, "keep-alive"))
      return std::nullopt;
  }
  return h;
}

std::optional<std::uint64_t> hex_size(std::string_view s) {
  if (s.empty() || s.size() > 12) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return std::nullopt;
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

reference read_reference(std::string_view s, bool head_request) {
  reference r;
  std::size_t at = 0;
  for (;;) {
    verdict why = verdict::unknown;
    const auto h = read_head(s, at, why);
    if (!h) {
      r.v = why;
      return r;
    }
    r.status = h->status;
    if (h->status < 100 || h->status > 599 || h->status == 101) {
      r.v = verdict::rejected;
      return r;
    }
    if (h->status < 200) {
      if (!h->cl.empty() || !h->te.empty()) return r;  // unknown
      continue;
    }
    if (h->cl.size() > 1 || h->te.size() > 1 || h->conn.size() > 1) return r;
    if (!h->te.empty()) {
      if (!beast::iequals(h->te[0], "chunked") || !h->cl.empty()) {
        // A coded transfer or a doubly framed response: the client refuses it. Only the shapes
        // whose parse Beast surely finishes are claimed.
        if (h->te[0].find(',') == std::string::npos && h->te[0].find(' ') == std::string::npos &&
            h->cl.empty() && !h->te[0].empty())
          r.v = verdict::rejected;
        return r;
      }
      if (h->version != 11) return r;
    }
    bool ka = h->version == 11;
    if (!h->conn.empty()) {
      if (beast::iequals(h->conn[0], "close")) ka = false;
      else if (beast::iequals(h->conn[0], "keep-alive")) ka = true;
      else return r;
    }
    r.keep_alive = ka;
    std::size_t cl = 0;
    if (!h->cl.empty()) {
      const std::string& v = h->cl[0];
      if (v.empty() || v.size() > 9 || !std::all_of(v.begin(), v.end(), [](char c) {
            return c >= '0' && c <= '9';
          }))
        return r;
      cl = std::stoul(v);
    }
    if (head_request || h->status == 204 || h->status == 304) {
      r.end = at;
      r.v = verdict::complete;
      return r;
    }
    if (!h->cl.empty()) {
      const std::size_t n = cl;
      if (s.size() - at < n) {
        r.v = verdict::incomplete;
        return r;
      }
      r.body.assign(s.substr(at, n));
      r.end = at + n;
      r.v = verdict::complete;
      return r;
    }
    if (!h->te.empty()) {
      for (;;) {
        const auto crlf = s.find("\r\n", at);
        if (crlf == std::string_view::npos) {
          r.v = verdict::incomplete;
          return r;
        }
        const auto n = hex_size(s.substr(at, crlf - at));
        if (!n) return r;
        at = crlf + 2;
        if (*n == 0) break;
        if (s.size() - at < *n + 2) {
          r.v = verdict::incomplete;
          return r;
        }
        if (s.substr(at + *n, 2) != "\r\n") return r;
        r.body.append(s.substr(at, *n));
        at += *n + 2;
      }
      if (s.size() - at < 2) {
        r.v = verdict::incomplete;
        return r;
      }
      if (s.substr(at, 2) != "\r\n") return r;  // trailers: outside the grammar
      r.end = at + 2;
      r.v = verdict::complete;
      return r;
    }
    r.close_delimited = true;
    r.keep_alive = false;
    r.body.assign(s.substr(at));
    r.end = s.size();
    r.v = verdict::complete;
    return r;
  }
}

// ---- the world the client lives in: built once ----

struct world {
  world()
      : cfg(make_config()),
        transforms(1, 64ull << 20, 0, stats),
        log(false, 4096, stats.access_log_dropped),
        w(cfg, std::make_shared<const std::vector<tcp::endpoint>>(), stats.upstream_pool),
        acceptor(w.ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        state{stats, transforms, log, {}, {}} {
    // The upstream is the acceptor, known only once it listens.
    w.use(std::make_shared<const std::vector<tcp::endpoint>>(1, acceptor.local_endpoint()));
  }

  static server::config_snapshot make_config() {
    auto c = std::make_shared<bfast::config::proxy_config>();
    c->upstream_connect_timeout_ms = 200;
    c->upstream_header_timeout_ms = 200;
    c->upstream_body_idle_timeout_ms = 200;
    c->upstream_pool_idle_timeout_ms = 60'000;
    c->upstream_pool_max_idle = 4;
    return c;
  }

  server::config_snapshot cfg;
  server::metrics stats;
  server::transform_service transforms;
  server::access_log log;
  server::worker w;
  tcp::acceptor acceptor;
  server::shared_state state;
};

struct outcome {
  bool header_ok = false;
  unsigned status = 0;
  bool chunked = false;
  std::optional<std::uint64_t> content_length;
  bool te_present = false, cl_present = false;
  std::string te_value;
  bool body_done = false;
  bool body_error = false;
  std::string body;
  bool pooled = false;
  bool finished = false;
};

void rethrow(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

server::task<void> run_upstream(world& wd, std::string_view response, bool keep_open,
                                tcp::socket& kept, bool& written, server::steady_timer& signal) {
  auto [ec, sock] = co_await wd.acceptor.async_accept(use_tuple);
  if (ec) fail("accept failed");
  std::string request;
  auto [rec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(request), "\r\n\r\n",
                                                  use_tuple);
  if (!rec) co_await asio::async_write(sock, asio::buffer(response.data(), response.size()),
                                       use_tuple);
  beast::error_code ig;
  if (!keep_open) {
    sock.shutdown(tcp::socket::shutdown_send, ig);
    sock.close(ig);
  } else {
    kept = std::move(sock);
  }
  written = true;
  signal.cancel();
}

server::task<void> run_client(world& wd, bool head_request, bool& written,
                              server::steady_timer& signal, outcome& out) {
  server::upstream_client up(wd.state, wd.w, wd.cfg);
  http::request<http::empty_body> req(head_request ? http::verb::head : http::verb::get, "/", 11);
  req.set(http::field::host, "upstream.test");
  if (!co_await up.send_head(req.base(), false)) fail("sending the request head failed");
  // The whole response is in the socket before the client reads: no timing in the outcome.
  if (!written) co_await signal.async_wait(use_tuple);
  out.header_ok = co_await up.read_header(head_request);
  if (out.header_ok) {
    const auto& h = up.parser().get();
    out.status = h.result_int();
    out.chunked = up.parser().chunked();
    if (up.parser().content_length()) out.content_length = *up.parser().content_length();
    out.te_present = h.count(http::field::transfer_encoding) > 0;
    out.cl_present = h.count(http::field::content_length) > 0;
    std::vector<char> piece(1 + out.status % 3 * 700);
    // Each read returns a byte, an error or the end: bounded by the response size.
    for (std::size_t round = 0; !up.body_done() && round < max_response + 16; ++round) {
      auto [ec, got] = co_await up.read_body(piece.data(), piece.size());
      out.body.append(piece.data(), got);
      if (ec == http::error::end_of_stream && up.body_done()) break;
      if (ec) {
        out.body_error = true;
        break;
      }
    }
    out.body_done = up.body_done();
    up.release();
  } else {
    up.abandon();
  }
  // Ask the pool, and empty it so that nothing waits in the io_context after this run.
  if (server::pooled_connection c = wd.w.pool.take(); c.stream) {
    out.pooled = true;
    beast::error_code ig;
    c.stream->socket().close(ig);
  }
  wd.w.pool.close_all();
  out.finished = true;
}

// The end of the first final response as Beast itself frames it: a cross-check of the client's
// bookkeeping when the reference reader does not know the input.
std::optional<std::size_t> beast_end(std::string_view s, bool head_request) {
  std::size_t at = 0;
  for (;;) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.header_limit(64 * 1024);
    p.body_limit(boost::none);
    if (head_request) p.skip(true);
    while (!p.is_done()) {
      beast::error_code ec;
      const std::size_t n = p.put(asio::buffer(s.data() + at, s.size() - at), ec);
      at += n;
      if (ec || n == 0) return std::nullopt;
    }
    const unsigned st = p.get().result_int();
    if (st >= 100 && st < 200 && st != 101) continue;
    if (!p.keep_alive()) return std::nullopt;
    return at;
  }
}

void check(const reference& ref, const outcome& out, std::string_view response, bool head_request,
           bool keep_open) {
  if (!out.finished) fail("the client did not finish");
  if (out.header_ok) {
    if (out.status < 200 || out.status > 599) fail("a final status outside 200..599 was accepted");
    if (out.te_present && (out.cl_present || !out.chunked))
      fail("a response with a coded transfer or both CL and TE was accepted");
    if ((head_request || out.status == 204 || out.status == 304) && !out.body.empty())
      fail("a HEAD, 204 or 304 response delivered a body");
    if (!out.chunked && out.content_length) {
      if (out.body.size() > *out.content_length) fail("more body than Content-Length");
      if (out.body_done && !out.body_error && !head_request && out.status != 204 &&
          out.status != 304 && out.body.size() != *out.content_length)
        fail("a Content-Length body ended short without an error");
    }
  }
  if (out.pooled) {
    if (!keep_open) fail("pooled a connection the upstream had closed");
    if (!out.header_ok || out.body_error || !out.body_done) fail("pooled after a failed response");
    const auto end = beast_end(response, head_request);
    if (!end || *end != response.size())
      fail("pooled a connection whose response did not end exactly at its framing");
  }
  switch (ref.v) {
    case verdict::unknown:
      break;
    case verdict::incomplete:
      if (out.header_ok && out.body_done && !out.body_error) fail("an incomplete response passed");
      if (out.pooled) fail("pooled after an incomplete response");
      break;
    case verdict::rejected:
      if (out.header_ok) fail("a response the reference rejects was accepted");
      break;
    case verdict::complete:
      if (!out.header_ok) fail("a valid response header was refused");
      if (out.status != ref.status) fail("the status differs from the reference");
      if (out.body_error || !out.body_done) fail("a complete body was not read to its end");
      if (out.body != ref.body) fail("the body differs from the reference");
      if (out.pooled != (keep_open && ref.keep_alive && ref.end == response.size()))
        fail("pooled differs from the reference (response end, keep-alive, upstream open)");
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static world* wd = new world();  // lives for the process: the fuzzer never returns from main
  if (size == 0) return 0;
  input_ = std::string_view(reinterpret_cast<const char*>(data), size);
  const std::uint8_t control = data[0];
  const bool head_request = (control & 1) != 0;
  const std::string_view response(reinterpret_cast<const char*>(data) + 1,
                                  std::min(size - 1, max_response));
  const reference ref = read_reference(response, head_request);
  // Waiting out a deadline costs a run 200 ms: the upstream stays open only when the reference
  // says the response ends by its framing.
  const bool keep_open = (control & 2) != 0 && ref.v == verdict::complete && !ref.close_delimited;

  asio::io_context& ioc = wd->w.ioc;
  tcp::socket kept(ioc);
  bool written = false;
  server::steady_timer signal(ioc, server::steady_timer::time_point::max());
  outcome out;
  asio::co_spawn(ioc, run_upstream(*wd, response, keep_open, kept, written, signal), rethrow);
  asio::co_spawn(ioc, run_client(*wd, head_request, written, signal, out), rethrow);
  ioc.run();
  ioc.restart();
  beast::error_code ig;
  kept.close(ig);
  check(ref, out, response, head_request, keep_open);
  return 0;
}
