#include "bfast/filter/client_decoder.hpp"

#include <gtest/gtest.h>

#include "bfast/filter/accept.hpp"

namespace bfast::filter {
namespace {

TEST(client_decoder, a_profile_replaces_the_route_speeds) {
  client_speeds route;
  route.decode_bytes_per_s = 5e6;
  EXPECT_EQ(client_speeds_of("python", route).decode_bytes_per_s,
            speeds_of(client_decoder::python).decode_bytes_per_s);
  EXPECT_EQ(client_speeds_of(" native ", route).json_bytes_per_s,
            speeds_of(client_decoder::native).json_bytes_per_s);
}

TEST(client_decoder, parameters_override_in_megabytes_per_second) {
  const client_speeds s = client_speeds_of("ts; bfast=40; json=250.5;lz4=900 ; gzip=300; zstd=700",
                                           client_speeds{});
  EXPECT_EQ(s.decode_bytes_per_s, 40e6);
  EXPECT_EQ(s.json_bytes_per_s, 250.5e6);
  EXPECT_EQ(s.lz4_bytes_per_s, 900e6);
  EXPECT_EQ(s.gzip_bytes_per_s, 300e6);
  EXPECT_EQ(s.zstd_bytes_per_s, 700e6);
}

TEST(client_decoder, anything_unknown_or_implausible_is_ignored) {
  client_speeds route;
  route.decode_bytes_per_s = 5e6;
  route.json_bytes_per_s = 7e6;
  for (std::string_view v : {"", "rust", "TS", "; bfast=0", "x; bfast=-3", "x; json=1e300",
                             "x; bfast=nan", "x; bfast=12abc", "x; bfast", "x; =12",
                             "x; speed=12", "x;;;"}) {
    const client_speeds s = client_speeds_of(v, route);
    EXPECT_EQ(s.decode_bytes_per_s, 5e6) << v;
    EXPECT_EQ(s.json_bytes_per_s, 7e6) << v;
  }
  // An unknown profile keeps the route's speeds but still takes plausible parameters.
  EXPECT_EQ(client_speeds_of("mine; json=90", route).json_bytes_per_s, 90e6);
  EXPECT_EQ(client_speeds_of("mine; json=90", route).decode_bytes_per_s, 5e6);
}

TEST(accepted_representations, both_sides_and_their_preference) {
  struct row {
    std::string_view accept;
    bool bfast, json, preferred;
  };
  const row rows[] = {
      {"application/x-bfast", true, false, true},
      {"application/x-bfast, application/json;q=0.9", true, true, true},
      {"application/json, application/x-bfast;q=0.2", true, true, false},
      {"application/x-bfast, */*;q=0.1", true, true, true},
      {"application/x-bfast;q=0, */*", false, true, false},
      {"*/*", false, true, false},
      {"application/*", false, true, false},
      {"application/json;q=0, application/x-bfast", true, false, true},
      {"text/html", false, false, false},
  };
  for (const row& r : rows) {
    const accepted_types t = accepted_representations(r.accept, true);
    EXPECT_EQ(t.bfast, r.bfast) << r.accept;
    EXPECT_EQ(t.json, r.json) << r.accept;
    EXPECT_EQ(t.bfast_preferred, r.preferred) << r.accept;
  }
  const accepted_types absent = accepted_representations("", false);
  EXPECT_TRUE(absent.json);
  EXPECT_FALSE(absent.bfast);
}

}  // namespace
}  // namespace bfast::filter
