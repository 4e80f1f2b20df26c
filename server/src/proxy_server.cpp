#include "proxy_server.hpp"

#include <csignal>
#include <cstdio>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "reload_rules.hpp"
#include "simple_http.hpp"

namespace bfast::server {
namespace {

using std::chrono::milliseconds;

unsigned or_budget(unsigned configured, const cpu_budget& cpus) {
  return configured ? configured : cpus.threads;
}

std::string threads_text(unsigned configured, const cpu_budget& cpus) {
  return std::to_string(or_budget(configured, cpus)) + " (" +
         (configured ? std::string("configured") : cpus.reason) + ")";
}

constexpr std::string_view upstream_unreachable = "upstream unreachable\n";

// Why /readyz says 503, or empty when ready.
std::string_view not_ready_reason(const shared_state& state, const config::proxy_config& cfg) {
  if (state.draining.load()) return "draining\n";
  if (cfg.readyz_upstream_failures &&
      state.upstream_connect_failures.load(std::memory_order_relaxed) >=
          cfg.readyz_upstream_failures)
    return upstream_unreachable;
  return {};
}

simple_response admin_response(const simple_request& req, const metrics& stats,
                               std::string_view not_ready, bool draining) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  simple_response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  if (path == "/healthz") {
    res.body() = "ok\n";
  } else if (path == "/readyz") {
    if (!not_ready.empty()) {
      res.result(http::status::service_unavailable);
      res.body() = not_ready;
    } else {
      res.body() = "ready\n";
    }
  } else if (path == "/metrics") {
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = stats.render(draining);
  } else {
    res.result(http::status::not_found);
    res.body() = "not found\n";
  }
  return res;
}

// Every configured route is listed in /metrics from the start, before its first request.
void label_routes(metrics& stats, const config::proxy_config& cfg) {
  for (const config::route_rule& r : cfg.routes) (void)stats.routes.slot_of(r.prefix);
}

}  // namespace

proxy_server::proxy_server(config::proxy_config cfg, config_source reload_from)
    : cfg_(std::make_shared<const config::proxy_config>(std::move(cfg))),
      reload_from_(std::move(reload_from)),
      cpus_(detect_cpu_budget()),
      log_(cfg_->access_log, cfg_->access_log_buffer_bytes, stats_.access_log_dropped),
      transforms_(or_budget(cfg_->transform_threads, cpus_), cfg_->transform_memory_budget_bytes,
                  cfg_->transform_inline_max_bytes, stats_),
      state_{stats_, transforms_, log_, {}, {}},
      control_(1),
      data_acceptor_(control_),
      admin_acceptor_(control_),
      signals_(control_, SIGTERM, SIGINT),
      hangups_(control_, SIGHUP),
      resolver_(control_, stats_,
                [this](const upstream_addresses& addresses) { use_upstream(addresses); }),
      drain_timer_(control_) {
  tls_build tls = build_tls(*cfg_);
  if (!tls.errors.empty()) throw std::runtime_error("config error: " + tls.errors.front());
  label_routes(stats_, *cfg_);
  const unsigned n = or_budget(cfg_->threads, cpus_);
  std::fprintf(stderr, "bfast-proxy: threads: %s, transform_threads: %s\n",
               threads_text(cfg_->threads, cpus_).c_str(),
               threads_text(cfg_->transform_threads, cpus_).c_str());
  const auto none = std::make_shared<const std::vector<tcp::endpoint>>();
  for (unsigned i = 0; i < n; ++i) {
    workers_.push_back(std::make_unique<worker>(cfg_, none, stats_.upstream_pool));
    workers_.back()->use(tls.contexts);
    guards_.push_back(asio::make_work_guard(workers_.back()->ioc));
  }
}

proxy_server::~proxy_server() {
  for (auto& g : guards_) g.reset();
  for (auto& w : workers_) w->ioc.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  transforms_.stop();
  // Every session has stopped logging: write out what is queued.
  log_.stop();
}

void proxy_server::start() {
  boost::system::error_code ec;
  auto found = resolve_now(cfg_->upstream_endpoint, ec);
  if (ec) throw std::runtime_error(resolve_error(cfg_->upstream_endpoint, ec));
  const auto addresses = std::make_shared<const std::vector<tcp::endpoint>>(std::move(found));
  // The I/O threads have not started: their worlds are still this thread's.
  for (auto& w : workers_) w->use(addresses);
  resolver_.watch(cfg_->upstream_endpoint, milliseconds(cfg_->upstream_resolve_interval_ms),
                  addresses);

  open_acceptor(data_acceptor_, cfg_->listen.host, cfg_->listen.port);
  open_acceptor(admin_acceptor_, cfg_->admin_listen.host, cfg_->admin_listen.port);
  serve_simple(
      admin_acceptor_,
      [this](const simple_request& req) {
        const std::string_view not_ready = not_ready_reason(state_, *cfg_);
        if (not_ready == upstream_unreachable) probe_upstream();
        return admin_response(req, stats_, not_ready, state_.draining.load());
      },
      {cfg_->admin_max_connections, &stats_.admin_connections_refused, &stats_.accept_errors});
  asio::co_spawn(control_, accept_loop(), asio::detached);
  signals_.async_wait([this](const auto& e, int signo) { on_signal(e, signo); });
  hangups_.async_wait([this](const auto& e, int) { on_hangup(e); });
}

