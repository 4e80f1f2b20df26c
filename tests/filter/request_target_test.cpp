#include "bfast/filter/request_target.hpp"

#include <gtest/gtest.h>

namespace bfast::filter {
namespace {

http::fields with_hosts(std::initializer_list<const char*> hosts) {
  http::fields f;
  for (const char* h : hosts) f.insert(http::field::host, h);
  return f;
}

TEST(valid_host_value, accepts_names_addresses_and_ports) {
  for (const char* ok : {"a", "example.com", "example.com:8080", "127.0.0.1:80", "[::1]",
                         "[::1]:443", "xn--bcher-kva.example", "a%41b", ""})
    EXPECT_TRUE(valid_host_value(ok)) << ok;
}

TEST(valid_host_value, refuses_what_is_not_uri_host) {
  for (const char* bad : {"a b", "a/b", "@x", "user@host", "a:b", "a:123456", "a:65536", "[::1", "[zz]",
                          "a%4", "a\tb", "h:80:80"})
    EXPECT_FALSE(valid_host_value(bad)) << bad;
}

TEST(check_destination, http11_needs_exactly_one_host) {
  EXPECT_EQ(check_destination(with_hosts({}), "/", 11).error, host_error::missing);
  EXPECT_EQ(check_destination(with_hosts({}), "/", 10).error, host_error::none);
  EXPECT_EQ(check_destination(with_hosts({"a", "b"}), "/", 11).error, host_error::duplicate);
  EXPECT_EQ(check_destination(with_hosts({"a", "a"}), "/", 10).error, host_error::duplicate);
  EXPECT_EQ(check_destination(with_hosts({"a b"}), "/", 11).error, host_error::invalid);
  EXPECT_EQ(check_destination(with_hosts({"a"}), "/p", 11).error, host_error::none);
}

TEST(check_destination, absolute_form_authority_wins) {
  const auto d = check_destination(with_hosts({"wrong"}), "http://right.example:81/p?q=1#f", 11);
  EXPECT_EQ(d.error, host_error::none);
  EXPECT_TRUE(d.absolute_form);
  EXPECT_EQ(d.authority, "right.example:81");
  EXPECT_EQ(d.origin_target, "/p?q=1");
  // No Host at all is fine when the target carries the authority.
  const auto bare = check_destination(with_hosts({}), "HTTP://right.example", 11);
  EXPECT_EQ(bare.error, host_error::none);
  EXPECT_EQ(bare.origin_target, "/");
  const auto query = check_destination(with_hosts({}), "http://right.example?x", 11);
  EXPECT_EQ(query.origin_target, "/?x");
}

TEST(check_destination, asterisk_form_is_for_options_only) {
  EXPECT_EQ(check_destination(with_hosts({"a"}), "*", 11, true).error, host_error::none);
  EXPECT_EQ(check_destination(with_hosts({"a"}), "*", 11, false).error, host_error::bad_target);
}

TEST(check_destination, refuses_other_targets) {
  for (const char* bad : {"ftp://a/b", "http://", "http://user@a/", "http://a b/", "x"})
    EXPECT_EQ(check_destination(with_hosts({"a"}), bad, 11).error, host_error::bad_target) << bad;
}

}  // namespace
}  // namespace bfast::filter
