// The response side of a client connection: streaming an upstream body through, or buffering,
// transforming and sending it whole.
#include <algorithm>

#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "bfast/filter/rewrite.hpp"
#include "client_session.hpp"
#include "wire_format.hpp"

namespace bfast::server {
namespace {

namespace http = beast::http;
using std::chrono::milliseconds;

// A body held whole goes out in pieces of this size, each write under its own deadline.
constexpr std::size_t send_piece_bytes = 256 * 1024;
// The transcoder reads up to 64 bytes past the JSON's end (simdjson's padding).
constexpr std::size_t transcoder_padding = 64;

bool is_timeout(const beast::error_code& ec) { return ec == beast::error::timeout; }

}  // namespace

http::response<http::buffer_body> proxy_session::response_from_upstream() {
  http::response<http::buffer_body> res(std::move(up_.parser().get().base()));
  res.version(ex_.version);
  stamp_response(res);
  ex_.status = res.result_int();
  return res;
}

task<bool> proxy_session::send_streamed(bool header_only, std::string_view prefix,
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
  std::string_view piece = prefix;
  std::size_t in_place = 0;  // bytes of `piece` still in the upstream's read buffer
  if (piece.empty() && up_.has_buffered_body() && !up_.body_done()) {
    piece = up_.take_buffered_body();
    in_place = piece.size();
    if (piece.empty()) {
      // A chunked body: the parser decodes what came with the header into the relay buffer.
      auto [ec, got] = co_await up_.read_body(relay.data(), relay.size());
      if (ec) {
        // Nothing has gone to the client yet, so it can be told plainly.
        const auto kind =
            is_timeout(ec) ? upstream_error_kind::body_timeout : upstream_error_kind::body_reset;
        s_.stats.count(kind);
        up_.abandon();
        co_return co_await send_upstream_error_status(kind, is_timeout(ec));
      }
      piece = {relay.data(), got};
    }
    s_.stats.bytes_from_upstream.fetch_add(piece.size(), std::memory_order_relaxed);
  }
  bool done = up_.body_done();
  if (!co_await write_client(piece, done, &res.base(), chunked)) co_return false;
  up_.drop_buffered_body(in_place);
  while (!done) {
    char* const data = relay.data();
    auto [ec, got] = co_await up_.read_body(data, relay.size());
    if (ec) co_return abort_on_upstream_body_error(ec);
    s_.stats.bytes_from_upstream.fetch_add(got, std::memory_order_relaxed);
    done = up_.body_done();
    if (!co_await write_client({data, got}, done, nullptr, chunked)) co_return false;
  }
  up_.release();
  co_return keep;
}

bool proxy_session::abort_on_upstream_body_error(const beast::error_code& ec) {
  const auto kind =
      is_timeout(ec) ? upstream_error_kind::body_timeout : upstream_error_kind::body_reset;
  s_.stats.count(kind);
  ex_.upstream_error = token(kind);
  s_.stats.responses_aborted.fetch_add(1, std::memory_order_relaxed);
  ex_.aborted = true;
  up_.abandon();
  abort_client();
  return false;
}

task<bool> proxy_session::write_client(std::string_view data, bool last,
                                       const http::response_header<>* head, bool chunked) {
  head_.clear();
  if (head) append_head(head_, *head);
  const body_piece piece(head_, data, chunked, last);
  if (piece.empty()) co_return true;
  stream_.expires_after(milliseconds(cfg_->client_write_timeout_ms));
  auto [ec, n] = co_await asio::async_write(stream_, piece.buffers(), use_tuple);
  if (ec) {
    up_.abandon();
    co_return false;
  }
  ex_.bytes_out += data.size();
  s_.stats.bytes_to_client.fetch_add(data.size(), std::memory_order_relaxed);
  co_return true;
}

task<bool> proxy_session::send_buffered(http::response<http::buffer_body>& res, bool header_only,
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

task<bool> proxy_session::transform_response(filter::exchange_filter& ex_filter,
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
      const auto kind =
          is_timeout(ec) ? upstream_error_kind::body_timeout : upstream_error_kind::body_reset;
      s_.stats.count(kind);
      up_.abandon();
      co_return co_await send_upstream_error_status(kind, is_timeout(ec));
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
    if (out.chosen == representation::json)
      co_return co_await send_json(ex_filter, res, out, json, header_only);
    if (!out.transcode.ok()) why = filter::reason_from(out.transcode.error);
  }
  if (why != filter::reason::transcoded) {
    // Invalid or not representable: the original bytes, exactly as the upstream sent them.
    ex_filter.pass_body(why, res);
    res.erase(http::field::transfer_encoding);
    res.content_length(json_text.size());
    co_return co_await send_buffered(res, header_only, json_text);
  }

  // Transformed: the JSON is not needed any more, so a slow client holds only the body.
  const std::size_t json_bytes = json_text.size();
  json = byte_buffer{};
  s_.stats.transcode_seconds.observe(out.transcode_seconds);
  if (out.compress != compression_choice::none) s_.stats.compress_seconds.observe(out.compress_seconds);
  s_.stats.transcoded_by_compression[static_cast<std::size_t>(out.compress)].fetch_add(
      1, std::memory_order_relaxed);
  s_.stats.transform_json_bytes.fetch_add(json_bytes, std::memory_order_relaxed);
  s_.stats.transform_out_bytes.fetch_add(out.body.size(), std::memory_order_relaxed);
  filter::transformed_body tb;
  tb.json_bytes = json_bytes;
  tb.body_bytes = out.body.size();
  tb.compress = out.compress_token;
  tb.content_encoding = out.content_encoding;
  tb.policy_reason = out.policy_reason;
  ex_filter.transformed(res, tb);
  ex_.compress = out.compress_token;
  ex_.response_in = tb.json_bytes;
  ex_.response_out = tb.body_bytes;
  co_return co_await send_buffered(res, header_only, out.body.view());
}

task<bool> proxy_session::send_json(filter::exchange_filter& ex_filter,
                                    http::response<http::buffer_body>& res,
                                    const transform_outcome& out, byte_buffer& json,
                                    bool header_only) {
  const std::string_view body = out.body.empty() ? json.view() : out.body.view();
  const transport_codec coding = out.compress == compression_choice::gzip   ? transport_codec::gzip
                                 : out.compress == compression_choice::zstd ? transport_codec::zstd
                                                                            : transport_codec::identity;
  s_.stats.json_chosen_by_coding[static_cast<std::size_t>(coding)].fetch_add(
      1, std::memory_order_relaxed);
  if (out.compress != compression_choice::none) {
    s_.stats.compress_seconds.observe(out.compress_seconds);
    // The coded copy is what goes out: the text is not needed any more.
    json = byte_buffer{};
  }
  filter::json_body jb;
  jb.json_bytes = out.json_bytes;
  jb.body_bytes = body.size();
  jb.coding = out.compress_token;
  jb.policy_reason = out.policy_reason;
  res.erase(http::field::transfer_encoding);
  ex_filter.json_chosen(res, jb);
  ex_.compress = out.compress_token;
  ex_.response_in = jb.json_bytes;
  ex_.response_out = jb.body_bytes;
  co_return co_await send_buffered(res, header_only, body);
}

}  // namespace bfast::server