task<void> proxy_server::accept_loop() {
  for (;;) {
    worker& w = *workers_[next_worker_++ % workers_.size()];
    auto [ec, socket] = co_await data_acceptor_.async_accept(w.ioc, use_tuple);
    if (ec) {
      if (!data_acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
      stats_.accept_errors.fetch_add(1, std::memory_order_relaxed);
      // Out of descriptors and the like: wait a moment instead of spinning.
      steady_timer pause(control_, milliseconds(10));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    stats_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
    // HTTP/2 streams in flight count too: each may hold an upstream connection.
    if (stats_.open_connections.load() + stats_.http2_streams_open.load() >=
        static_cast<std::int64_t>(cfg_->max_connections)) {
      stats_.connections_refused.fetch_add(1, std::memory_order_relaxed);
      boost::system::error_code ig;
      socket.close(ig);
      continue;
    }
    state_.trim.note_open(stats_.open_connections.fetch_add(1, std::memory_order_relaxed) + 1);
    start_proxy_session(state_, w, std::move(socket));
  }
}

void proxy_server::probe_upstream() {
  // /readyz asked in a loop would otherwise start a connect per request against a dead upstream.
  constexpr auto min_probe_interval = std::chrono::seconds(1);
  const upstream_addresses addresses = resolver_.current();
  const auto now = std::chrono::steady_clock::now();
  if (probing_upstream_ || !addresses || addresses->empty() || now - last_probe_ < min_probe_interval)
    return;
  probing_upstream_ = true;
  last_probe_ = now;
  stats_.readyz_probes.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(
      control_,
      [this, addresses]() -> task<void> {
        tcp_stream probe(control_);
        probe.expires_after(milliseconds(cfg_->upstream_connect_timeout_ms));
        auto [ec, ep] = co_await probe.async_connect(*addresses, use_tuple);
        if (!ec) state_.upstream_connect_failures.store(0, std::memory_order_relaxed);
        probing_upstream_ = false;
      },
      asio::detached);
}

void proxy_server::on_signal(const boost::system::error_code& ec, int signo) {
  if (ec) return;
  ++signals_seen_;
  if (signals_seen_ > 1) {
    std::fprintf(stderr, "bfast-proxy: second signal (%d), exiting now\n", signo);
    finish(1);
    return;
  }
  // 1. Not ready any more, while still serving, so endpoint removal can propagate.
  state_.draining.store(true);
  std::fprintf(stderr, "bfast-proxy: signal %d, draining: /readyz is 503 for %u ms\n", signo,
               cfg_->drain_delay_ms);
  signals_.async_wait([this](const auto& e, int s) { on_signal(e, s); });
  drain_timer_.expires_after(milliseconds(cfg_->drain_delay_ms));
  drain_timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) stop_accepting();
  });
}

void proxy_server::stop_accepting() {
  // 2. Stop accepting; 3. idle kept-alive connections close, busy ones answer with
  // Connection: close; 4. requests in flight finish.
  boost::system::error_code ig;
  data_acceptor_.close(ig);
  for (auto& w : workers_) asio::post(w->ioc, [wp = w.get()] { close_idle_sessions(*wp); });
  shutdown_deadline_ = std::chrono::steady_clock::now() + milliseconds(cfg_->shutdown_timeout_ms);
  wait_for_idle();
}

void proxy_server::wait_for_idle() {
  const auto open = stats_.open_connections.load();
  if (open == 0) {
    std::fprintf(stderr, "bfast-proxy: drained, exiting\n");
    finish(0);
    return;
  }
  if (std::chrono::steady_clock::now() >= shutdown_deadline_) {
    // 5. Out of time: say what is cut.
    std::fprintf(stderr,
                 "bfast-proxy: shutdown timeout after %u ms, closing %lld connection(s) "
                 "(%lld transform(s) in flight, %lld tunnel(s))\n",
                 cfg_->shutdown_timeout_ms, static_cast<long long>(open),
                 static_cast<long long>(stats_.transforms_in_flight.load()),
                 static_cast<long long>(stats_.tunnels_open.load()));
    finish(0);
    return;
  }
  for (auto& w : workers_) asio::post(w->ioc, [wp = w.get()] { close_idle_sessions(*wp); });
  drain_timer_.expires_after(milliseconds(20));
  drain_timer_.async_wait([this](const boost::system::error_code& e) {
    if (!e) wait_for_idle();
  });
}

