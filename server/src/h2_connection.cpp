#include "h2_connection.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <new>

#include <boost/beast/core/string.hpp>
#include <nghttp2/nghttp2.h>

#include "bfast/filter/headers.hpp"

namespace bfast::server {
namespace {

constexpr std::string_view client_preface = NGHTTP2_CLIENT_MAGIC;

std::string_view view(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

void count(std::array<std::uint64_t, h2_error_codes>& by_code, std::uint32_t code) noexcept {
  // Unknown codes are counted as INTERNAL_ERROR, which RFC 9113 §7 lets a receiver assume.
  ++by_code[code < h2_error_codes ? code : std::uint32_t{NGHTTP2_INTERNAL_ERROR}];
}

// nghttp2 copies names and values at submission (NGHTTP2_NV_FLAG_NONE), so views suffice.
nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

bool connection_specific(std::string_view name) noexcept {
  for (std::string_view h : filter::hop_by_hop_headers())
    if (boost::beast::iequals(h, name)) return true;
  return false;
}

struct options_deleter {
  void operator()(nghttp2_option* o) const noexcept { nghttp2_option_del(o); }
};
struct callbacks_deleter {
  void operator()(nghttp2_session_callbacks* c) const noexcept {
    nghttp2_session_callbacks_del(c);
  }
};

}  // namespace

h2_stats& h2_stats::operator+=(const h2_stats& o) noexcept {
  streams_opened += o.streams_opened;
  headers_too_large += o.headers_too_large;
  premature_resets += o.premature_resets;
  control_flood += o.control_flood;
  rapid_reset += o.rapid_reset;
  for (std::size_t i = 0; i < h2_error_codes; ++i) {
    resets_sent[i] += o.resets_sent[i];
    resets_received[i] += o.resets_received[i];
    goaway_sent[i] += o.goaway_sent[i];
  }
  return *this;
}

struct h2_connection::callbacks {
  static h2_connection& self(void* user_data) { return *static_cast<h2_connection*>(user_data); }

