// The server side of one HTTP/2 connection, without a socket: bytes in (receive), bytes out
// (pending_output/consume), stream events to the owner, responses from it. nghttp2 owns the
// framing, HPACK and the protocol's state machine; this class owns one stream object per exchange.
//
// The owner (a session with the connection's byte_stream) loops: read bytes, receive() them,
// handle take_events() (request head, body, end of request, writable, closed), submit responses
// and body with respond()/send_body(), then write pending_output() and consume() what went out.
// It stops reading while pending_output() is large, and closes when done() or on a closing or
// failed status. Each request body byte it has handled goes back with consume_body(), which is
// what reopens the client's window: automatic WINDOW_UPDATE is off. Events come as a batch after
// receive() returns, so a stream may have closed later in the batch: its head stays readable
// until the next take_events(), its body and the calls that act on it are gone. The class has no
// clock: streams that stay open and silent are bounded by the owner's per-stream deadlines.
//
// Memory bounds per connection: inbound body bytes <= the connection window (each stream's
// <= its window, or the protocol's 65535 before the client acknowledges our SETTINGS), because
// the client may send no more than we have consumed; outbound body queued <=
// max_concurrent_streams x max_queued_body_bytes; request heads <= max_concurrent_streams x
// max_header_list_bytes; pending output grows only as far as the owner asks.
//
// Guards. From nghttp2 (options): HTTP messaging checks, the count of queued SETTINGS/PING ACKs
// (max_outbound_ack: a peer that does not read), SETTINGS entries per frame, CONTINUATION frames
// per header block (max_continuations, a fatal error), the reset token bucket
// (stream_reset_rate_limit: GOAWAY INTERNAL_ERROR), REFUSED_STREAM past our max concurrent
// streams before the client acknowledged them (PROTOCOL_ERROR after), no idle or closed streams
// kept for RFC 7540 priorities (SETTINGS_NO_RFC7540_PRIORITIES, no_closed_streams). Here: the
// header list size (431, and the owner never sees the stream), SETTINGS, PING and empty DATA
// received since we last sent HEADERS or DATA, WINDOW_UPDATE in proportion to the DATA frames
// we sent and PRIORITY to the streams opened (Envoy's budgets), and premature resets, Envoy's
// rapid-reset rule counted in streams rather than seconds; floods and rapid resets end the
// connection with GOAWAY ENHANCE_YOUR_CALM.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/beast/http/fields.hpp>

struct nghttp2_session;

namespace bfast::server {

struct h2_limits {
  std::uint32_t max_concurrent_streams = 100;   // advertised in SETTINGS (Envoy, nginx: 100..128)
  std::uint32_t max_header_list_bytes = 64 * 1024;  // RFC 9113 size: name + value + 32 each
  std::uint32_t header_table_bytes = 4096;      // HPACK dynamic table, both directions
  std::uint32_t stream_window_bytes = 64 * 1024;    // per stream receive window (nginx's preread)
  std::uint32_t connection_window_bytes = 1024 * 1024;
  std::size_t max_queued_body_bytes = 64 * 1024;    // response body queued per stream
  std::size_t max_outbound_ack = 1000;          // nghttp2: queued SETTINGS/PING ACKs
  std::size_t max_settings_entries = 32;        // nghttp2: entries per SETTINGS frame
  std::size_t max_continuations = 8;            // nghttp2: CONTINUATION frames per header block
  std::uint64_t reset_burst = 1000;             // nghttp2 token bucket for received RST_STREAM
  std::uint64_t reset_rate_per_second = 33;
  std::uint32_t max_control_frames_without_data = 1000;  // PING, SETTINGS, empty DATA
  // Envoy's budgets: WINDOW_UPDATE <= 5 + 2 x (streams opened + this x DATA frames we sent),
  // PRIORITY <= this x (1 + streams opened).
  std::uint64_t window_updates_per_data_frame = 10;
  std::uint64_t priority_frames_per_stream = 100;
  // Rapid reset: GOAWAY once resets by the client before its response head reach half of
  // max(streams opened, premature_reset_window) (Envoy's premature_reset_total_stream_count).
  std::uint32_t premature_reset_window = 500;
};

// HTTP/2 error codes (RFC 9113 §7) are indexes here: 0..13.
inline constexpr std::size_t h2_error_codes = 14;

struct h2_stats {
  std::uint64_t streams_opened = 0;
  std::uint64_t headers_too_large = 0;       // answered 431
  std::uint64_t premature_resets = 0;        // reset by the client before its response head
  std::uint64_t control_flood = 0;           // GOAWAY for control frames without data
  std::uint64_t rapid_reset = 0;             // GOAWAY for premature resets
  std::array<std::uint64_t, h2_error_codes> resets_sent{};      // by error code
  std::array<std::uint64_t, h2_error_codes> resets_received{};  // by error code
  std::array<std::uint64_t, h2_error_codes> goaway_sent{};      // by error code

