// The process metrics Prometheus' client libraries export under the standard process_* names,
// read from /proc and getrlimit at each scrape.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace bfast::server {

// The fields of /proc/[pid]/stat that the metrics need, in the kernel's units.
struct proc_stat_fields {
  std::uint64_t utime_ticks = 0;
  std::uint64_t stime_ticks = 0;
  std::uint64_t start_ticks = 0;  // after boot
  std::uint64_t rss_pages = 0;
};

// Parses one /proc/[pid]/stat line; nullopt when it is not one. The command name may hold
// spaces and parentheses, so the fields are counted from its last ')'.
[[nodiscard]] std::optional<proc_stat_fields> parse_proc_stat(std::string_view text) noexcept;
// The boot time (seconds since the epoch) from /proc/stat's btime line.
[[nodiscard]] std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) noexcept;

struct process_stats {
  double cpu_seconds = 0;
  std::uint64_t resident_bytes = 0;
  double start_time_seconds = 0;
  std::int64_t open_fds = -1;  // -1: unknown
  std::int64_t max_fds = -1;   // -1: unlimited or unknown
  bool proc_ok = false;        // /proc/self/stat was read: cpu, memory and start time hold
};

[[nodiscard]] process_stats read_process_stats();

}  // namespace bfast::server
