// The per-route families, the decision label table and the text they render.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "bfast/build_info.hpp"
#include "metrics.hpp"

namespace bfast::server {
namespace {

TEST(route_labels, keeps_a_bounded_set_of_prefixes) {
  route_labels r;
  EXPECT_EQ(r.name(route_labels::none), "none");
  EXPECT_EQ(r.name(route_labels::other), "other");
  const std::size_t api = r.slot_of("/api/");
  EXPECT_EQ(r.slot_of("/api/"), api);
  EXPECT_EQ(r.name(api), "/api/");
  for (std::size_t i = 0; i < route_label_bound + 10; ++i) (void)r.slot_of("/r" + std::to_string(i));
  EXPECT_EQ(r.size(), route_labels::slots);
  EXPECT_EQ(r.slot_of("/later/"), route_labels::other);
  EXPECT_EQ(r.slot_of("/api/"), api);
}

// Sessions on every I/O thread take labels while a scrape renders them (run it under TSan).
TEST(route_labels, are_taken_and_read_from_many_threads) {
  metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 50; ++i) {
        const std::size_t slot = m.routes.slot_of("/p" + std::to_string((i * 7 + t) % 40));
        m.count_response(slot, 200);
        m.count_exchange(slot, "passthrough", "status", 0.001);
      }
    });
  for (int i = 0; i < 20; ++i) EXPECT_NE(m.render(false).find("bfast_responses_total"), std::string::npos);
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.routes.size(), route_labels::slots);
  std::uint64_t total = 0;
  for (const auto& route : m.responses) total += route[1].load();
  EXPECT_EQ(total, 200u);
}

TEST(decision_labels, are_unique_and_end_with_other) {
  const auto& table = decision_labels();
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const auto& l : table) {
    EXPECT_FALSE(l.decision.empty());
    EXPECT_FALSE(l.reason.empty());
    EXPECT_TRUE(seen.emplace(l.decision, l.reason).second) << l.decision << "/" << l.reason;
  }
  EXPECT_EQ(table.back().decision, "other");
  EXPECT_EQ(decision_label_index("rejected", "smuggling") < table.size() - 1, true);
  EXPECT_EQ(decision_label_index("passthrough", "no_such_reason"), table.size() - 1);
}

TEST(metrics, renders_responses_decisions_and_durations_by_route) {
  metrics m;
  const std::size_t api = m.routes.slot_of("/api/\"v1\"");
  m.count_response(api, 200);
  m.count_response(api, 204);
  m.count_response(route_labels::none, 502);
  m.count_response(api, 499 + 200);  // no class: not counted
  m.count_exchange(api, "transcoded", "lz4", 0.003);
  m.count_exchange(route_labels::none, "error", "upstream_error", 0.5);
  m.count_exchange(api, "made_up", "x", 0.001);
  const std::string text = m.render(false);
  const auto has = [&](std::string_view line) {
    return text.find("\n" + std::string(line) + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has(R"(bfast_responses_total{code="2xx",route="/api/\"v1\""} 2)"));
  EXPECT_TRUE(has(R"(bfast_responses_total{code="5xx",route="none"} 1)"));
  EXPECT_TRUE(has(R"(bfast_responses_total{code="4xx",route="none"} 0)"));
  EXPECT_TRUE(has(R"(bfast_decisions_total{decision="transcoded",reason="lz4",route="/api/\"v1\""} 1)"));
  EXPECT_TRUE(has(R"(bfast_decisions_total{decision="error",reason="upstream_error",route="none"} 1)"));
  EXPECT_TRUE(has(R"(bfast_decisions_total{decision="other",reason="other",route="/api/\"v1\""} 1)"));
  // Pairs that never happened are left out.
  EXPECT_EQ(text.find("\n" R"(bfast_decisions_total{decision="json")"), std::string::npos);
  EXPECT_TRUE(has(R"(bfast_request_duration_seconds_bucket{decision="transcoded",le="0.0025"} 0)"));
  EXPECT_TRUE(has(R"(bfast_request_duration_seconds_bucket{decision="transcoded",le="0.005"} 1)"));
  EXPECT_TRUE(has(R"(bfast_request_duration_seconds_count{decision="error"} 1)"));
  EXPECT_TRUE(has(R"(bfast_request_duration_seconds_sum{decision="error"} 0.5)"));
  EXPECT_TRUE(has(R"(bfast_request_duration_seconds_count{decision="other"} 1)"));
  EXPECT_TRUE(has("# TYPE bfast_request_duration_seconds histogram"));
}

TEST(metrics, renders_build_info_and_process_metrics) {
  const std::string text = metrics{}.render(false);
  EXPECT_NE(text.find("\nbfast_build_info{version=\"" + std::string(build_info::version) +
                      "\",commit=\"" + std::string(build_info::commit) + "\"} 1\n"),
            std::string::npos);
  for (const char* name : {"process_cpu_seconds_total", "process_resident_memory_bytes",
                           "process_start_time_seconds", "process_open_fds", "process_max_fds"})
    EXPECT_NE(text.find(std::string("\n# TYPE ") + name + " "), std::string::npos) << name;
}

}  // namespace
}  // namespace bfast::server
