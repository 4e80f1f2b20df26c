#include "process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace bfast::server {
namespace {

// The field after the command name is field 3 (state); these are counted from there.
constexpr std::size_t utime_field = 14 - 3;
constexpr std::size_t stime_field = 15 - 3;
constexpr std::size_t start_field = 22 - 3;
constexpr std::size_t rss_field = 24 - 3;

bool parse_number(std::string_view s, std::uint64_t& v) noexcept {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && end == s.data() + s.size();
}

std::string read_whole(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

std::optional<proc_stat_fields> parse_proc_stat(std::string_view text) noexcept {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || text.find('(') > close) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  proc_stat_fields f;
  std::size_t field = 0;
  while (field <= rss_field) {
    const std::size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    const std::size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    const std::string_view token = rest.substr(0, end);
    rest.remove_prefix(end);
    std::uint64_t* into = field == utime_field   ? &f.utime_ticks
                          : field == stime_field ? &f.stime_ticks
                          : field == start_field ? &f.start_ticks
                          : field == rss_field   ? &f.rss_pages
                                                 : nullptr;
    if (into && !parse_number(token, *into)) return std::nullopt;
    ++field;
  }
  return f;
}

std::optional<std::uint64_t> parse_boot_time(std::string_view proc_stat) noexcept {
  constexpr std::string_view key = "btime ";
  for (std::size_t pos = 0; pos < proc_stat.size();) {
    const std::size_t eol = std::min(proc_stat.find('\n', pos), proc_stat.size());
    const std::string_view line = proc_stat.substr(pos, eol - pos);
    if (line.starts_with(key)) {
      std::uint64_t v = 0;
      if (parse_number(line.substr(key.size()), v)) return v;
      return std::nullopt;
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

process_stats read_process_stats() {
  process_stats p;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto stat = parse_proc_stat(read_whole("/proc/self/stat"));
  const auto boot = parse_boot_time(read_whole("/proc/stat"));
  if (stat && boot && ticks > 0 && page > 0) {
    p.proc_ok = true;
    p.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) /
                    static_cast<double>(ticks);
    p.resident_bytes = stat->rss_pages * static_cast<std::uint64_t>(page);
    p.start_time_seconds =
        static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / static_cast<double>(ticks);
  }
  std::error_code ec;
  std::int64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++fds;
  // The directory's own descriptor is open while it is listed: it is not the process's.
  if (!ec && fds > 0) p.open_fds = fds - 1;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
    p.max_fds = static_cast<std::int64_t>(lim.rlim_cur);
  return p;
}

}  // namespace bfast::server
