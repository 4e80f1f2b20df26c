#include "access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

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
  line += ",\"method\":";
  append_json_string(line, e.method);
  line += ",\"target\":";
  append_json_string(line, e.target);
  line += ",\"status\":" + std::to_string(e.status);
  line += ",\"decision\":";
  append_json_string(line, e.decision);
  line += ",\"reason\":";
  append_json_string(line, e.reason);
  if (!e.compress.empty()) {
    line += ",\"compress\":";
    append_json_string(line, e.compress);
  }
  line += ",\"bytes_out\":" + std::to_string(e.bytes_out);
  char nums[96];
  std::snprintf(nums, sizeof nums, ",\"upstream_ms\":%.3f,\"total_ms\":%.3f", e.upstream_ms, e.total_ms);
  line += nums;
  if (e.aborted) line += ",\"aborted\":true";
  line += "}\n";
  std::lock_guard lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace bfast::server
