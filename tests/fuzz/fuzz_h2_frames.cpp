// libFuzzer target for the server side of an HTTP/2 connection: raw frames go into h2_connection
// a few bytes at a time, after the client preface and an empty SETTINGS three times in four,
// with an owner that answers, resets, streams bodies and leaves some bodies unconsumed. Aborts
// when a bound the header promises is broken: open streams past the advertised limit, request
// body held past the windows, response body queued past its bound, an event for an unknown
// stream, or output that grows while it is being drained.
//
// Input: byte 0 picks the preface (low two bits not both zero) and the chunk size (high bits);
// the rest is the client's bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "h2_connection.hpp"

namespace {

using bfast::server::h2_connection;
using bfast::server::h2_event;
using bfast::server::h2_limits;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_h2_frames: %s\n", what);
  std::abort();
}

// Small limits, so that the bounds are reached often.
h2_limits fuzz_limits() {
  h2_limits l;
  l.max_concurrent_streams = 8;
  l.max_header_list_bytes = 4096;
  l.stream_window_bytes = 1024;
  l.connection_window_bytes = 65535;
  l.max_queued_body_bytes = 512;
  l.max_control_frames_without_data = 64;
  l.premature_reset_window = 16;
  return l;
}

// Before our SETTINGS are acknowledged the client may use the protocol's default window.
constexpr std::size_t default_window = 65535;

class owner {
 public:
  explicit owner(h2_connection& c) : c_(c) {}

  // Stream state behind an event may be gone by the time the owner handles it, when a closed
  // event for the stream comes later in the same batch.
  void handle_batch(const std::vector<h2_event>& batch) {
    closing_.clear();
    for (const h2_event& e : batch)
      if (e.what == h2_event::kind::closed) closing_.insert(e.stream);
    for (const h2_event& e : batch) handle(e);
  }

  void handle(const h2_event& e) {
    const std::int32_t id = e.stream;
    if (e.what != h2_event::kind::request && open_.count(id) == 0) fail("event for an unknown stream");
    switch (e.what) {
      case h2_event::kind::request: {
        if (!open_.insert(id).second) fail("request twice");
        if (c_.request(id) == nullptr) fail("request event without its head");
        // Streams are treated four ways by id: answered whole, streamed, reset, left waiting.
        const int way = (id >> 1) % 4;
        if (way == 0) {
          boost::beast::http::fields f;
          f.set("Content-Type", "application/json");
          f.set("Transfer-Encoding", "chunked");
          if (!c_.respond(id, 200, f, false) && closing_.count(id) == 0) fail("respond refused");
          send(id, 100, true);
        } else if (way == 1) {
          if (!c_.respond(id, 200, {}, false) && closing_.count(id) == 0) fail("respond refused");
          send(id, 2000, false);
        } else if (way == 2) {
          c_.reset(id, NGHTTP2_CANCEL);
        }
        break;
      }
      case h2_event::kind::body:
        if (c_.body(id).empty() && closing_.count(id) == 0) fail("body event without body");
        if (id % 3 != 0) c_.consume_body(id, c_.body(id).size());
        break;
      case h2_event::kind::end_of_request:
        if (c_.request(id) == nullptr) fail("end of a request that was never announced");
        if ((id >> 1) % 4 == 3 && !c_.respond(id, 204, {}, true) && closing_.count(id) == 0)
          fail("respond refused");
        break;
      case h2_event::kind::writable:
        send(id, 2000, true);
        break;
      case h2_event::kind::closed:
        open_.erase(id);
        break;
    }
  }

  void check_bounds(const h2_limits& l) const {
    if (c_.open_streams() > std::max<std::size_t>(l.max_concurrent_streams, 100)) fail("streams");
    std::size_t held = 0;
    for (const std::int32_t id : open_) {
      const std::size_t n = c_.body(id).size();
      if (n > std::max<std::size_t>(l.stream_window_bytes, default_window)) fail("stream window");
      held += n;
    }
    if (held > std::max<std::size_t>(l.connection_window_bytes, default_window)) fail("window");
  }

 private:
  void send(std::int32_t id, std::size_t n, bool last) {
    const std::string body(n, 'b');
    const std::size_t took = c_.send_body(id, body, last);
    if (took > fuzz_limits().max_queued_body_bytes) fail("queued past the bound");
  }

  h2_connection& c_;
  std::set<std::int32_t> open_;
  std::set<std::int32_t> closing_;  // closed later in the batch being handled
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::string input;
  if ((mode & 3) != 0) {
    input = NGHTTP2_CLIENT_MAGIC;
    input.append("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
  }
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t chunk = 1 + (mode >> 2) * 37;

  const h2_limits limits = fuzz_limits();
  h2_connection conn(limits);
  owner o(conn);
  std::string_view rest(input);
  auto status = h2_connection::status::ok;
  while (status == h2_connection::status::ok) {
    if (!rest.empty()) {
      const std::size_t n = std::min(chunk, rest.size());
      status = conn.receive(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    const std::vector<h2_event> batch = conn.take_events();
    o.handle_batch(batch);
    const bool events = !batch.empty();
    o.check_bounds(limits);
    // The peer reads everything; what we write must come to an end.
    std::size_t drained = 0;
    for (;;) {
      const std::string_view out = conn.pending_output(16 * 1024);
      if (out.empty()) break;
      drained += out.size();
      conn.consume(out.size());
      if (drained > (64u << 20)) fail("output without end");
    }
    if (rest.empty() && !events) break;
  }
  (void)conn.done();
  return 0;
}
