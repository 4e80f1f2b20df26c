// stream_pipe on one io_context driven by poll()/run_one(): the capacity bound and the writer's
// wait, EOF after buffered bytes, reset both ways, the deadline, on_room, cancellation, and that
// no operation completes inside the call that started it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>

#include "stream_pipe.hpp"

namespace bfast::server {
namespace {

using namespace std::chrono_literals;

// What one operation completed with, if it has.
struct result {
  std::optional<beast::error_code> ec;
  std::size_t n = 0;
  [[nodiscard]] bool done() const { return ec.has_value(); }
};

class stream_pipe_test : public ::testing::Test {
 protected:
  void make(std::size_t capacity = stream_pipe_end::default_capacity) {
    auto [x, y] = stream_pipe_end::make(io_.get_executor(), capacity);
    a_.emplace(std::move(x));
    b_.emplace(std::move(y));
  }

  void read(stream_pipe_end& end, result& r, std::string& into, std::size_t max) {
    into.assign(max, '\0');
    end.async_read_some(asio::buffer(into), [&r, &into](beast::error_code ec, std::size_t n) {
      r.ec = ec;
      r.n = n;
      into.resize(n);
    });
  }

  void write(stream_pipe_end& end, result& r, std::string_view bytes) {
    end.async_write_some(asio::buffer(bytes.data(), bytes.size()),
                         [&r](beast::error_code ec, std::size_t n) {
                           r.ec = ec;
                           r.n = n;
                         });
  }

  // An io_context that ran out of work stays stopped until restart().
  void poll() {
    io_.restart();
    io_.poll();
  }

  void run_until(const result& r) {
    while (!r.done()) {
      io_.restart();
      io_.run_one();
    }
  }

  // Reads what is there now (one read, run to completion).
  std::string read_now(stream_pipe_end& end, std::size_t max = 1 << 20) {
    result r;
    std::string s;
    read(end, r, s, max);
    poll();
    EXPECT_TRUE(r.done());
    EXPECT_FALSE(*r.ec) << r.ec->message();
    return s;
  }

