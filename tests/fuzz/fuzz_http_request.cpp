// libFuzzer target for the client side of an exchange: raw bytes go through Beast's request
// parser, the framing and Host checks and the rewrite for the upstream, as client_session.cpp
// does them. Whatever is accepted must serialize to a head that re-parses with the same method,
// target and framing, one Host on HTTP/1.1, no hop-by-hop header but the session's own
// Transfer-Encoding, and a chunked body must never grow the bounded read buffer past its bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include "bfast/filter/headers.hpp"
#include "bfast/filter/request_target.hpp"
#include "bfast/filter/rewrite.hpp"
#include "wire_format.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace filter = bfast::filter;

// As the session: the configured header limit, plus one chunk line or trailer section.
constexpr std::size_t header_limit = 8 * 1024;
constexpr std::size_t chunk_line_room = 16 * 1024;
constexpr std::size_t buffer_bound = header_limit + chunk_line_room;
constexpr std::size_t relay_bytes = 4096;

[[noreturn]] void fail(const char* what, std::string_view input, std::string_view head = {}) {
  std::fprintf(stderr, "fuzz_http_request: %s\n", what);
  auto dump = [](const char* label, std::string_view s) {
    std::fprintf(stderr, "%s (%zu bytes): ", label, s.size());
    for (const char c : s) {
      const auto b = static_cast<unsigned char>(c);
      if (b >= 0x20 && b < 0x7F && b != '\\') std::fputc(b, stderr);
      else std::fprintf(stderr, "\\x%02X", b);
    }
    std::fputc('\n', stderr);
  };
  dump("input", input);
  if (!head.empty()) dump("upstream head", head);
  std::abort();
}

// A socket stand-in that hands out the input a few bytes per read, as a slow client would.
class slow_stream {
 public:
  slow_stream(std::string_view data, std::size_t step) : data_(data), step_(step) {}

  using executor_type = asio::any_io_executor;

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, beast::error_code& ec) {
    if (data_.empty()) {
      ec = asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = asio::buffer_copy(
        buffers, asio::buffer(data_.data(), std::min(step_, data_.size())));
    data_.remove_prefix(n);
    return n;
  }
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view data_;
  std::size_t step_;
};

bool is_hop_by_hop(std::string_view name) {
  for (std::string_view h : filter::hop_by_hop_headers())
    if (beast::iequals(h, name)) return true;
  return false;
}

// The options a Connection field names, lower-cased for comparison; the framing fields and Host
// are never connection-specific.
std::vector<std::string> connection_options(const http::fields& fields) {
  std::vector<std::string> out;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      const auto comma = v.find(',');
      std::string_view e = v.substr(0, comma);
      while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.remove_prefix(1);
      while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
      if (!e.empty() && !beast::iequals(e, "host") && !beast::iequals(e, "content-length") &&
          !beast::iequals(e, "transfer-encoding"))
        out.emplace_back(e);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return out;
}

void check_upstream_head(std::string_view input, std::string_view head, http::verb method,
                         std::string_view method_string, std::string_view target,
                         bool chunked, std::optional<std::uint64_t> content_length,
                         bool input_http11, const std::vector<std::string>& named) {
  http::request_parser<http::empty_body> p;
  p.header_limit(64 * 1024);
  p.eager(false);
  beast::error_code ec;
  const std::size_t used = p.put(asio::buffer(head.data(), head.size()), ec);
  if (ec) fail("the upstream head does not re-parse", input, head);
  if (!p.is_header_done()) fail("the upstream head is incomplete", input, head);
  if (used != head.size()) fail("the upstream head has bytes after its end", input, head);
  const auto& r = p.get();
  if (r.method() != method || r.method_string() != method_string)
    fail("the method changed on the way up", input, head);
  if (r.target() != target) fail("the target is not the rewritten one", input, head);
  if (r.version() != 11) fail("the upstream request is not HTTP/1.1", input, head);
  const auto hosts = r.count(http::field::host);
  if (input_http11 && hosts != 1) fail("not exactly one Host on an HTTP/1.1 request", input, head);
  if (hosts > 1) fail("more than one Host", input, head);
  if (r.count(http::field::content_length) > 0 && r.count(http::field::transfer_encoding) > 0)
    fail("Content-Length and Transfer-Encoding both sent up", input, head);
  if (p.chunked() != chunked) fail("the chunked framing changed on the way up", input, head);
  if (chunked) {
    if (r.count(http::field::transfer_encoding) != 1 ||
        !beast::iequals(r[http::field::transfer_encoding], "chunked"))
      fail("a chunked request went up without exactly 'Transfer-Encoding: chunked'", input, head);
  } else if (p.content_length().has_value() != content_length.has_value() ||
             (content_length && *p.content_length() != *content_length)) {
    fail("the Content-Length changed on the way up", input, head);
  }
  for (const auto& f : r) {
    const std::string_view name = f.name_string();
    if (is_hop_by_hop(name) &&
        !(chunked && f.name() == http::field::transfer_encoding))
      fail("a hop-by-hop header went up", input, head);
    for (const std::string& o : named)
      if (beast::iequals(o, name)) fail("a header the Connection field named went up", input, head);
  }
  if (r.count(http::field::expect) > 0) fail("Expect went up", input, head);
}

