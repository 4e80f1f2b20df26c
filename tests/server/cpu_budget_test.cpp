#include "cpu_budget.hpp"

#include <gtest/gtest.h>

namespace bfast::server {
namespace {

TEST(cpu_budget, cgroup2_cpu_max) {
  const auto q = parse_cpu_max("150000 100000\n");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->quota_us, 150000u);
  EXPECT_EQ(q->period_us, 100000u);
  EXPECT_FALSE(parse_cpu_max("max 100000\n"));
  EXPECT_FALSE(parse_cpu_max(""));
  EXPECT_FALSE(parse_cpu_max("150000"));
  EXPECT_FALSE(parse_cpu_max("0 100000"));
  EXPECT_FALSE(parse_cpu_max("150000 0"));
  EXPECT_FALSE(parse_cpu_max("15x000 100000"));
}

TEST(cpu_budget, cgroup1_cfs_quota) {
  const auto q = parse_cfs_quota("50000\n", "100000\n");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->quota_us, 50000u);
  EXPECT_EQ(q->period_us, 100000u);
  EXPECT_FALSE(parse_cfs_quota("-1\n", "100000\n"));
  EXPECT_FALSE(parse_cfs_quota("", "100000"));
  EXPECT_FALSE(parse_cfs_quota("50000", "0"));
}

TEST(cpu_budget, cgroup_path_from_proc_self_cgroup) {
  const char* hybrid =
      "9:name=systemd:/\n"
      "2:cpuacct:/acct\n"
      "1:cpu,cpuset:/kubepods/pod1/c1\n"
      "0::/unified:path\n";
  EXPECT_EQ(cgroup_path(hybrid, ""), "/unified:path");
  // "cpuacct" is not "cpu": the list is matched by whole names.
  EXPECT_EQ(cgroup_path(hybrid, "cpu"), "/kubepods/pod1/c1");
  EXPECT_EQ(cgroup_path("0::/\n", ""), "/");
  EXPECT_FALSE(cgroup_path("0::/\n", "cpu"));
  EXPECT_FALSE(cgroup_path("2:cpuacct:/a\n", "cpu"));
  EXPECT_FALSE(cgroup_path("", ""));
}

TEST(cpu_budget, cgroup_dirs_walk_up_to_the_mount) {
  EXPECT_EQ(cgroup_dirs("/sys/fs/cgroup", "/a/b\n"),
            (std::vector<std::string>{"/sys/fs/cgroup/a/b", "/sys/fs/cgroup/a", "/sys/fs/cgroup"}));
  EXPECT_EQ(cgroup_dirs("/sys/fs/cgroup", "/"), (std::vector<std::string>{"/sys/fs/cgroup"}));
  // Not absolute: only the mount, and no throw from erasing at npos.
  EXPECT_EQ(cgroup_dirs("/sys/fs/cgroup", "a/b"), (std::vector<std::string>{"/sys/fs/cgroup"}));
  EXPECT_EQ(cgroup_dirs("/sys/fs/cgroup", "a"), (std::vector<std::string>{"/sys/fs/cgroup"}));
}

TEST(cpu_budget, tighter_quota_wins) {
  const cpu_quota half{50000, 100000};
  const cpu_quota two{400000, 200000};
  EXPECT_EQ(tighter(half, two)->quota_us, 50000u);
  EXPECT_EQ(tighter(two, half)->quota_us, 50000u);
  EXPECT_EQ(tighter(std::nullopt, two)->quota_us, 400000u);
  EXPECT_EQ(tighter(two, std::nullopt)->quota_us, 400000u);
  EXPECT_FALSE(tighter(std::nullopt, std::nullopt));
}

TEST(cpu_budget, quota_rounds_up_below_the_affinity_mask) {
  const cpu_budget b = budget_from(8, cpu_quota{150000, 100000});
  EXPECT_EQ(b.threads, 2u);
  EXPECT_EQ(b.reason, "cgroup quota 1.5 CPUs, 8 CPUs in the affinity mask");
  EXPECT_EQ(budget_from(8, cpu_quota{200000, 100000}).threads, 2u);
  EXPECT_EQ(budget_from(8, cpu_quota{200001, 100000}).threads, 3u);
}

TEST(cpu_budget, affinity_mask_caps_a_larger_quota) {
  const cpu_budget b = budget_from(1, cpu_quota{400000, 100000});
  EXPECT_EQ(b.threads, 1u);
  EXPECT_EQ(b.reason, "1 CPU in the affinity mask, cgroup quota 4 CPUs");
  EXPECT_EQ(budget_from(4, std::nullopt).threads, 4u);
  EXPECT_EQ(budget_from(4, std::nullopt).reason, "4 CPUs in the affinity mask, no cgroup quota");
}

TEST(cpu_budget, at_least_one_thread) {
  const cpu_budget b = budget_from(16, cpu_quota{10000, 100000});
  EXPECT_EQ(b.threads, 1u);
  EXPECT_EQ(b.reason, "cgroup quota 0.1 CPUs, 16 CPUs in the affinity mask");
  EXPECT_EQ(budget_from(0, std::nullopt).threads, 1u);
}

}  // namespace
}  // namespace bfast::server
