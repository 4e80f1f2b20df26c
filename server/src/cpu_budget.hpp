// How many threads "one per core" means for this process: the CPUs its affinity mask allows,
// capped by its cgroup's CPU quota, which std::thread::hardware_concurrency() ignores (a pod
// limited to 1.5 CPUs on a 64-core node would otherwise start 64 I/O and 64 transform threads).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bfast::server {

// CPU time allowed per period: quota_us / period_us CPUs.
struct cpu_quota {
  std::uint64_t quota_us = 0;
  std::uint64_t period_us = 0;
};

// cgroup v2 cpu.max ("150000 100000"); nullopt for "max" (no quota) or text it cannot read.
[[nodiscard]] std::optional<cpu_quota> parse_cpu_max(std::string_view cpu_max);
// cgroup v1 cpu.cfs_quota_us and cpu.cfs_period_us; nullopt for -1 (no quota).
[[nodiscard]] std::optional<cpu_quota> parse_cfs_quota(std::string_view quota_us,
                                                       std::string_view period_us);
// The process's cgroup path from /proc/self/cgroup: the v2 entry ("0::/path") when controller
// is empty, else the v1 hierarchy whose controller list holds it ("4:cpu,cpuacct:/path").
[[nodiscard]] std::optional<std::string> cgroup_path(std::string_view proc_self_cgroup,
                                                     std::string_view controller);
// mount + path, then each parent up to mount itself: a quota on any of them applies. In a
// container the path may name the host's hierarchy, absent here; the mount is then its own.
[[nodiscard]] std::vector<std::string> cgroup_dirs(std::string_view mount, std::string_view path);
// The smaller of two quotas, in CPUs.
[[nodiscard]] std::optional<cpu_quota> tighter(std::optional<cpu_quota> a,
                                               std::optional<cpu_quota> b);

struct cpu_budget {
  unsigned threads = 1;
  std::string reason;  // "cgroup quota 1.5 CPUs", "1 CPU in the affinity mask"
};

// min(affinity_cpus, ceil(quota)), at least 1.
[[nodiscard]] cpu_budget budget_from(unsigned affinity_cpus, std::optional<cpu_quota> quota);

// Reads /proc/self/cgroup, the quotas under /sys/fs/cgroup (v2 and v1) and the affinity mask.
[[nodiscard]] cpu_budget detect_cpu_budget();

}  // namespace bfast::server
