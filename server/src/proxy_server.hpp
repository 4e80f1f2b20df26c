// The process: I/O threads (one io_context each), the data and admin listeners, signals, the
// drain on SIGTERM/SIGINT and the reload on SIGHUP.
#pragma once
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>

#include "cpu_budget.hpp"
#include "server_state.hpp"
#include "upstream_resolver.hpp"

namespace bfast::server {

// Reads the configuration again from where the process first read it (file, environment, flags).
using config_source = std::function<config::load_result()>;

class proxy_server {
 public:
  proxy_server(config::proxy_config cfg, config_source reload_from);
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
  // While /readyz says the upstream is unreachable, one connect at a time to see whether it is
  // back: a pod out of its Service's endpoints gets no requests that would find out.
  void probe_upstream();
  void on_signal(const boost::system::error_code& ec, int signo);
  void stop_accepting();
  void wait_for_idle();
  void finish(int code);
  void on_hangup(const boost::system::error_code& ec);
  void reload();
  void apply_reload(config_snapshot next, tls_snapshot tls, upstream_addresses addresses);
  void refuse_reload(const std::vector<std::string>& errors);
  void reload_done();
  void use_upstream(const upstream_addresses& addresses);

  // The running configuration; only the control thread reads or replaces it. Workers get their
  // own copies of the pointer, posted to their threads.
  config_snapshot cfg_;
  config_source reload_from_;
  // What `threads: 0` and `transform_threads: 0` mean here: the CPUs the process may use.
  cpu_budget cpus_;
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
  asio::signal_set hangups_;
  upstream_resolver resolver_;
  steady_timer drain_timer_;
  std::chrono::steady_clock::time_point shutdown_deadline_;
  std::vector<std::thread> threads_;
  std::size_t next_worker_ = 0;
  int signals_seen_ = 0;
  bool probing_upstream_ = false;
  std::chrono::steady_clock::time_point last_probe_{};
  bool reloading_ = false;     // a reload waits for its upstream's resolution
  bool reload_again_ = false;  // a SIGHUP came meanwhile
  int exit_code_ = 0;
};

}  // namespace bfast::server
