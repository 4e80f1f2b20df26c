#include "access_log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <ctime>

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bfast::server {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      // Targets are bytes from the wire; escaping non-ASCII keeps every line valid JSON.
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

access_log::access_log(bool enabled, std::size_t buffer_bytes, std::atomic<std::uint64_t>& dropped,
                       int fd)
    : enabled_(enabled), buffer_bytes_(buffer_bytes), fd_(fd), max_write_(PIPE_BUF),
      dropped_(dropped) {
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) max_write_ = SIZE_MAX;
  if (enabled_) writer_ = std::thread([this] { run(); });
}

access_log::~access_log() { stop(); }

void access_log::stop() {
  if (!writer_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
  }
  wake_.notify_one();
  writer_.join();
}

void access_log::run() {
  std::string batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      in_write_ = 0;
      wake_.wait(lock, [this] { return !pending_.empty() || stopping_.load(); });
      if (pending_.empty()) return;
      batch.swap(pending_);
      pending_.clear();
      in_write_ = batch.size();
    }
    const std::size_t written = write_out(batch);
    const auto lost =
        std::count(batch.begin() + static_cast<std::ptrdiff_t>(written), batch.end(), '\n');
    if (lost) dropped_.fetch_add(static_cast<std::uint64_t>(lost), std::memory_order_relaxed);
    batch.clear();
  }
}

std::size_t access_log::write_out(std::string_view bytes) {
  std::size_t done = 0;
  int idle_polls = 0;
  while (done < bytes.size()) {
    pollfd p{fd_, POLLOUT, 0};
    const int r = ::poll(&p, 1, 100);
    if (r == 0 || (r < 0 && errno == EINTR)) {
      // Serving, waiting is fine; at a stop, a reader gone quiet gets about a second.
      if (stopping_.load() && ++idle_polls >= 10) break;
      continue;
    }
    if (r < 0) break;
    // POLLOUT on a pipe promises PIPE_BUF bytes of room, so this write does not block. Whole
    // lines per write keep them intact when stderr shares the file.
    std::size_t n = std::min(bytes.size() - done, max_write_);
    const std::size_t line_end = bytes.substr(done, n).rfind('\n');
    if (line_end != std::string_view::npos) n = line_end + 1;
    const ssize_t w = ::write(fd_, bytes.data() + done, n);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    done += static_cast<std::size_t>(w);
    idle_polls = 0;
  }
  return done;
}

void access_log::write(const access_entry& e) {
  if (!enabled_) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[40];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms.count()));
  std::string line;
  line.reserve(256);
  line += "{\"ts\":\"";
  line += ts;
  line += "\",\"client\":";
  append_json_string(line, e.client);
  // Free text from the client's header: cut, then escaped, so a line stays small and valid.
  const auto bounded = [&](std::string_view name, std::string_view value) {
    if (value.empty()) return;
    line += ",\"";
    line += name;
    line += "\":";
    append_json_string(line, value.substr(0, max_logged_field_bytes));
  };
  bounded("real_client", e.real_client);
  bounded("request_id", e.request_id);
  line += ",\"method\":";
  append_json_string(line, e.method.substr(0, max_logged_field_bytes));
  line += ",\"target\":";
  append_json_string(line, e.target.substr(0, max_logged_target_bytes));
  if (!e.protocol.empty()) {
    line += ",\"protocol\":";
    append_json_string(line, e.protocol);
  }
  line += ",\"status\":" + std::to_string(e.status);
  line += ",\"decision\":";
  append_json_string(line, e.decision);
  line += ",\"reason\":";
  append_json_string(line, e.reason);
  bounded("upstream_error", e.upstream_error);
  if (!e.compress.empty()) {
    line += ",\"compress\":";
    append_json_string(line, e.compress);
    line += ",\"response_in\":" + std::to_string(e.response_in);
    line += ",\"response_out\":" + std::to_string(e.response_out);
  }
  if (!e.request_body.empty()) {
    line += ",\"request_body\":";
    append_json_string(line, e.request_body);
    line += ",\"request_in\":" + std::to_string(e.request_in);
    line += ",\"request_out\":" + std::to_string(e.request_out);
  }
  line += ",\"bytes_out\":" + std::to_string(e.bytes_out);
  bounded("user_agent", e.user_agent);
  char nums[96];
  std::snprintf(nums, sizeof nums, ",\"upstream_ms\":%.3f,\"total_ms\":%.3f", e.upstream_ms, e.total_ms);
  line += nums;
  if (e.aborted) line += ",\"aborted\":true";
  line += "}\n";
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_.load() || pending_.size() + in_write_ + line.size() > buffer_bytes_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    // The writer sleeps only when nothing is pending.
    wake = pending_.empty();
    pending_ += line;
  }
  if (wake) wake_.notify_one();
}

}  // namespace bfast::server
