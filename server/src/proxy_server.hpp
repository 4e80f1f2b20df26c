// The process: I/O threads (one io_context each), the data and admin listeners, signals and the
// drain on SIGTERM/SIGINT.
#pragma once
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "server_state.hpp"

namespace bfast::server {

class proxy_server {
 public:
  explicit proxy_server(const config::proxy_config& cfg);
  ~proxy_server();
  proxy_server(const proxy_server&) = delete;
  proxy_server& operator=(const proxy_server&) = delete;

  // Resolves the upstream and binds both listeners; throws std::system_error on failure.
  void start();
  [[nodiscard]] tcp::endpoint data_endpoint() const { return data_acceptor_.local_endpoint(); }
  [[nodiscard]] tcp::endpoint admin_endpoint() const { return admin_acceptor_.local_endpoint(); }

  // Serves until a signal's drain completes; returns the exit code.
  int run();

 private:
  task<void> accept_loop();
  void on_signal(const boost::system::error_code& ec, int signo);
  void stop_accepting();
  void wait_for_idle();
  void finish(int code);

  const config::proxy_config& cfg_;
  metrics stats_;
  access_log log_;
  transform_service transforms_;
  shared_state state_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  asio::io_context control_;
  tcp::acceptor data_acceptor_;
  tcp::acceptor admin_acceptor_;
  asio::signal_set signals_;
  steady_timer drain_timer_;
  std::chrono::steady_clock::time_point shutdown_deadline_;
  std::vector<std::thread> threads_;
  std::size_t next_worker_ = 0;
  int signals_seen_ = 0;
  int exit_code_ = 0;
};

}  // namespace bfast::server