// The body as the session reads it: a buffer_body parser over the same bounded buffer.
void read_body(std::string_view input, http::request_parser<http::empty_body>&& header_parser,
               slow_stream& stream, beast::flat_buffer& buffer) {
  http::request_parser<http::buffer_body> body(std::move(header_parser));
  body.body_limit(1024 * 1024);
  std::vector<char> relay(relay_bytes);
  // Every read either fills the relay, consumes input or ends: the loop is bounded by the input.
  for (std::size_t round = 0; round < 4 * input.size() + 16 && !body.is_done(); ++round) {
    body.get().body().data = relay.data();
    body.get().body().size = relay.size();
    beast::error_code ec;
    http::read_some(stream, buffer, body, ec);
    if (buffer.size() > buffer_bound || buffer.capacity() > buffer_bound)
      fail("the request body read grew the buffer past its bound", input);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The read size varies with the input so that lines split at every place over the corpus.
  slow_stream stream(input, 1 + size % 61 + (size % 7 == 0 ? 4096 : 0));
  beast::flat_buffer buffer(buffer_bound);

  http::request_parser<http::empty_body> parser;
  parser.header_limit(header_limit);
  parser.body_limit(1024 * 1024);
  beast::error_code ec;
  http::read_header(stream, buffer, parser, ec);
  if (buffer.size() > buffer_bound || buffer.capacity() > buffer_bound)
    fail("the header read grew the buffer past its bound", input);
  if (ec) return 0;

  auto& req = parser.get();
  if (filter::check_request_framing(req, req.version()) != filter::framing_error::none) return 0;
  const filter::request_destination dest =
      filter::check_destination(req, req.target(), req.version());
  if (dest.error != filter::host_error::none) return 0;
  if (req.method() == http::verb::connect) return 0;

  const bool input_http11 = req.version() >= 11;
  const bool chunked = parser.chunked();
  std::optional<std::uint64_t> content_length;
  if (parser.content_length()) content_length = *parser.content_length();
  if (chunked && content_length) fail("the framing check let CL and TE through", input);
  const http::verb method = req.method();
  const std::string method_string(req.method_string());
  const std::vector<std::string> named = connection_options(req);

  // As client_session.cpp: the header moves into the upstream request.
  http::request<http::empty_body> ureq(std::move(req.base()));
  ureq.version(11);
  if (dest.absolute_form) {
    ureq.target(dest.origin_target);
    ureq.set(http::field::host, dest.authority);
  }
  filter::forward_info info;
  info.client_address = "192.0.2.1";
  filter::rewrite_request_for_upstream(ureq, info);
  if (chunked) ureq.chunked(true);
  else if (content_length) ureq.content_length(*content_length);

  bfast::server::head_string head;
  bfast::server::append_head(head, ureq.base());
  check_upstream_head(input, head, method, method_string, ureq.target(), chunked,
                      content_length, input_http11, named);

  if (chunked) read_body(input, std::move(parser), stream, buffer);
  return 0;
}