  static int on_begin_frame(nghttp2_session* session, const nghttp2_frame_hd* hd, void* ud) {
    auto& c = self(ud);
    const std::uint64_t opened = c.stats_.streams_opened;
    // nghttp2 ignores HEADERS on a stream id at or below the last it took and not open (a
    // reused or lower id): HPACK work that draws no answer, like a control frame.
    const bool ignored_headers = hd->type == NGHTTP2_HEADERS && c.find(hd->stream_id) == nullptr &&
                                 hd->stream_id <= nghttp2_session_get_last_proc_stream_id(session);
    bool flood = false;
    if (hd->type == NGHTTP2_WINDOW_UPDATE) {
      // A client acknowledges DATA, so its updates may come long after our last frame (every
      // stream window full, the acknowledgements of a backlog still arriving): bounded by what
      // we sent, as Envoy bounds them, not by time since we sent it.
      flood = ++c.window_updates_ >
              5 + 2 * (opened + c.limits_.window_updates_per_data_frame * c.data_frames_sent_);
    } else if (hd->type == NGHTTP2_PRIORITY) {
      flood = ++c.priority_frames_ > c.limits_.priority_frames_per_stream * (1 + opened);
    } else if (hd->type == NGHTTP2_PING || hd->type == NGHTTP2_SETTINGS ||
               (hd->type == NGHTTP2_DATA && hd->length == 0 &&
                (hd->flags & NGHTTP2_FLAG_END_STREAM) == 0) ||
               ignored_headers) {
      flood = ++c.control_frames_ > c.limits_.max_control_frames_without_data;
    }
    if (flood) {
      c.calm_down(&h2_stats::control_flood);
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto& c = self(ud);
    c.streams_.try_emplace(frame->hd.stream_id);
    ++c.stats_.streams_opened;
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* ud) {
    auto& c = self(ud);
    stream_state* s = c.find(frame->hd.stream_id);
    if (s == nullptr || s->too_large) return 0;
    // Trailers count toward the bound too, but their fields are not kept.
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > c.limits_.max_header_list_bytes) {
      s->too_large = true;
      s->head = {};
      return 0;
    }
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    const auto n = view(name, namelen);
    const auto v = view(value, valuelen);
    h2_request& r = s->head;
    if (n == ":method") r.method = v;
    else if (n == ":scheme") r.scheme = v;
    else if (n == ":authority") r.authority = v;
    else if (n == ":path") r.path = v;
    else if (n.starts_with(':')) return 0;
    else if (n == "cookie" && r.headers.count("cookie") != 0) {
      // RFC 9113 §8.2.3: crumbs become one field again for HTTP/1.1.
      std::string joined(r.headers["cookie"]);
      joined.append("; ").append(v);
      r.headers.set("cookie", joined);
    } else {
      r.headers.insert(n, v);
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    auto& c = self(ud);
    const std::int32_t id = frame->hd.stream_id;
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        stream_state* s = c.find(id);
        if (s == nullptr) return 0;
        if (s->too_large) {
          if (!s->answered) {
            ++c.stats_.headers_too_large;
            s->answered = true;
            const nghttp2_nv status = make_nv(":status", "431");
            nghttp2_submit_response(session, id, &status, 1, nullptr);
            // Whatever body follows is not wanted (RFC 9113 §8.1).
            if (!end_stream) nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
          }
          return 0;
        }
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
          s->announced = true;
          c.push({h2_event::kind::request, id});
        }
        if (end_stream && s->announced) c.push({h2_event::kind::end_of_request, id});
        return 0;
      }
      case NGHTTP2_DATA: {
        const stream_state* s = c.find(id);
        if (end_stream && s != nullptr && s->announced) c.push({h2_event::kind::end_of_request, id});
        return 0;
      }
      case NGHTTP2_RST_STREAM: {
        count(c.stats_.resets_received, frame->rst_stream.error_code);
        stream_state* s = c.find(id);
        if (s == nullptr) return 0;
        s->reset_by_peer = true;
        if (s->head_sent) return 0;
        ++c.stats_.premature_resets;
        const std::uint64_t window =
            std::max<std::uint64_t>(c.stats_.streams_opened, c.limits_.premature_reset_window);
        if (c.stats_.premature_resets * 2 >= window) {
          c.calm_down(&h2_stats::rapid_reset);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      }
      default:
        return 0;
    }
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id,
                           const std::uint8_t* data, std::size_t len, void* ud) {
    auto& c = self(ud);
    stream_state* s = c.find(id);
    if (s == nullptr || !s->announced) {
      // Nobody will read it: give the window back now.
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    if (s->body_in.empty() && len > 0) c.push({h2_event::kind::body, id});
    s->body_in.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, std::int32_t id, std::uint32_t error,
                             void* ud) {
    auto& c = self(ud);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    stream_state& s = it->second;
    // Body the owner never consumed still holds part of the connection window.
    if (!s.body_in.empty()) nghttp2_session_consume_connection(session, s.body_in.size());
    if (!s.announced) {
      c.streams_.erase(it);
      return 0;
    }
    // The head stays readable while the owner handles this batch of events.
    s.closed = true;
    s.body_in = {};
    s.body_out = {};
    c.closing_.push_back(id);
    c.push({h2_event::kind::closed, id, error, s.reset_by_peer});
    return 0;
  }

  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
    auto& c = self(ud);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
        if (stream_state* s = c.find(frame->hd.stream_id)) {
          s->head_sent = true;
          if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) s->out_ended = true;
        }
        c.control_frames_ = 0;
        break;
      case NGHTTP2_DATA:
        if (stream_state* s = c.find(frame->hd.stream_id)) {
          s->out_sent += frame->data.hd.length - frame->data.padlen;
          if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) s->out_ended = true;
        }
        c.control_frames_ = 0;
        ++c.data_frames_sent_;
        break;
      case NGHTTP2_RST_STREAM:
        count(c.stats_.resets_sent, frame->rst_stream.error_code);
        break;
      case NGHTTP2_GOAWAY:
        count(c.stats_.goaway_sent, frame->goaway.error_code);
        break;
      default:
        break;
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* data_flags, nghttp2_data_source*, void* ud) {
    auto& c = self(ud);
    stream_state* s = c.find(id);
    if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = std::min(length, s->body_out.size());
    if (n == 0 && !s->out_last) {
      s->deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::memcpy(buf, s->body_out.data(), n);
    s->body_out.erase(0, n);
    if (s->body_out.empty() && s->out_last) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (s->wants_room && s->body_out.size() < c.limits_.max_queued_body_bytes) {
      s->wants_room = false;
      c.push({h2_event::kind::writable, id});
    }
    return static_cast<ssize_t>(n);
  }
};

