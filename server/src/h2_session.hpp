// One HTTP/2 client connection, bridged to HTTP/1.1: each stream's request is written as
// HTTP/1.1 into an in-memory pipe (stream_pipe.hpp) whose other end a proxy_session serves
// exactly as it serves a socket, and the HTTP/1.1 response read back from the pipe becomes the
// stream's response. Every exchange rule (limits, smuggling checks, negotiation, transforms,
// memory budget) is therefore proxy_session's, with no second copy.
//
// Coroutines, all on the connection's thread: a reader (socket -> h2_connection -> events), a
// writer (h2_connection's output -> socket), and per stream the session and a responder (pipe ->
// respond()/send_body()). A stream whose client reads slowly fills its queue in h2_connection,
// then its pipe, and its session's write deadline ends it; the other streams go on.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "h2_connection.hpp"
#include "server_state.hpp"

namespace bfast::server {

class byte_stream;

// Connection-wide limits from the configuration.
[[nodiscard]] h2_limits h2_limits_of(const config::proxy_config& cfg);

class h2_session {
 public:
  h2_session(shared_state& state, worker& w, byte_stream& stream, std::string client_address);
  h2_session(const h2_session&) = delete;
  h2_session& operator=(const h2_session&) = delete;
  ~h2_session();

  // Serves the connection until it ends; `initial` holds bytes already read from it (the
  // preface of an h2c connection). Returns once every stream's coroutines have ended.
  task<void> run(std::string initial);

  // SIGTERM: GOAWAY naming the last stream taken; those finish, then the connection closes.
  void drain();

 private:
  struct bridge;
  // Stream coroutines still running. Shared: when a worker's io_context is destroyed with
  // everything suspended, their frames may go after this object's.
  struct task_count {
    std::size_t running = 0;
    steady_timer* none_left = nullptr;  // null once the session is gone
  };
  // Counts a stream coroutine until it ends (or its frame is destroyed).
  struct task_guard {
    std::shared_ptr<task_count> count;
    explicit task_guard(std::shared_ptr<task_count> c);
    task_guard(task_guard&& o) noexcept = default;
    ~task_guard();
  };

  task<void> read_loop();
  task<void> write_loop();
  // After the last frame: FIN, then read and drop what the client still sends for a while, so
  // that a close over unread bytes does not reset the connection and lose the GOAWAY.
  task<void> linger();
  task<void> respond(std::shared_ptr<bridge> b, task_guard guard);
  task<void> serve_exchange(std::shared_ptr<bridge> b, stream_pipe_end end, task_guard guard);

  // Handles the events h2_connection queued (after receive() and after pending_output()).
  void dispatch();
  void start_stream(std::int32_t id, bool no_body);
  // Moves request body bytes into the stream's pipe as far as it has room.
  void feed(std::int32_t id);
  void wake_writer() { writer_wake_.cancel(); }
  void arm_idle();
  // Adds what h2_connection counted since the last call to the process's metrics.
  void report_stats();
  void stream_gone(bridge& b);

  shared_state& s_;
  worker& w_;
  config_snapshot cfg_;
  byte_stream& stream_;
  std::string client_address_;
  h2_connection conn_;
  std::unordered_map<std::int32_t, std::shared_ptr<bridge>> bridges_;
  steady_timer writer_wake_;
  steady_timer idle_;
  steady_timer write_deadline_;
  steady_timer tasks_done_;
  std::shared_ptr<task_count> tasks_;
  h2_stats reported_;      // the connection's stats already added to the metrics
  bool reading_done_ = false;
  bool failed_ = false;
  bool drained_ = false;
  bool lingering_ = false;  // the writer is done: what the client still sends is discarded
};

}  // namespace bfast::server