  h2_stats& operator+=(const h2_stats& o) noexcept;
};

struct h2_request {
  std::string method;
  std::string scheme;
  std::string authority;
  std::string path;
  boost::beast::http::fields headers;  // regular fields; cookie crumbs joined with "; "
};

struct h2_event {
  enum class kind : std::uint8_t {
    request,         // the request head is complete: request(stream)
    body,            // body(stream) went from empty to holding bytes
    end_of_request,  // the client finished its request (after any body)
    writable,        // send_body() refused bytes earlier and now has room
    closed,          // the stream is gone: error is the code (by_peer: its RST_STREAM)
  };
  kind what;
  std::int32_t stream;
  std::uint32_t error = 0;
  bool by_peer = false;
};

class h2_connection {
 public:
  enum class status : std::uint8_t {
    ok,       // go on
    closing,  // stop reading; write pending_output() and close (a GOAWAY is in it)
    failed,   // close now
  };

  explicit h2_connection(const h2_limits& limits = {});
  h2_connection(const h2_connection&) = delete;
  h2_connection& operator=(const h2_connection&) = delete;
  ~h2_connection();

  // Whether bytes start with the client connection preface (h2c with prior knowledge): 1 yes,
  // 0 no, -1 too short to tell.
  [[nodiscard]] static int starts_with_preface(std::span<const char> bytes) noexcept;

  [[nodiscard]] status receive(std::span<const char> bytes);
  // Events since the last call, oldest first.
  [[nodiscard]] std::vector<h2_event> take_events();

  // Serializes queued frames up to about `want` bytes; the view lasts until consume().
  [[nodiscard]] std::string_view pending_output(std::size_t want = 64 * 1024);
  void consume(std::size_t n);

  // The head of an announced stream; after its closed event, until the next take_events().
  [[nodiscard]] const h2_request* request(std::int32_t stream) const;
  // Request body bytes received and not yet consumed; empty once the stream closed (a body
  // event may precede a closed event in the same batch).
  [[nodiscard]] std::string_view body(std::int32_t stream) const;
  // The owner has handled n body bytes: they leave body() and reopen the client's window.
  void consume_body(std::int32_t stream, std::size_t n);

  // An interim response head (1xx but 101), before the final one: 100 Continue for a client
  // that waits for it. False when the stream is gone or already answered.
  bool inform(std::int32_t stream, unsigned status, const boost::beast::http::fields& headers);
  // Final response head (status 200..999); with end_stream false the body follows through
  // send_body(). False when the stream is gone or already answered.
  bool respond(std::int32_t stream, unsigned status, const boost::beast::http::fields& headers,
               bool end_stream);
  // Queues up to max_queued_body_bytes of body; returns how many bytes it took (a writable
  // event follows a short count). `last` takes effect only when all of `bytes` was taken.
  std::size_t send_body(std::int32_t stream, std::span<const char> bytes, bool last);
  // Response body bytes sent so far, and whether the response's end went out (true too once the
  // stream is gone): what the owner's write deadline measures progress by.
  [[nodiscard]] std::uint64_t body_sent(std::int32_t stream) const;
  [[nodiscard]] bool response_sent(std::int32_t stream) const;
  void reset(std::int32_t stream, std::uint32_t error_code);
  // Graceful drain: GOAWAY NO_ERROR naming the last stream we took; those finish, no new ones.
  void drain();

  [[nodiscard]] bool done() const noexcept;  // nothing more to read or to write
  [[nodiscard]] std::size_t open_streams() const noexcept;
  [[nodiscard]] const h2_stats& stats() const noexcept { return stats_; }

 private:
  struct stream_state {
    h2_request head;
    std::size_t header_bytes = 0;
    bool too_large = false;
    bool announced = false;       // the owner got its request event
    bool answered = false;        // respond() was called
    bool head_sent = false;
    std::string body_in;
    std::string body_out;
    bool out_last = false;
    std::uint64_t out_sent = 0;   // body bytes framed into DATA
    bool out_ended = false;       // END_STREAM went out
    bool reset_by_peer = false;
    bool deferred = false;        // the data provider said DEFERRED; resume when bytes come
    bool wants_room = false;
    bool closed = false;          // kept for the owner's batch of events, then erased
  };
  struct callbacks;
  struct response_fields;

  stream_state* find(std::int32_t stream);
  const stream_state* find(std::int32_t stream) const;
  void calm_down(std::uint64_t h2_stats::*counter);
  void push(h2_event e) { events_.push_back(e); }

  h2_limits limits_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<std::int32_t, stream_state> streams_;
  std::vector<h2_event> events_;
  std::vector<std::int32_t> closing_;  // closed since the last take_events()
  std::vector<std::int32_t> retired_;  // closed before it: erased at the next one
  std::string out_;
  std::size_t out_sent_ = 0;
  std::uint32_t control_frames_ = 0;  // PING, SETTINGS, empty DATA since we last sent HEADERS or DATA
  std::uint64_t window_updates_ = 0;  // received, for the whole connection
  std::uint64_t priority_frames_ = 0;
  std::uint64_t data_frames_sent_ = 0;
  bool calm_ = false;                 // a guard queued GOAWAY ENHANCE_YOUR_CALM
  h2_stats stats_;
};

}  // namespace bfast::server