h2_connection::h2_connection(const h2_limits& limits) : limits_(limits) {
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&raw_callbacks) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_session_callbacks, callbacks_deleter> cbs(raw_callbacks);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs.get(), callbacks::on_begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs.get(), callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs.get(), callbacks::on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs.get(), callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs.get(), callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs.get(), callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs.get(), callbacks::on_frame_send);

  nghttp2_option* raw_options = nullptr;
  if (nghttp2_option_new(&raw_options) != 0) throw std::bad_alloc();
  std::unique_ptr<nghttp2_option, options_deleter> options(raw_options);
  nghttp2_option_set_no_auto_window_update(options.get(), 1);
  nghttp2_option_set_no_closed_streams(options.get(), 1);
  nghttp2_option_set_max_outbound_ack(options.get(), limits.max_outbound_ack);
  nghttp2_option_set_max_settings(options.get(), limits.max_settings_entries);
  nghttp2_option_set_max_continuations(options.get(), limits.max_continuations);
  nghttp2_option_set_stream_reset_rate_limit(options.get(), limits.reset_burst,
                                             limits.reset_rate_per_second);
  nghttp2_option_set_max_deflate_dynamic_table_size(options.get(), limits.header_table_bytes);
  if (nghttp2_session_server_new2(&session_, cbs.get(), this, options.get()) != 0)
    throw std::bad_alloc();

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits.max_header_list_bytes},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, limits.header_table_bytes},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(limits.connection_window_bytes));
}

h2_connection::~h2_connection() { nghttp2_session_del(session_); }

int h2_connection::starts_with_preface(std::span<const char> bytes) noexcept {
  const std::size_t n = std::min(bytes.size(), client_preface.size());
  if (std::string_view(bytes.data(), n) != client_preface.substr(0, n)) return 0;
  return n == client_preface.size() ? 1 : -1;
}

h2_connection::status h2_connection::receive(std::span<const char> bytes) {
  if (calm_) return status::closing;
  const auto rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) return calm_ ? status::closing : status::failed;
  return nghttp2_session_want_read(session_) != 0 ? status::ok : status::closing;
}

std::vector<h2_event> h2_connection::take_events() {
  for (const std::int32_t id : retired_) streams_.erase(id);
  retired_.swap(closing_);
  closing_.clear();
  std::vector<h2_event> out;
  out.swap(events_);
  return out;
}

