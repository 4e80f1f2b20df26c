// h2_connection against an in-process nghttp2 client session, bytes passed in memory: requests
// and responses, flow control, concurrency, and the abuse guards.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "h2_connection.hpp"

namespace bfast::server {
namespace {

namespace http = boost::beast::http;

struct client_stream {
  int status = 0;
  std::string body;
  bool closed = false;
  std::uint32_t error = 0;
  std::string upload;  // request body still to send
  bool upload_done = true;
};

// The peer: nghttp2's own client session, holding what it saw per stream.
class h2_client {
 public:
  explicit h2_client(std::uint32_t peer_max_streams = 100) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_peer_max_concurrent_streams(opt, peer_max_streams);
    nghttp2_option_set_max_send_header_block_length(opt, 1 << 20);
    nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~h2_client() { nghttp2_session_del(session_); }
  h2_client(const h2_client&) = delete;
  h2_client& operator=(const h2_client&) = delete;

  std::int32_t request(std::string_view method, std::string_view path,
                       std::vector<std::pair<std::string, std::string>> extra = {},
                       std::optional<std::string> body = std::nullopt) {
    std::vector<nghttp2_nv> nva{nv(":method", method), nv(":scheme", "https"),
                                nv(":authority", "example.test"), nv(":path", path)};
    for (const auto& [n, v] : extra) nva.push_back(nv(n, v));
    nghttp2_data_provider provider{};
    provider.read_callback = read_upload;
    const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                                   body ? &provider : nullptr, nullptr);
    EXPECT_GT(id, 0);
    if (body) {
      streams[id].upload = *body;
      streams[id].upload_done = false;
    } else {
      streams[id];
    }
    return id;
  }

  std::string flush() {
    std::string out;
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    return out;
  }

  void feed(std::string_view bytes) {
    const auto rv = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    EXPECT_EQ(rv, static_cast<ssize_t>(bytes.size())) << nghttp2_strerror(static_cast<int>(rv));
  }

  nghttp2_session* session() { return session_; }

  std::map<std::int32_t, client_stream> streams;
  std::optional<std::uint32_t> goaway_error;
  std::int32_t goaway_last_stream = -1;

 private:
  static nghttp2_nv nv(std::string_view n, std::string_view v) {
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
            NGHTTP2_NV_FLAG_NONE};
  }
  static h2_client& self(void* ud) { return *static_cast<h2_client*>(ud); }
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* ud) {
    if (std::string_view(reinterpret_cast<const char*>(name), namelen) == ":status")
      self(ud).streams[f->hd.stream_id].status =
          std::stoi(std::string(reinterpret_cast<const char*>(value), valuelen));
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t len, void* ud) {
    self(ud).streams[id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t error, void* ud) {
    auto& s = self(ud).streams[id];
    s.closed = true;
    s.error = error;
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* f, void* ud) {
    if (f->hd.type == NGHTTP2_GOAWAY) {
      self(ud).goaway_error = f->goaway.error_code;
      self(ud).goaway_last_stream = f->goaway.last_stream_id;
    }
    return 0;
  }
  static ssize_t read_upload(nghttp2_session*, std::int32_t id, std::uint8_t* buf,
                             std::size_t length, std::uint32_t* flags, nghttp2_data_source*,
                             void* ud) {
    auto& s = self(ud).streams[id];
    const std::size_t n = std::min(length, s.upload.size());
    std::copy_n(s.upload.data(), n, buf);
    s.upload.erase(0, n);
    if (s.upload.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      s.upload_done = true;
    }
    return static_cast<ssize_t>(n);
  }

  nghttp2_session* session_ = nullptr;
};

using owner_fn = std::function<void(h2_connection&, const h2_event&)>;

