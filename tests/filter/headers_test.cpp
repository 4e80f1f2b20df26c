#include <gtest/gtest.h>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

TEST(strip_hop_by_hop, removes_table_and_connection_named) {
  http::fields f;
  f.set(http::field::connection, "keep-alive, X-Private, close");
  f.insert(http::field::connection, "x-other");
  f.set("X-Private", "1");
  f.set("X-Other", "2");
  f.set(http::field::keep_alive, "timeout=5");
  f.set(http::field::transfer_encoding, "chunked");
  f.set(http::field::te, "trailers");
  f.set(http::field::upgrade, "h2c");
  f.set("Proxy-Connection", "keep-alive");
  f.set(http::field::trailer, "X-Sum");
  f.set(http::field::content_type, "application/json");
  f.set("X-Kept", "yes");
  strip_hop_by_hop(f);
  for (std::string_view name : hop_by_hop_headers()) EXPECT_EQ(f.count(name), 0u) << name;
  EXPECT_EQ(f.count("X-Private"), 0u);
  EXPECT_EQ(f.count("X-Other"), 0u);
  EXPECT_EQ(f[http::field::content_type], "application/json");
  EXPECT_EQ(f["X-Kept"], "yes");
}

TEST(upgrade_protocols, needs_connection_upgrade_and_http11) {
  http::fields f;
  f.set(http::field::upgrade, "websocket");
  EXPECT_EQ(upgrade_protocols(f, 11), "");
  f.set(http::field::connection, "keep-alive, Upgrade");
  EXPECT_EQ(upgrade_protocols(f, 11), "websocket");
  EXPECT_EQ(upgrade_protocols(f, 10), "");
}

TEST(upgrade_protocols, leaves_out_h2c) {
  http::fields f;
  f.set(http::field::connection, "Upgrade, HTTP2-Settings");
  f.set(http::field::upgrade, "h2c");
  EXPECT_EQ(upgrade_protocols(f, 11), "");
  f.set(http::field::upgrade, "H2C, websocket ,foo/2");
  EXPECT_EQ(upgrade_protocols(f, 11), "websocket, foo/2");
}

TEST(strip_hop_by_hop, connection_never_removes_host_or_framing) {
  http::fields f;
  f.set(http::field::connection, "Host, content-length, X-Gone");
  f.set(http::field::host, "example.com");
  f.set(http::field::content_length, "5");
  f.set("X-Gone", "1");
  strip_hop_by_hop(f);
  EXPECT_EQ(f[http::field::host], "example.com");
  EXPECT_EQ(f[http::field::content_length], "5");
  EXPECT_EQ(f.count("X-Gone"), 0u);
}

struct framing_case {
  std::vector<std::pair<std::string, std::string>> headers;
  unsigned version;
  framing_error expected;
};

TEST(check_request_framing, table) {
  const framing_case cases[] = {
      {{}, 11, framing_error::none},
      {{{"Content-Length", "5"}}, 11, framing_error::none},
      {{{"Content-Length", "5"}, {"Content-Length", "5"}}, 11, framing_error::none},
      {{{"Content-Length", "5, 5"}}, 11, framing_error::none},
      {{{"Content-Length", "5"}, {"Content-Length", "6"}}, 11,
       framing_error::differing_content_length},
      {{{"Content-Length", "5, 6"}}, 11, framing_error::differing_content_length},
      {{{"Content-Length", "-1"}}, 11, framing_error::bad_content_length},
      {{{"Content-Length", "0x10"}}, 11, framing_error::bad_content_length},
      {{{"Content-Length", ""}}, 11, framing_error::bad_content_length},
      {{{"Transfer-Encoding", "chunked"}}, 11, framing_error::none},
      {{{"Transfer-Encoding", "Chunked"}}, 11, framing_error::none},
      {{{"Transfer-Encoding", "chunked"}}, 10, framing_error::unsupported_transfer_encoding},
      {{{"Transfer-Encoding", "gzip, chunked"}}, 11, framing_error::unsupported_transfer_encoding},
      {{{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}, 11,
       framing_error::unsupported_transfer_encoding},
      {{{"Transfer-Encoding", "identity"}}, 11, framing_error::unsupported_transfer_encoding},
      {{{"Transfer-Encoding", "xchunked"}}, 11, framing_error::unsupported_transfer_encoding},
      {{{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}, 11,
       framing_error::content_length_and_transfer_encoding},
      {{{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, 11,
       framing_error::content_length_and_transfer_encoding},
  };
  for (const auto& c : cases) {
    http::fields f;
    std::string desc;
    for (const auto& [n, v] : c.headers) {
      f.insert(n, v);
      desc += n + ": " + v + "; ";
    }
    EXPECT_EQ(check_request_framing(f, c.version), c.expected) << desc;
  }
}

TEST(list_contains, directives) {
  EXPECT_TRUE(list_contains("public, no-transform", "no-transform"));
  EXPECT_TRUE(list_contains("No-Transform", "no-transform"));
  EXPECT_TRUE(list_contains("no-cache=\"Set-Cookie\", max-age=5", "no-cache"));
  EXPECT_FALSE(list_contains("no-transformer", "no-transform"));
  EXPECT_FALSE(list_contains("", "no-transform"));
}

TEST(http_date, imf_fixdate) {
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
}

}  // namespace
}  // namespace bfast::filter