std::string_view h2_connection::pending_output(std::size_t want) {
  while (out_.size() - out_sent_ < want) {
    const std::uint8_t* data = nullptr;
    const auto n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return std::string_view(out_).substr(out_sent_);
}

void h2_connection::consume(std::size_t n) {
  out_sent_ = std::min(out_.size(), out_sent_ + n);
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

h2_connection::stream_state* h2_connection::find(std::int32_t stream) {
  auto it = streams_.find(stream);
  return it == streams_.end() || it->second.closed ? nullptr : &it->second;
}

const h2_connection::stream_state* h2_connection::find(std::int32_t stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() || it->second.closed ? nullptr : &it->second;
}

std::size_t h2_connection::open_streams() const noexcept {
  return streams_.size() - closing_.size() - retired_.size();
}

const h2_request* h2_connection::request(std::int32_t stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second.announced ? &it->second.head : nullptr;
}

std::string_view h2_connection::body(std::int32_t stream) const {
  const stream_state* s = find(stream);
  return s != nullptr ? std::string_view(s->body_in) : std::string_view();
}

void h2_connection::consume_body(std::int32_t stream, std::size_t n) {
  stream_state* s = find(stream);
  if (s == nullptr) return;
  n = std::min(n, s->body_in.size());
  s->body_in.erase(0, n);
  nghttp2_session_consume(session_, stream, n);
}

// A response head as HTTP/2 fields: ":status" first, names in lowercase, connection-specific
// fields (malformed in HTTP/2) left out. The nv entries view `code`, `names` and `headers`.
struct h2_connection::response_fields {
  std::string code;
  std::vector<std::string> names;
  std::vector<nghttp2_nv> nva;

  response_fields(unsigned status, const boost::beast::http::fields& headers)
      : code(std::to_string(status)) {
    // Reserved up front: nva holds views into these strings.
    names.reserve(static_cast<std::size_t>(std::distance(headers.begin(), headers.end())));
    nva.push_back(make_nv(":status", code));
    for (const auto& f : headers) {
      const std::string_view name = f.name_string();
      if (connection_specific(name)) continue;
      std::string& lower = names.emplace_back(name);
      std::transform(lower.begin(), lower.end(), lower.begin(), [](char ch) {
        return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch + 32) : ch;
      });
      nva.push_back(make_nv(lower, f.value()));
    }
  }
};

bool h2_connection::inform(std::int32_t stream, unsigned status,
                           const boost::beast::http::fields& headers) {
  const stream_state* s = find(stream);
  // 101 has no HTTP/2 form (RFC 9113 §8.6).
  if (s == nullptr || s->answered || status < 100 || status > 199 || status == 101) return false;
  const response_fields f(status, headers);
  return nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, stream, nullptr, f.nva.data(),
                                f.nva.size(), nullptr) >= 0;
}

bool h2_connection::respond(std::int32_t stream, unsigned status,
                            const boost::beast::http::fields& headers, bool end_stream) {
  stream_state* s = find(stream);
  if (s == nullptr || s->answered || status < 200 || status > 999) return false;
  const response_fields f(status, headers);
  nghttp2_data_provider provider{};
  provider.read_callback = callbacks::read_body;
  if (nghttp2_submit_response(session_, stream, f.nva.data(), f.nva.size(),
                              end_stream ? nullptr : &provider) != 0)
    return false;
  s->answered = true;
  s->out_last = end_stream;
  return true;
}

std::size_t h2_connection::send_body(std::int32_t stream, std::span<const char> bytes, bool last) {
  stream_state* s = find(stream);
  if (s == nullptr || !s->answered || s->out_last) return 0;
  const std::size_t room = limits_.max_queued_body_bytes -
                           std::min(limits_.max_queued_body_bytes, s->body_out.size());
  const std::size_t n = std::min(room, bytes.size());
  s->body_out.append(bytes.data(), n);
  if (n < bytes.size()) s->wants_room = true;
  else if (last) s->out_last = true;
  if (s->deferred && (n > 0 || s->out_last)) {
    s->deferred = false;
    nghttp2_session_resume_data(session_, stream);
  }
  return n;
}

std::uint64_t h2_connection::body_sent(std::int32_t stream) const {
  const stream_state* s = find(stream);
  return s != nullptr ? s->out_sent : 0;
}

bool h2_connection::response_sent(std::int32_t stream) const {
  const stream_state* s = find(stream);
  return s == nullptr || s->out_ended;
}

void h2_connection::reset(std::int32_t stream, std::uint32_t error_code) {
  if (find(stream) != nullptr)
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, error_code);
}

void h2_connection::drain() {
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

bool h2_connection::done() const noexcept {
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0 &&
         out_sent_ == out_.size();
}

void h2_connection::calm_down(std::uint64_t h2_stats::*counter) {
  if (calm_) return;
  calm_ = true;
  ++(stats_.*counter);
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
}

}  // namespace bfast::server