// Moves bytes both ways until neither side has more; the owner sees each event as it comes.
h2_connection::status pump(h2_client& client, h2_connection& server, const owner_fn& owner) {
  auto last = h2_connection::status::ok;
  for (int round = 0; round < 10000; ++round) {
    const std::string up = client.flush();
    if (!up.empty() && last == h2_connection::status::ok) last = server.receive(up);
    bool more = true;
    while (more) {
      more = false;
      for (const h2_event& e : server.take_events()) {
        owner(server, e);
        more = true;
      }
    }
    const std::string_view down = server.pending_output(SIZE_MAX);
    const std::string copy(down);
    server.consume(down.size());
    if (!copy.empty()) client.feed(copy);
    if (up.empty() && copy.empty()) return last;
  }
  ADD_FAILURE() << "pump did not settle";
  return last;
}

// Answers each request as soon as it has ended: 200 and "ok <path>".
void answer_at_end(h2_connection& c, const h2_event& e) {
  if (e.what != h2_event::kind::end_of_request) return;
  http::fields f;
  f.set("Content-Type", "text/plain");
  f.set("Connection", "keep-alive");  // connection-specific: must not reach the client
  ASSERT_TRUE(c.respond(e.stream, 200, f, false));
  const std::string body = "ok " + c.request(e.stream)->path;
  ASSERT_EQ(c.send_body(e.stream, body, true), body.size());
}

void ignore(h2_connection&, const h2_event&) {}

TEST(H2Connection, PrefaceDetection) {
  const std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  EXPECT_EQ(h2_connection::starts_with_preface(preface), 1);
  EXPECT_EQ(h2_connection::starts_with_preface(std::string_view(preface).substr(0, 5)), -1);
  EXPECT_EQ(h2_connection::starts_with_preface(std::string_view("GET / HTTP/1.1\r\n")), 0);
}

TEST(H2Connection, GetWithResponse) {
  h2_client client;
  h2_connection server;
  const auto id = client.request("GET", "/items?x=1",
                                 {{"accept", "application/x-bfast"}, {"cookie", "a=1"},
                                  {"cookie", "b=2"}});
  std::vector<h2_event::kind> seen;
  const auto st = pump(client, server, [&](h2_connection& c, const h2_event& e) {
    seen.push_back(e.what);
    if (e.what == h2_event::kind::request) {
      const h2_request* r = c.request(e.stream);
      ASSERT_NE(r, nullptr);
      EXPECT_EQ(r->method, "GET");
      EXPECT_EQ(r->scheme, "https");
      EXPECT_EQ(r->authority, "example.test");
      EXPECT_EQ(r->path, "/items?x=1");
      EXPECT_EQ(r->headers["accept"], "application/x-bfast");
      EXPECT_EQ(r->headers["cookie"], "a=1; b=2");
    }
    answer_at_end(c, e);
  });
  EXPECT_EQ(st, h2_connection::status::ok);
  EXPECT_EQ(client.streams[id].status, 200);
  EXPECT_EQ(client.streams[id].body, "ok /items?x=1");
  EXPECT_TRUE(client.streams[id].closed);
  EXPECT_EQ(client.streams[id].error, NGHTTP2_NO_ERROR);
  const std::vector<h2_event::kind> expected{h2_event::kind::request,
                                             h2_event::kind::end_of_request,
                                             h2_event::kind::closed};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(server.open_streams(), 0u);
  EXPECT_EQ(server.stats().streams_opened, 1u);
}

TEST(H2Connection, PostBodyIsBoundedByTheOwnersConsumption) {
  h2_limits limits;
  limits.stream_window_bytes = 1;
  h2_client client;
  h2_connection server(limits);
  // SETTINGS first, so that the client knows the 1-byte window before it sends.
  pump(client, server, ignore);
  const std::string upload = "0123456789";
  const auto id = client.request("POST", "/upload", {}, upload);
  bool ended = false;
  auto owner = [&](h2_connection&, const h2_event& e) {
    if (e.what == h2_event::kind::end_of_request) ended = true;
  };
  pump(client, server, owner);
  // Nothing consumed: the client stops at its window.
  EXPECT_EQ(server.body(id), "0");
  pump(client, server, owner);
  EXPECT_EQ(server.body(id), "0");
  EXPECT_EQ(client.streams[id].upload, "123456789");
  std::string received;
  for (int i = 0; i < 20 && !ended; ++i) {
    const std::string chunk(server.body(id));
    ASSERT_LE(chunk.size(), 1u);
    received += chunk;
    server.consume_body(id, chunk.size());
    pump(client, server, owner);
  }
  received += server.body(id);
  EXPECT_TRUE(ended);
  EXPECT_EQ(received, upload);
}

