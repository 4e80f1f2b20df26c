#include "bfast/filter/request_id.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "bfast/filter/forwarded.hpp"

namespace bfast::filter {
namespace {

TEST(acceptable_request_id, bounded_visible_ascii) {
  EXPECT_TRUE(acceptable_request_id("abc-123"));
  EXPECT_TRUE(acceptable_request_id(std::string(max_request_id_bytes, 'a')));
  EXPECT_FALSE(acceptable_request_id(std::string(max_request_id_bytes + 1, 'a')));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id("a b"));
  EXPECT_FALSE(acceptable_request_id("a\tb"));
  EXPECT_FALSE(acceptable_request_id("caf\xc3\xa9"));
  EXPECT_FALSE(acceptable_request_id(std::string("a\0b", 3)));
}

bool is_uuid_v4(const std::string& s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  }
  return s[14] == '4' && std::string("89ab").find(s[19]) != std::string::npos;
}

TEST(request_id_generator, uuid_v4_text_that_does_not_repeat) {
  request_id_generator g(42);
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = g.next();
    ASSERT_TRUE(is_uuid_v4(id)) << id;
    ASSERT_TRUE(acceptable_request_id(id));
    ASSERT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(request_id_generator, seeds_give_different_streams) {
  request_id_generator a(1), b(2);
  EXPECT_NE(a.next(), b.next());
}

TEST(is_ip_address, only_bare_addresses) {
  EXPECT_TRUE(is_ip_address("203.0.113.7"));
  EXPECT_TRUE(is_ip_address("2001:db8::1"));
  EXPECT_FALSE(is_ip_address("203.0.113.7:80"));
  EXPECT_FALSE(is_ip_address("[2001:db8::1]"));
  EXPECT_FALSE(is_ip_address("unknown"));
  EXPECT_FALSE(is_ip_address(""));
  EXPECT_FALSE(is_ip_address(std::string(100, '1')));
}

TEST(real_client_address, rightmost_untrusted_behind_trusted_peers) {
  const auto trusted = [](std::string_view a) { return a.starts_with("10."); };
  // An untrusted peer's X-Forwarded-For is its own word: ignored.
  EXPECT_EQ(real_client_address("1.1.1.1", "192.0.2.1", trusted), "192.0.2.1");
  EXPECT_EQ(real_client_address("", "10.0.0.1", trusted), "10.0.0.1");
  EXPECT_EQ(real_client_address("198.51.100.9", "10.0.0.1", trusted), "198.51.100.9");
  // A forged left part cannot win over the first untrusted address from the right.
  EXPECT_EQ(real_client_address("6.6.6.6, 198.51.100.9, 10.0.0.2", "10.0.0.1", trusted),
            "198.51.100.9");
  EXPECT_EQ(real_client_address("10.0.0.3,10.0.0.2", "10.0.0.1", trusted), "10.0.0.3");
  EXPECT_EQ(real_client_address("1.2.3.4, garbage, 10.0.0.2", "10.0.0.1", trusted), "10.0.0.2");
  EXPECT_EQ(real_client_address(" 2001:db8::7 ", "10.0.0.1", trusted), "2001:db8::7");
  // Elements with a port, as some load balancers write them, as nginx's realip reads them.
  EXPECT_EQ(real_client_address("198.51.100.9:51234, 10.0.0.2:443", "10.0.0.1", trusted),
            "198.51.100.9");
  EXPECT_EQ(real_client_address("[2001:db8::7]:8443", "10.0.0.1", trusted), "2001:db8::7");
  EXPECT_EQ(real_client_address("[2001:db8::7]", "10.0.0.1", trusted), "2001:db8::7");
}

TEST(forwarded_element_address, address_with_or_without_a_port) {
  EXPECT_EQ(forwarded_element_address("203.0.113.7"), "203.0.113.7");
  EXPECT_EQ(forwarded_element_address("203.0.113.7:80"), "203.0.113.7");
  EXPECT_EQ(forwarded_element_address("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(forwarded_element_address("[2001:db8::1]:65535"), "2001:db8::1");
  EXPECT_EQ(forwarded_element_address("203.0.113.7:65536"), "");
  EXPECT_EQ(forwarded_element_address("203.0.113.7:"), "");
  EXPECT_EQ(forwarded_element_address("203.0.113.7:80:80"), "");
  EXPECT_EQ(forwarded_element_address("[203.0.113.7]:80"), "");
  EXPECT_EQ(forwarded_element_address("[2001:db8::1"), "");
  EXPECT_EQ(forwarded_element_address("[2001:db8::1]x"), "");
  EXPECT_EQ(forwarded_element_address("unknown:80"), "");
  EXPECT_EQ(forwarded_element_address(""), "");
}

}  // namespace
}  // namespace bfast::filter
