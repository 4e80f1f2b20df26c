#include "stream_pipe.hpp"

#include <algorithm>
#include <cstring>

namespace bfast::server {

std::pair<stream_pipe_end, stream_pipe_end> stream_pipe_end::make(const executor& ex,
                                                                  std::size_t capacity) {
  auto core = std::make_shared<pipe_core>(ex, capacity);
  return {stream_pipe_end(core, 0, ex), stream_pipe_end(core, 1, ex)};
}

stream_pipe_end::~stream_pipe_end() {
  // An end dropped without close() went away mid-exchange: the peer must not take it for an end.
  if (core_ && !closed_) abort();
}

std::size_t stream_pipe_end::room() const noexcept {
  if (broken() || out().eof) return 0;
  return core_->capacity - std::min(core_->capacity, out().size());
}

void stream_pipe_end::push(std::string_view bytes) {
  pipe_lane& o = out();
  if (o.reset || o.eof || bytes.empty()) return;
  if (o.read_at > 0 && o.read_at == o.data.size()) {
    o.data.clear();
    o.read_at = 0;
  }
  o.data.append(bytes);
  o.reader_wake.cancel();
}

bool stream_pipe_end::readable() const noexcept {
  const pipe_lane& i = in();
  return i.size() > 0 || i.eof || i.reset;
}

stream_pipe_end::ready stream_pipe_end::try_read(asio::mutable_buffer b, beast::error_code& ec,
                                                 std::size_t& n) {
  pipe_lane& i = in();
  if (i.reset) {
    ec = asio::error::connection_reset;
    return ready::now;
  }
  if (b.size() == 0) return ready::now;
  if (i.size() == 0) {
    if (!i.eof) return ready::wait;
    ec = asio::error::eof;
    return ready::now;
  }
  n = std::min(b.size(), i.size());
  std::memcpy(b.data(), i.data.data() + i.read_at, n);
  i.read_at += n;
  if (i.read_at == i.data.size()) {
    i.data.clear();
    i.read_at = 0;
    // A pipe that was full once should not keep its peak while idle.
    if (i.data.capacity() > core_->capacity) i.data.shrink_to_fit();
  } else if (i.read_at >= core_->capacity) {
    i.data.erase(0, i.read_at);
    i.read_at = 0;
  }
  i.writer_wake.cancel();
  if (i.on_room) i.on_room();
  return ready::now;
}

stream_pipe_end::ready stream_pipe_end::try_write(asio::const_buffer b, beast::error_code& ec,
                                                  std::size_t& n) {
  pipe_lane& o = out();
  if (o.reset || o.eof) {
    ec = o.reset ? asio::error::connection_reset : asio::error::broken_pipe;
    return ready::now;
  }
  if (b.size() == 0) return ready::now;
  const std::size_t r = room();
  if (r == 0) return ready::wait;
  n = std::min(r, b.size());
  push({static_cast<const char*>(b.data()), n});
  return ready::now;
}

void stream_pipe_end::arm(steady_timer& timer) const {
  timer.expires_at(deadline_ ? *deadline_ : steady_timer::time_point::max());
}

void stream_pipe_end::time_out() noexcept { abort(); }

void stream_pipe_end::shutdown_send() noexcept {
  if (!core_) return;
  out().eof = true;
  out().reader_wake.cancel();
}

void stream_pipe_end::close() noexcept {
  if (!core_) return;
  shutdown_send();
  pipe_lane& i = in();
  i.reset = true;
  i.data = {};
  i.read_at = 0;
  i.writer_wake.cancel();
  if (i.on_room) i.on_room();
  closed_ = true;
}

void stream_pipe_end::abort() noexcept {
  if (!core_) return;
  for (pipe_lane& l : core_->lanes) {
    l.reset = true;
    l.data = {};
    l.read_at = 0;
    l.reader_wake.cancel();
    l.writer_wake.cancel();
  }
  closed_ = true;
  for (pipe_lane& l : core_->lanes)
    if (l.on_room) l.on_room();
}

}  // namespace bfast::server