TEST(H2Connection, ResponseBodyWaitsForThePeersWindowAndTellsTheOwner) {
  h2_limits limits;
  limits.max_queued_body_bytes = 1000;
  h2_client client;
  h2_connection server(limits);
  const auto id = client.request("GET", "/big");
  int writable = 0;
  pump(client, server, [&](h2_connection& c, const h2_event& e) {
    if (e.what == h2_event::kind::request) {
        ASSERT_TRUE(c.respond(e.stream, 200, {}, false));
      }
    if (e.what == h2_event::kind::writable) ++writable;
  });
  // The queue takes its bound and no more.
  const std::string big(5000, 'x');
  EXPECT_EQ(server.send_body(id, big, true), 1000u);
  EXPECT_EQ(server.send_body(id, big, true), 0u);
  std::size_t sent = 1000;
  for (int i = 0; i < 20 && sent < big.size(); ++i) {
    pump(client, server, [&](h2_connection& c, const h2_event& e) {
      if (e.what != h2_event::kind::writable) return;
      ++writable;
      sent += c.send_body(e.stream, std::string_view(big).substr(sent), true);
    });
  }
  pump(client, server, ignore);
  EXPECT_GE(writable, 4);
  EXPECT_EQ(client.streams[id].body, big);
  EXPECT_TRUE(client.streams[id].closed);
}

TEST(H2Connection, ResponseSentWaitsForThePeersWindow) {
  h2_client client;
  const nghttp2_settings_entry shut{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0};
  nghttp2_submit_settings(client.session(), NGHTTP2_FLAG_NONE, &shut, 1);
  h2_connection server;
  const auto id = client.request("GET", "/small");
  pump(client, server, [&](h2_connection& c, const h2_event& e) {
    if (e.what == h2_event::kind::request) {
      ASSERT_TRUE(c.respond(e.stream, 200, {}, false));
      ASSERT_EQ(c.send_body(e.stream, std::string(100, 'x'), true), 100u);
    }
  });
  // All of it queued, none of it out: what the owner's deadline watches.
  EXPECT_EQ(server.body_sent(id), 0u);
  EXPECT_FALSE(server.response_sent(id));
  // The client's automatic WINDOW_UPDATEs then open the rest.
  nghttp2_submit_window_update(client.session(), NGHTTP2_FLAG_NONE, id, 40);
  pump(client, server, ignore);
  EXPECT_TRUE(server.response_sent(id));
  EXPECT_EQ(client.streams[id].body, std::string(100, 'x'));
  EXPECT_TRUE(client.streams[id].closed);
}

TEST(H2Connection, HundredConcurrentStreams) {
  h2_client client;
  h2_connection server;
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(client.request("GET", "/s" + std::to_string(i)));
  std::vector<std::int32_t> pending;
  pump(client, server, [&](h2_connection&, const h2_event& e) {
    if (e.what == h2_event::kind::end_of_request) pending.push_back(e.stream);
  });
  // All 100 are open at once before any is answered.
  ASSERT_EQ(pending.size(), 100u);
  EXPECT_EQ(server.open_streams(), 100u);
  for (const auto id : pending) answer_at_end(server, {h2_event::kind::end_of_request, id});
  pump(client, server, ignore);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(client.streams[ids[i]].status, 200);
    EXPECT_EQ(client.streams[ids[i]].body, "ok /s" + std::to_string(i));
  }
  EXPECT_EQ(server.open_streams(), 0u);
}

