// The /proc parsing behind the process_* metrics, on lines of the kernel's shape.
#include <gtest/gtest.h>

#include "process_stats.hpp"

namespace bfast::server {
namespace {

// Fields 1..24 of /proc/[pid]/stat: utime 14 = 250, stime 15 = 50, starttime 22 = 123456,
// rss 24 = 2048; the command name holds a space and both parentheses.
constexpr std::string_view stat_line =
    "4242 (bfast (proxy) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 50 0 0 20 0 9 0 123456 "
    "987654321 2048 18446744073709551615 1 1 0 0 0 0 0 4096 17920 0 0 0 17 1 0 0 0 0 0\n";

TEST(process_stats, parses_the_fields_after_the_last_parenthesis) {
  const auto f = parse_proc_stat(stat_line);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->utime_ticks, 250u);
  EXPECT_EQ(f->stime_ticks, 50u);
  EXPECT_EQ(f->start_ticks, 123456u);
  EXPECT_EQ(f->rss_pages, 2048u);
}

TEST(process_stats, refuses_what_is_not_a_stat_line) {
  EXPECT_FALSE(parse_proc_stat(""));
  EXPECT_FALSE(parse_proc_stat("4242 bfast S 1 2 3"));
  // Cut before rss.
  EXPECT_FALSE(parse_proc_stat(stat_line.substr(0, stat_line.find(" 987654321"))));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 2x5 50 0 0 20 0 9 0 1 2 3"));
}

TEST(process_stats, finds_the_boot_time) {
  EXPECT_EQ(parse_boot_time("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n"),
            std::optional<std::uint64_t>(1700000000));
  EXPECT_FALSE(parse_boot_time("cpu  1 2 3\nbtimes 4\n"));
  EXPECT_FALSE(parse_boot_time("btime x\n"));
}

TEST(process_stats, reads_this_process) {
  const process_stats p = read_process_stats();
  EXPECT_TRUE(p.proc_ok);
  EXPECT_GT(p.resident_bytes, 0u);
  EXPECT_GT(p.start_time_seconds, 0);
  EXPECT_GT(p.open_fds, 2);  // stdin, stdout, stderr at least
  if (p.max_fds >= 0) EXPECT_LE(p.open_fds, p.max_fds);
}

}  // namespace
}  // namespace bfast::server
