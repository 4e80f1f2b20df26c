// One JSON line per request on stdout. I/O threads only append to a bounded buffer; one writer
// thread drains it, so a stdout nobody reads drops lines instead of stalling the proxy.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace bfast::server {

// Fields from the client's header are cut to this many bytes in the log.
inline constexpr std::size_t max_logged_field_bytes = 256;
// The request target is cut too: escaped, a header-sized one would outgrow the log's buffer and
// be dropped, keeping its request out of the log.
inline constexpr std::size_t max_logged_target_bytes = 4096;

struct access_entry {
  std::string_view client;       // the peer of the connection
  std::string_view real_client;  // behind trusted proxies, X-Forwarded-For's client (realip)
  std::string_view request_id;
  std::string_view user_agent;
  std::string_view method;
  std::string_view target;
  std::string_view protocol;  // HTTP/1.0, HTTP/1.1 or HTTP/2.0 (nginx's $server_protocol)
  unsigned status = 0;
  std::string_view decision;  // transcoded | passthrough | rejected | error
  std::string_view reason;
  std::string_view compress;
  std::string_view request_body;  // decoded | refused, for a B-FAST request body; else empty
  std::uint64_t request_in = 0;   // its bytes as sent, and the JSON sent up when decoded
  std::uint64_t request_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t response_in = 0;   // transcoded or JSON chosen: the upstream's JSON bytes
  std::uint64_t response_out = 0;  // ... and the chosen body's bytes on the wire
  std::string_view upstream_error;  // connect_refused, header_timeout, ... (upstream_error_kind)
  double upstream_ms = 0;
  double total_ms = 0;
  bool aborted = false;
};

class access_log {
 public:
  // Lines that would take the buffered bytes past `buffer_bytes` are dropped and counted.
  access_log(bool enabled, std::size_t buffer_bytes, std::atomic<std::uint64_t>& dropped,
             int fd = 1);
  ~access_log();
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  // Never blocks on the output: formats the line and queues it, or drops it.
  void write(const access_entry& e);
  // Writes what is queued (giving up if the output makes no progress) and ends the writer.
  void stop();

 private:
  void run();
  // Returns how much of `bytes` went out: less if the output failed, or stayed blocked at a stop.
  std::size_t write_out(std::string_view bytes);

  const bool enabled_;
  const std::size_t buffer_bytes_;
  const int fd_;
  std::size_t max_write_;  // a pipe's atomic write size, or no limit for a regular file
  std::atomic<std::uint64_t>& dropped_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string pending_;         // guarded by mutex_
  std::size_t in_write_ = 0;    // bytes the writer holds; guarded by mutex_
  std::atomic<bool> stopping_{false};
  std::thread writer_;
};

// Appends s to out as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view s);

}  // namespace bfast::server