TEST(H2Connection, StreamsPastTheLimitAreRefused) {
  // The client ignores our limit: all 101 requests leave before our SETTINGS arrive.
  h2_client client(1000);
  h2_connection server;
  for (int i = 0; i < 101; ++i) client.request("GET", "/r");
  int requests = 0;
  pump(client, server, [&](h2_connection&, const h2_event& e) {
    if (e.what == h2_event::kind::request) ++requests;
  });
  EXPECT_EQ(requests, 100);
  int refused = 0;
  for (const auto& [id, s] : client.streams)
    if (s.closed && s.error == NGHTTP2_REFUSED_STREAM) ++refused;
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(server.stats().resets_sent[NGHTTP2_REFUSED_STREAM], 1u);
}

TEST(H2Connection, OversizedHeadersAreAnswered431AndTheConnectionGoesOn) {
  h2_client client;
  h2_connection server;
  pump(client, server, ignore);
  const auto big = client.request("GET", "/big",
                                  {{"x-a", std::string(40000, 'a')}, {"x-b", std::string(30000, 'b')}});
  int requests = 0;
  auto owner = [&](h2_connection& c, const h2_event& e) {
    if (e.what == h2_event::kind::request) ++requests;
    answer_at_end(c, e);
  };
  EXPECT_EQ(pump(client, server, owner), h2_connection::status::ok);
  EXPECT_EQ(requests, 0);
  EXPECT_EQ(client.streams[big].status, 431);
  EXPECT_EQ(server.stats().headers_too_large, 1u);
  // HPACK state stayed in step: the next request is understood.
  const auto next = client.request("GET", "/next", {{"x-a", "small"}});
  pump(client, server, owner);
  EXPECT_EQ(requests, 1);
  EXPECT_EQ(client.streams[next].body, "ok /next");
  EXPECT_EQ(server.open_streams(), 0u);
}

TEST(H2Connection, RapidResetEndsWithEnhanceYourCalm) {
  h2_client client;
  h2_connection server;
  pump(client, server, ignore);
  // Each stream's HEADERS leave before its RST_STREAM, as in CVE-2023-44487.
  std::string flood;
  for (int i = 0; i < 400; ++i) {
    const auto id = client.request("GET", "/");
    flood += client.flush();
    nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    flood += client.flush();
  }
  int requests = 0;
  EXPECT_EQ(server.receive(flood), h2_connection::status::closing);
  for (const h2_event& e : server.take_events())
    if (e.what == h2_event::kind::request) ++requests;
  // The owner saw a bounded number of requests, not 400.
  EXPECT_LE(requests, 250);
  EXPECT_EQ(server.stats().rapid_reset, 1u);
  EXPECT_EQ(server.stats().premature_resets, 250u);
  client.feed(server.pending_output(SIZE_MAX));
  ASSERT_TRUE(client.goaway_error.has_value());
  EXPECT_EQ(*client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
  EXPECT_EQ(server.stats().goaway_sent[NGHTTP2_ENHANCE_YOUR_CALM], 1u);
  // Nothing more is read.
  EXPECT_EQ(server.receive(client.flush()), h2_connection::status::closing);
}

TEST(H2Connection, AStreamResetInTheSameBatchKeepsItsHeadForTheOwner) {
  h2_client client;
  h2_connection server;
  pump(client, server, ignore);
  const auto id = client.request("GET", "/gone");
  std::string bytes = client.flush();
  nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  bytes += client.flush();
  ASSERT_EQ(server.receive(bytes), h2_connection::status::ok);
  const auto events = server.take_events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].what, h2_event::kind::request);
  EXPECT_EQ(events[1].what, h2_event::kind::end_of_request);
  EXPECT_EQ(events[2].what, h2_event::kind::closed);
  EXPECT_TRUE(events[2].by_peer);
  EXPECT_EQ(events[2].error, NGHTTP2_CANCEL);
  ASSERT_NE(server.request(id), nullptr);
  EXPECT_EQ(server.request(id)->path, "/gone");
  EXPECT_FALSE(server.respond(id, 200, {}, true));
  EXPECT_EQ(server.open_streams(), 0u);
  EXPECT_TRUE(server.take_events().empty());
  EXPECT_EQ(server.request(id), nullptr);
  EXPECT_EQ(server.stats().resets_received[NGHTTP2_CANCEL], 1u);
}