  asio::io_context io_;
  std::optional<stream_pipe_end> a_;
  std::optional<stream_pipe_end> b_;
};

TEST_F(stream_pipe_test, bytes_cross_in_order_both_ways) {
  make();
  result w1, w2;
  write(*a_, w1, "ping");
  write(*b_, w2, "pong");
  poll();
  ASSERT_TRUE(w1.done() && w2.done());
  EXPECT_EQ(w1.n, 4u);
  EXPECT_EQ(read_now(*b_), "ping");
  EXPECT_EQ(read_now(*a_), "pong");
}

TEST_F(stream_pipe_test, full_pipe_makes_the_writer_wait_until_a_read_makes_room) {
  make(8);
  result w;
  write(*a_, w, "0123456789");
  poll();
  ASSERT_TRUE(w.done());
  EXPECT_EQ(w.n, 8u);  // a short write: only the capacity
  EXPECT_EQ(a_->room(), 0u);

  result w2;
  write(*a_, w2, "abcd");
  poll();
  EXPECT_FALSE(w2.done());  // waits for room

  EXPECT_EQ(read_now(*b_, 3), "012");
  poll();
  ASSERT_TRUE(w2.done());
  EXPECT_FALSE(*w2.ec);
  EXPECT_EQ(w2.n, 3u);
  EXPECT_EQ(read_now(*b_), "34567abc");
}

TEST_F(stream_pipe_test, push_ignores_the_bound_and_room_says_what_is_left) {
  make(8);
  a_->push("0123456789ab");
  EXPECT_EQ(a_->room(), 0u);
  EXPECT_EQ(b_->room(), 8u);
  EXPECT_EQ(read_now(*b_, 10), "0123456789");
  EXPECT_EQ(a_->room(), 6u);
}

TEST_F(stream_pipe_test, eof_comes_after_the_bytes_buffered_before_it) {
  make();
  a_->push("hello");
  a_->shutdown_send();
  EXPECT_EQ(a_->room(), 0u);
  EXPECT_EQ(read_now(*b_, 3), "hel");
  EXPECT_EQ(read_now(*b_), "lo");
  result r;
  std::string s;
  read(*b_, r, s, 16);
  poll();
  ASSERT_TRUE(r.done());
  EXPECT_EQ(*r.ec, asio::error::eof);
  // The other direction is still open.
  result w;
  write(*b_, w, "back");
  poll();
  EXPECT_FALSE(*w.ec);
  EXPECT_EQ(read_now(*a_), "back");
}

TEST_F(stream_pipe_test, eof_wakes_a_waiting_reader) {
  make();
  result r;
  std::string s;
  read(*b_, r, s, 16);
  poll();
  EXPECT_FALSE(r.done());
  a_->shutdown_send();
  poll();
  ASSERT_TRUE(r.done());
  EXPECT_EQ(*r.ec, asio::error::eof);
}

TEST_F(stream_pipe_test, writing_after_shutdown_send_is_a_broken_pipe) {
  make();
  a_->shutdown_send();
  result w;
  write(*a_, w, "late");
  poll();
  ASSERT_TRUE(w.done());
  EXPECT_EQ(*w.ec, asio::error::broken_pipe);
}

TEST_F(stream_pipe_test, abort_fails_both_ends_and_drops_buffered_bytes) {
  for (const bool aborting_a : {true, false}) {
    SCOPED_TRACE(aborting_a ? "a aborts" : "b aborts");
    make(8);
    a_->push("buffered");
    result full_writer, reader_a, reader_b;
    std::string sa, sb;
    write(*a_, full_writer, "more");
    read(*a_, reader_a, sa, 16);
    poll();
    EXPECT_FALSE(full_writer.done());
    EXPECT_FALSE(reader_a.done());
    (aborting_a ? *a_ : *b_).abort();
    poll();
    ASSERT_TRUE(full_writer.done() && reader_a.done());
    EXPECT_EQ(*full_writer.ec, asio::error::connection_reset);
    EXPECT_EQ(*reader_a.ec, asio::error::connection_reset);
    read(*b_, reader_b, sb, 16);
    poll();
    ASSERT_TRUE(reader_b.done());
    EXPECT_EQ(*reader_b.ec, asio::error::connection_reset);  // "buffered" is lost
    EXPECT_TRUE(a_->broken());
    EXPECT_TRUE(b_->broken());
    EXPECT_EQ(a_->room(), 0u);
  }
}

TEST_F(stream_pipe_test, an_end_dropped_without_close_resets_the_peer) {
  make();
  a_->push("half a message");
  result r;
  std::string s;
  a_.reset();
  read(*b_, r, s, 64);
  poll();
  ASSERT_TRUE(r.done());
  EXPECT_EQ(*r.ec, asio::error::connection_reset);
}

TEST_F(stream_pipe_test, close_ends_the_peers_reads_with_eof_and_its_writes_with_a_reset) {
  make();
  a_->push("last words");
  a_->close();
  a_.reset();  // closed first: dropping it now is no reset
  EXPECT_EQ(read_now(*b_), "last words");
  result r, w;
  std::string s;
  read(*b_, r, s, 16);
  write(*b_, w, "anyone?");
  poll();
  ASSERT_TRUE(r.done() && w.done());
  EXPECT_EQ(*r.ec, asio::error::eof);
  EXPECT_EQ(*w.ec, asio::error::connection_reset);
  EXPECT_TRUE(b_->broken());
}

TEST_F(stream_pipe_test, close_wakes_a_writer_waiting_for_room) {
  make(4);
  a_->push("full");
  result w;
  write(*b_, w, "x");  // b -> a has room; this one completes
  poll();
  result blocked;
  write(*a_, blocked, "more");
  poll();
  EXPECT_FALSE(blocked.done());
  b_->close();
  poll();
  ASSERT_TRUE(blocked.done());
  EXPECT_EQ(*blocked.ec, asio::error::connection_reset);
}

TEST_F(stream_pipe_test, a_deadline_that_passes_is_a_timeout_and_resets_the_pipe) {
  make();
  b_->expires_after(1ms);
  result r;
  std::string s;
  read(*b_, r, s, 16);
  run_until(r);
  EXPECT_EQ(*r.ec, beast::error::timeout);
  EXPECT_TRUE(a_->broken());
  result w;
  write(*a_, w, "too late");
  poll();
  ASSERT_TRUE(w.done());
  EXPECT_EQ(*w.ec, asio::error::connection_reset);
}

TEST_F(stream_pipe_test, a_deadline_bounds_a_writer_waiting_for_room) {
  make(4);
  a_->push("full");
  a_->expires_after(1ms);
  result w;
  write(*a_, w, "more");
  run_until(w);
  EXPECT_EQ(*w.ec, beast::error::timeout);
  EXPECT_TRUE(b_->broken());
}

TEST_F(stream_pipe_test, expires_never_lifts_the_deadline_and_ready_operations_ignore_it) {
  make();
  b_->expires_after(0ms);
  a_->push("x");
  EXPECT_EQ(read_now(*b_), "x");  // ready at once: no wait, no deadline
  b_->expires_never();
  result r;
  std::string s;
  read(*b_, r, s, 16);
  poll();
  EXPECT_FALSE(r.done());
  a_->push("y");
  poll();
  ASSERT_TRUE(r.done());
  EXPECT_FALSE(*r.ec);
  EXPECT_EQ(s, "y");
}

TEST_F(stream_pipe_test, on_room_runs_when_the_peer_reads_and_when_the_pipe_breaks) {
  make(8);
  int calls = 0;
  a_->on_room([&calls] { ++calls; });
  a_->push("12345678");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(read_now(*b_, 5), "12345");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(a_->room(), 5u);
  // Reads of the other direction are not room toward a.
  b_->push("zz");
  EXPECT_EQ(read_now(*a_), "zz");
  EXPECT_EQ(calls, 1);
  b_->close();
  EXPECT_EQ(calls, 2);
  a_->on_room(nullptr);
  a_->abort();
  EXPECT_EQ(calls, 2);
}

TEST_F(stream_pipe_test, wait_readable_waits_for_bytes_eof_or_reset) {
  make();
  for (const int how : {0, 1, 2}) {
    SCOPED_TRACE(how);
    make();
    std::optional<beast::error_code> got;
    b_->async_wait_readable([&got](beast::error_code ec) { got = ec; });
    poll();
    EXPECT_FALSE(got);
    if (how == 0) a_->push("b");
    else if (how == 1) a_->shutdown_send();
    else a_->abort();
    poll();
    ASSERT_TRUE(got);
    EXPECT_FALSE(*got);  // readable: what the read says comes with the read
  }
}

TEST_F(stream_pipe_test, no_operation_completes_inside_the_call_that_started_it) {
  make();
  a_->push("ready");
  bool started = false;
  bool read_inside = false, write_inside = false, wait_inside = false, failed_inside = false;
  std::string s(8, '\0');
  b_->async_read_some(asio::buffer(s), [&](beast::error_code, std::size_t) {
    read_inside = !started;
  });
  a_->async_write_some(asio::buffer("abc", 3), [&](beast::error_code, std::size_t) {
    write_inside = !started;
  });
  b_->async_wait_readable([&](beast::error_code) { wait_inside = !started; });
  a_->shutdown_send();
  a_->async_write_some(asio::buffer("abc", 3), [&](beast::error_code ec, std::size_t) {
    failed_inside = !started;
    EXPECT_EQ(ec, asio::error::broken_pipe);
  });
  started = true;
  poll();
  EXPECT_FALSE(read_inside);
  EXPECT_FALSE(write_inside);
  EXPECT_FALSE(wait_inside);
  EXPECT_FALSE(failed_inside);
}

TEST_F(stream_pipe_test, per_operation_cancellation_is_operation_aborted_and_keeps_the_pipe) {
  make();
  asio::cancellation_signal signal;
  result r;
  std::string s(8, '\0');
  b_->async_read_some(asio::buffer(s),
                      asio::bind_cancellation_slot(signal.slot(),
                                                   [&r](beast::error_code ec, std::size_t n) {
                                                     r.ec = ec;
                                                     r.n = n;
                                                   }));
  poll();
  EXPECT_FALSE(r.done());
  signal.emit(asio::cancellation_type::terminal);
  poll();
  ASSERT_TRUE(r.done());
  EXPECT_EQ(*r.ec, asio::error::operation_aborted);
  EXPECT_FALSE(a_->broken());
  a_->push("still open");
  EXPECT_EQ(read_now(*b_), "still open");
}

TEST_F(stream_pipe_test, many_uneven_writes_and_reads_keep_every_byte_in_order) {
  make(1000);
  std::string sent, got;
  std::size_t next = 0;
  for (int round = 0; round < 2000; ++round) {
    const std::size_t len = 1 + (round * 7919) % 997;
    std::string piece;
    for (std::size_t i = 0; i < len; ++i) piece.push_back(static_cast<char>('a' + (next++ % 26)));
    result w;
    write(*a_, w, piece);
    poll();
    ASSERT_TRUE(w.done());
    sent.append(piece, 0, w.n);
    next -= len - w.n;
    got += read_now(*b_, 1 + (round * 104729) % 613);
    ASSERT_LE(sent.size() - got.size(), 1000u);
  }
  if (got.size() < sent.size()) got += read_now(*b_);
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace bfast::server