void proxy_server::finish(int code) {
  exit_code_ = code;
  boost::system::error_code ig;
  data_acceptor_.close(ig);
  admin_acceptor_.close(ig);
  signals_.cancel(ig);
  hangups_.cancel(ig);
  resolver_.stop();
  drain_timer_.cancel();
  for (auto& g : guards_) g.reset();
  for (auto& w : workers_) w->ioc.stop();
  control_.stop();
}

void proxy_server::on_hangup(const boost::system::error_code& ec) {
  if (ec) return;
  hangups_.async_wait([this](const auto& e, int) { on_hangup(e); });
  if (state_.draining.load()) {
    std::fprintf(stderr, "bfast-proxy: SIGHUP while draining: no reload\n");
    return;
  }
  if (reloading_) {
    reload_again_ = true;
    return;
  }
  reload();
}

void proxy_server::reload() {
  reloading_ = true;
  config::load_result next = reload_from_();
  if (!next.errors.empty()) {
    refuse_reload(next.errors);
    return;
  }
  for (const std::string& m : keep_fixed_settings(*cfg_, next.config))
    std::fprintf(stderr, "bfast-proxy: reload: %s\n", m.c_str());
  auto snapshot = std::make_shared<const config::proxy_config>(std::move(next.config));
  // Certificates are read again on every reload, so renewed files take effect without a restart.
  tls_build tls = build_tls(*snapshot);
  if (!tls.errors.empty()) {
    refuse_reload(tls.errors);
    return;
  }
  const config::endpoint& up = snapshot->upstream_endpoint;
  if (up.host == cfg_->upstream_endpoint.host && up.port == cfg_->upstream_endpoint.port) {
    apply_reload(std::move(snapshot), std::move(tls.contexts), nullptr);
    return;
  }
  // A new upstream must resolve before anything changes; meanwhile the old one serves.
  resolver_.resolve_once(up, [this, snapshot, contexts = std::move(tls.contexts)](
                                 const boost::system::error_code& ec,
                                 std::vector<tcp::endpoint> found) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      refuse_reload({resolve_error(snapshot->upstream_endpoint, ec)});
      return;
    }
    apply_reload(snapshot, contexts,
                 std::make_shared<const std::vector<tcp::endpoint>>(std::move(found)));
  });
}

void proxy_server::apply_reload(config_snapshot next, tls_snapshot tls,
                                upstream_addresses addresses) {
  const config_snapshot old = std::exchange(cfg_, next);
  label_routes(stats_, *next);
  transforms_.set_limits(next->transform_memory_budget_bytes, next->transform_inline_max_bytes);
  // Each worker swaps its pointer on its own thread: exchanges in flight keep the snapshot they
  // hold, and the next exchange on any connection takes the new one.
  // The TLS contexts go with the configuration they were built from: new handshakes take them,
  // established connections keep theirs.
  for (auto& w : workers_)
    asio::post(w->ioc, [wp = w.get(), next, tls] {
      wp->use(next);
      wp->use(tls);
    });
  if (addresses) {
    use_upstream(addresses);
    resolver_.watch(next->upstream_endpoint, milliseconds(next->upstream_resolve_interval_ms),
                    addresses);
  } else if (next->upstream_resolve_interval_ms != old->upstream_resolve_interval_ms) {
    resolver_.watch(next->upstream_endpoint, milliseconds(next->upstream_resolve_interval_ms),
                    resolver_.current());
  }
  const auto generation = stats_.config_generation.fetch_add(1) + 1;
  stats_.config_reloads_ok.fetch_add(1, std::memory_order_relaxed);
  stats_.config_last_reload_success.store(1);
  std::fprintf(stderr, "bfast-proxy: reload ok: generation %lld, upstream=%s, %zu route(s)\n",
               static_cast<long long>(generation), next->upstream.c_str(), next->routes.size());
  reload_done();
}

void proxy_server::refuse_reload(const std::vector<std::string>& errors) {
  for (const std::string& e : errors)
    std::fprintf(stderr, "bfast-proxy: reload: config error: %s\n", e.c_str());
  stats_.config_reloads_invalid.fetch_add(1, std::memory_order_relaxed);
  stats_.config_last_reload_success.store(0);
  std::fprintf(stderr, "bfast-proxy: reload refused: generation %lld stays\n",
               static_cast<long long>(stats_.config_generation.load()));
  reload_done();
}

void proxy_server::reload_done() {
  reloading_ = false;
  if (std::exchange(reload_again_, false)) reload();
}

void proxy_server::use_upstream(const upstream_addresses& addresses) {
  for (auto& w : workers_) asio::post(w->ioc, [wp = w.get(), addresses] { wp->use(addresses); });
}

int proxy_server::run() {
  for (auto& w : workers_) threads_.emplace_back([wp = w.get()] { wp->ioc.run(); });
  control_.run();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  return exit_code_;
}

}  // namespace bfast::server
