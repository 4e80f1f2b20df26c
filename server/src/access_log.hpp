// One JSON line per request on stdout.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace bfast::server {

struct access_entry {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  unsigned status = 0;
  std::string_view decision;  // transcoded | passthrough | rejected | error
  std::string_view reason;
  std::string_view compress;
  std::uint64_t bytes_out = 0;
  double upstream_ms = 0;
  double total_ms = 0;
  bool aborted = false;
};

class access_log {
 public:
  explicit access_log(bool enabled) : enabled_(enabled) {}
  [[nodiscard]] bool enabled() const noexcept { return enabled_; }
  void write(const access_entry& e);

 private:
  bool enabled_;
  std::mutex mutex_;
};

// Appends s to out as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view s);

}  // namespace bfast::server
