#include <gtest/gtest.h>

#include "bfast/filter/accept.hpp"

namespace bfast::filter {
namespace {

struct accept_case {
  const char* accept;
  bool prefers_bfast;
};

TEST(accept_prefers_bfast, table) {
  const accept_case cases[] = {
      {"application/x-bfast", true},
      {"APPLICATION/X-BFAST", true},
      {"Application/X-BFast;Q=1", true},
      {"  application/x-bfast  ", true},
      {"application/x-bfast;q=0", false},
      {"application/x-bfast;q=0.000", false},
      {"application/x-bfast;q=0.001", true},
      {"application/json, application/x-bfast", true},           // equal q: at least as preferred
      {"application/x-bfast;q=0.9, application/json", false},    // json preferred
      {"application/x-bfast, application/json;q=0.9", true},
      {"application/x-bfast;q=0.5, application/json;q=0.5", true},
      {"application/x-bfast;q=0.5, */*", false},                 // */* gives json q=1
      {"application/x-bfast, */*;q=0.1", true},
      {"application/x-bfast;q=0.5, application/*;q=0.4", true},
      {"application/x-bfast;q=0.5, application/*;q=0.6", false},
      {"application/x-bfast;q=0.5, application/*, application/json;q=0.2", true},  // exact wins
      {"*/*", false},
      {"application/*", false},
      {"", false},
      {"text/html", false},
      {"application/x-bfast;q=1.5", false},         // malformed q: the element is ignored
      {"application/x-bfast;q=abc", false},
      {"application/x-bfast;q=0.1234", false},
      {"application/x-bfast;q=1.000", true},
      {"application/x-bfast;q=1.001", false},
      {"application/x-bfast;q", false},
      {"application/x-bfast;charset=\"a,b\";q=0.8, application/json;q=0.7", true},
      {"application/x-bfast ; q=0.8 , application/json ; q=0.7", true},
      {",,application/x-bfast,,", true},
      {"application/x-bfast/extra", false},
      {"application", false},
      {"/x-bfast", false},
      {"*/x-bfast", false},
      {"application/x-bfast-other", false},
      {"application/json;q=0, application/x-bfast;q=0.1", true},
      {"application/json;charset=utf-8;q=0.9, application/json;q=1, application/x-bfast;q=0.95", true},
  };
  for (const auto& c : cases) EXPECT_EQ(accept_prefers_bfast(c.accept), c.prefers_bfast) << c.accept;
}

TEST(parse_accept, parameters_and_order) {
  const auto r = parse_accept("text/html;level=1;q=0.5, */*;q=0.1, bogus, image/png");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].type, "text");
  EXPECT_EQ(r[0].subtype, "html");
  EXPECT_EQ(r[0].q, 500);
  EXPECT_TRUE(r[0].has_parameters);
  EXPECT_EQ(r[1].type, "*");
  EXPECT_EQ(r[1].q, 100);
  EXPECT_EQ(r[2].q, 1000);
  EXPECT_EQ(quality_of(r, "text", "html"), 500);
  EXPECT_EQ(quality_of(r, "text", "plain"), 100);
  EXPECT_EQ(quality_of(r, "text", "plain", false), 0);
}

TEST(accept_without_bfast, removes_only_bfast) {
  EXPECT_EQ(accept_without_bfast("application/x-bfast, application/json;q=0.9"),
            "application/json;q=0.9");
  EXPECT_EQ(accept_without_bfast("Application/X-BFAST;q=0.1"), "");
  EXPECT_EQ(accept_without_bfast("text/html, application/x-bfast;q=0.2, */*;q=0.1"),
            "text/html, */*;q=0.1");
  EXPECT_TRUE(accept_mentions_bfast("text/html, application/x-bfast;q=0"));
  EXPECT_FALSE(accept_mentions_bfast("application/*"));
}

TEST(coding_acceptable, table) {
  EXPECT_TRUE(coding_acceptable("gzip, deflate, br", true, "gzip"));
  EXPECT_FALSE(coding_acceptable("gzip, deflate, br", true, "zstd"));
  EXPECT_TRUE(coding_acceptable("zstd;q=0.5", true, "zstd"));
  EXPECT_FALSE(coding_acceptable("zstd;q=0", true, "zstd"));
  EXPECT_TRUE(coding_acceptable("*", true, "zstd"));
  EXPECT_FALSE(coding_acceptable("*, zstd;q=0", true, "zstd"));
  EXPECT_FALSE(coding_acceptable("*;q=0", true, "gzip"));
  EXPECT_FALSE(coding_acceptable("", true, "gzip"));
  EXPECT_FALSE(coding_acceptable("", false, "gzip"));
  EXPECT_TRUE(coding_acceptable("GZIP", true, "gzip"));
  EXPECT_FALSE(coding_acceptable("gzip;q=2", true, "gzip"));
}

}  // namespace
}  // namespace bfast::filter