TEST(H2Connection, ResetsAfterResponsesStartedAreNotPremature) {
  h2_client client;
  h2_connection server;
  for (int round = 0; round < 4; ++round) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 100; ++i) ids.push_back(client.request("GET", "/"));
    pump(client, server, [](h2_connection& c, const h2_event& e) {
      if (e.what == h2_event::kind::request) {
        ASSERT_TRUE(c.respond(e.stream, 200, {}, false));
      }
    });
    for (const auto id : ids)
      nghttp2_submit_rst_stream(client.session(), NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    EXPECT_EQ(pump(client, server, ignore), h2_connection::status::ok);
  }
  EXPECT_EQ(server.stats().premature_resets, 0u);
  EXPECT_EQ(server.stats().resets_received[NGHTTP2_CANCEL], 400u);
  EXPECT_FALSE(client.goaway_error.has_value());
}

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(payload.size() >> 16));
  f.push_back(static_cast<char>(payload.size() >> 8));
  f.push_back(static_cast<char>(payload.size()));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<char>(stream >> shift));
  f.append(payload);
  return f;
}

TEST(H2Connection, ContinuationFloodIsBounded) {
  h2_connection server;
  std::string bytes(NGHTTP2_CLIENT_MAGIC);
  bytes += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // :method GET, :scheme https, :path / from the static table; no END_HEADERS.
  bytes += frame(NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, "\x82\x87\x84");
  // Each CONTINUATION repeats a literal field without indexing (x: y).
  for (int i = 0; i < 1000; ++i)
    bytes += frame(NGHTTP2_CONTINUATION, 0, 1, std::string_view("\x00\x01x\x01y", 5));
  // nghttp2 stops at the 9th (max_continuations): a fatal error, the connection is closed.
  EXPECT_EQ(server.receive(bytes), h2_connection::status::failed);
  EXPECT_TRUE(server.take_events().empty());
}

