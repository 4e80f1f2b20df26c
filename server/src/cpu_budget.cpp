#include "cpu_budget.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

namespace bfast::server {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<cpu_quota> quota_of(std::uint64_t quota_us, std::uint64_t period_us) {
  if (quota_us == 0 || period_us == 0) return std::nullopt;
  return cpu_quota{quota_us, period_us};
}

// "1.5", "2", "0.25": CPUs to two decimals, without trailing zeros.
std::string cpus_text(const cpu_quota& q) {
  const std::uint64_t hundredths = (q.quota_us * 100 + q.period_us / 2) / q.period_us;
  std::string text = std::to_string(hundredths / 100);
  if (const std::uint64_t frac = hundredths % 100) {
    text += '.';
    text += static_cast<char>('0' + frac / 10);
    if (frac % 10) text += static_cast<char>('0' + frac % 10);
  }
  return text;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The tightest quota on `path` and its parents under `mount`, read by `quota_in(dir)`.
template <class QuotaIn>
std::optional<cpu_quota> hierarchy_quota(std::string_view mount, std::string_view path,
                                         QuotaIn quota_in) {
  std::optional<cpu_quota> q;
  for (const std::string& dir : cgroup_dirs(mount, path)) q = tighter(q, quota_in(dir));
  return q;
}

unsigned affinity_cpus() {
  // Sized for machines beyond CPU_SETSIZE (1024).
  constexpr int max_cpus = 8192;
  cpu_set_t* set = CPU_ALLOC(max_cpus);
  const std::size_t size = CPU_ALLOC_SIZE(max_cpus);
  unsigned n = 0;
  if (set && sched_getaffinity(0, size, set) == 0) n = static_cast<unsigned>(CPU_COUNT_S(size, set));
  if (set) CPU_FREE(set);
  return n ? n : std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

std::optional<cpu_quota> parse_cpu_max(std::string_view cpu_max) {
  const std::string_view line = trim(cpu_max);
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = number<std::uint64_t>(line.substr(0, space));
  const auto period = number<std::uint64_t>(trim(line.substr(space + 1)));
  if (!quota || !period) return std::nullopt;  // "max": no quota
  return quota_of(*quota, *period);
}

std::optional<cpu_quota> parse_cfs_quota(std::string_view quota_us, std::string_view period_us) {
  const auto quota = number<std::int64_t>(trim(quota_us));
  const auto period = number<std::uint64_t>(trim(period_us));
  if (!quota || !period || *quota <= 0) return std::nullopt;  // -1: no quota
  return quota_of(static_cast<std::uint64_t>(*quota), *period);
}

std::optional<std::string> cgroup_path(std::string_view proc_self_cgroup,
                                       std::string_view controller) {
  while (!proc_self_cgroup.empty()) {
    const auto eol = proc_self_cgroup.find('\n');
    const std::string_view line = proc_self_cgroup.substr(0, eol);
    proc_self_cgroup = eol == std::string_view::npos ? std::string_view{}
                                                     : proc_self_cgroup.substr(eol + 1);
    // hierarchy-id:controller-list:path, where the path may itself hold colons.
    const auto first = line.find(':');
    const auto second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, first);
    std::string_view list = line.substr(first + 1, second - first - 1);
    const std::string path(line.substr(second + 1));
    if (controller.empty()) {
      if (id == "0" && list.empty()) return path;
      continue;
    }
    while (!list.empty()) {
      const auto comma = list.find(',');
      if (list.substr(0, comma) == controller) return path;
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
  }
  return std::nullopt;
}

std::vector<std::string> cgroup_dirs(std::string_view mount, std::string_view path) {
  std::vector<std::string> dirs;
  std::string p(trim(path));
  while (!p.empty() && p.back() == '/') p.pop_back();
  // A path the kernel did not write (not absolute) names no directory under the mount.
  if (!p.starts_with('/')) p.clear();
  while (!p.empty()) {
    dirs.push_back(std::string(mount) + p);
    p.erase(p.rfind('/'));
  }
  dirs.emplace_back(mount);
  return dirs;
}

std::optional<cpu_quota> tighter(std::optional<cpu_quota> a, std::optional<cpu_quota> b) {
  if (!a) return b;
  if (!b) return a;
  const auto cpus = [](const cpu_quota& q) {
    return static_cast<double>(q.quota_us) / static_cast<double>(q.period_us);
  };
  return cpus(*a) <= cpus(*b) ? a : b;
}

cpu_budget budget_from(unsigned affinity_cpus, std::optional<cpu_quota> quota) {
  const unsigned affinity = std::max(1u, affinity_cpus);
  const std::string mask = std::to_string(affinity) + (affinity == 1 ? " CPU" : " CPUs") +
                           " in the affinity mask";
  if (quota) {
    const std::uint64_t ceil = (quota->quota_us + quota->period_us - 1) / quota->period_us;
    if (ceil < affinity)
      return {static_cast<unsigned>(std::max<std::uint64_t>(1, ceil)),
              "cgroup quota " + cpus_text(*quota) + " CPUs, " + mask};
    return {affinity, mask + ", cgroup quota " + cpus_text(*quota) + " CPUs"};
  }
  return {affinity, mask + ", no cgroup quota"};
}

cpu_budget detect_cpu_budget() {
  const std::string self = read_file("/proc/self/cgroup").value_or("");
  std::optional<cpu_quota> quota;
  if (const auto path = cgroup_path(self, "")) {
    quota = tighter(quota, hierarchy_quota("/sys/fs/cgroup", *path, [](const std::string& dir) {
      const auto text = read_file(dir + "/cpu.max");
      return text ? parse_cpu_max(*text) : std::nullopt;
    }));
  }
  if (const auto path = cgroup_path(self, "cpu")) {
    quota = tighter(quota, hierarchy_quota("/sys/fs/cgroup/cpu", *path, [](const std::string& dir) {
      const auto q = read_file(dir + "/cpu.cfs_quota_us");
      const auto p = read_file(dir + "/cpu.cfs_period_us");
      return q && p ? parse_cfs_quota(*q, *p) : std::nullopt;
    }));
  }
  return budget_from(affinity_cpus(), quota);
}

}  // namespace bfast::server