TEST(H2Connection, PingFloodEndsWithEnhanceYourCalm) {
  h2_client client;
  h2_connection server;
  pump(client, server, ignore);
  // The client reads every ACK, so only the count of control frames without data stops it.
  h2_connection::status st = h2_connection::status::ok;
  for (int batch = 0; batch < 30 && st == h2_connection::status::ok; ++batch) {
    for (int i = 0; i < 100; ++i) nghttp2_submit_ping(client.session(), NGHTTP2_FLAG_NONE, nullptr);
    st = pump(client, server, ignore);
  }
  EXPECT_EQ(st, h2_connection::status::closing);
  EXPECT_EQ(server.stats().control_flood, 1u);
  ASSERT_TRUE(client.goaway_error.has_value());
  EXPECT_EQ(*client.goaway_error, NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST(H2Connection, PingsBetweenExchangesAreFine) {
  h2_client client;
  h2_connection server;
  for (int round = 0; round < 30; ++round) {
    for (int i = 0; i < 100; ++i) nghttp2_submit_ping(client.session(), NGHTTP2_FLAG_NONE, nullptr);
    client.request("GET", "/");
    EXPECT_EQ(pump(client, server, answer_at_end), h2_connection::status::ok);
  }
  EXPECT_EQ(server.stats().control_flood, 0u);
}

TEST(H2Connection, WindowUpdatesBeyondWhatWasSentAreAFlood) {
  h2_connection server;
  std::string bytes(NGHTTP2_CLIENT_MAGIC);
  bytes += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // No stream and no DATA sent: 5 updates are all the budget allows.
  for (int i = 0; i < 10; ++i) bytes += frame(NGHTTP2_WINDOW_UPDATE, 0, 0, std::string("\0\0\0\1", 4));
  EXPECT_EQ(server.receive(bytes), h2_connection::status::closing);
  EXPECT_EQ(server.stats().control_flood, 1u);
}

TEST(H2Connection, PriorityFramesBeyondTheirBudgetAreAFlood) {
  h2_connection server;
  std::string bytes(NGHTTP2_CLIENT_MAGIC);
  bytes += frame(NGHTTP2_SETTINGS, 0, 0, "");
  // PRIORITY on idle streams, never opened: 100 for the connection itself.
  for (int i = 0; i < 101; ++i)
    bytes += frame(NGHTTP2_PRIORITY, 0, 2 * i + 1, std::string("\0\0\0\0\x10", 5));
  EXPECT_EQ(server.receive(bytes), h2_connection::status::closing);
  EXPECT_EQ(server.stats().control_flood, 1u);
}

TEST(H2Connection, PeerThatDoesNotReadItsAcksIsCutOff) {
  h2_limits limits;
  limits.max_outbound_ack = 50;
  h2_connection server(limits);
  std::string bytes(NGHTTP2_CLIENT_MAGIC);
  bytes += frame(NGHTTP2_SETTINGS, 0, 0, "");
  for (int i = 0; i < 200; ++i) bytes += frame(NGHTTP2_PING, 0, 0, std::string(8, 'p'));
  EXPECT_EQ(server.receive(bytes), h2_connection::status::failed);
}

TEST(H2Connection, DrainSendsGoawayWithTheLastStreamAndFinishesOpenStreams) {
  h2_client client;
  h2_connection server;
  const auto a = client.request("GET", "/a");
  const auto b = client.request("GET", "/b");
  std::vector<std::int32_t> ended;
  pump(client, server, [&](h2_connection&, const h2_event& e) {
    if (e.what == h2_event::kind::end_of_request) ended.push_back(e.stream);
  });
  ASSERT_EQ(ended.size(), 2u);
  server.drain();
  pump(client, server, ignore);
  ASSERT_TRUE(client.goaway_error.has_value());
  EXPECT_EQ(*client.goaway_error, NGHTTP2_NO_ERROR);
  EXPECT_EQ(client.goaway_last_stream, b);
  EXPECT_FALSE(server.done());
  for (const auto id : ended) answer_at_end(server, {h2_event::kind::end_of_request, id});
  pump(client, server, ignore);
  EXPECT_EQ(client.streams[a].body, "ok /a");
  EXPECT_EQ(client.streams[b].body, "ok /b");
  EXPECT_TRUE(server.done());
}

TEST(H2Connection, OwnerResetReturnsTheUnreadBodysWindow) {
  h2_limits limits;
  limits.connection_window_bytes = 100000;
  h2_client client;
  h2_connection server(limits);
  pump(client, server, ignore);
  const auto id = client.request("POST", "/", {}, std::string(60000, 'z'));
  pump(client, server, [](h2_connection& c, const h2_event& e) {
    if (e.what == h2_event::kind::end_of_request) c.reset(e.stream, NGHTTP2_CANCEL);
  });
  EXPECT_TRUE(client.streams[id].closed);
  EXPECT_EQ(server.stats().resets_sent[NGHTTP2_CANCEL], 1u);
  // The 60000 unread bytes went back to the 100000-byte connection window: another fits whole.
  const auto again = client.request("POST", "/", {}, std::string(60000, 'y'));
  std::size_t got = 0;
  pump(client, server, [&](h2_connection& c, const h2_event& e) {
    if (e.what == h2_event::kind::end_of_request) got = c.body(e.stream).size();
  });
  EXPECT_TRUE(client.streams[again].upload_done);
  EXPECT_EQ(got, 60000u);
}

}  // namespace
}  // namespace bfast::server
