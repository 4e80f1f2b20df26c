// bfast-proxy: a reverse proxy that answers `Accept: application/x-bfast` with B-FAST.
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <malloc.h>
#include <unistd.h>
#include <sys/resource.h>

#include "bfast/build_info.hpp"
#include "bfast/config/config.hpp"
#include "demo_api.hpp"
#include "proxy_server.hpp"
#include "simple_http.hpp"
#include "tls_context.hpp"
#include "upstream_resolver.hpp"

namespace {

std::string url_of(const boost::asio::ip::tcp::endpoint& ep) {
  const std::string host = ep.address().is_unspecified() ? "127.0.0.1" : ep.address().to_string();
  return "http://" + (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
}

// Each connection costs a descriptor (two when proxied), and the soft limit is often 1024 while
// the hard one is far higher: take what the hard limit allows.
rlim_t raise_open_files_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  // Linux refuses RLIM_INFINITY for open files; fs.nr_open defaults to 2^20.
  const rlim_t want = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
  if (lim.rlim_cur < want) {
    rlimit raised{want, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim.rlim_cur = want;
  }
  return lim.rlim_cur;
}

}  // namespace

int main(int argc, char** argv) {
  // Bodies of a megabyte and more get their own mappings, returned to the system when freed.
  // Left to glibc, the threshold rises after the first large free, and from then on large
  // bodies live in the heaps, which keep their pages: 80 MB resident after a few 8 MB
  // transforms at once instead of 7 MB, and a higher peak from fragmentation.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Fixing that threshold also fixes the trim threshold at 128 KiB, and the heap then shrinks
  // and grows again around every body of a few hundred KB (twitter.json: 1.75 ms of CPU per
  // response instead of 1.3). Up to 8 MiB free at the heap's top stays.
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  std::vector<std::string_view> args(argv + 1, argv + argc);
  bfast::config::load_result loaded = bfast::config::load(args);
  if (loaded.show_help) {
    std::fputs(bfast::config::usage().c_str(), stdout);
    return 0;
  }
  if (loaded.show_version) {
    std::printf("bfast-proxy %.*s (commit %.*s)\n",
                static_cast<int>(bfast::build_info::version.size()), bfast::build_info::version.data(),
                static_cast<int>(bfast::build_info::commit.size()), bfast::build_info::commit.data());
    return 0;
  }
  {
    std::vector<std::string_view> env_names;
    for (char** e = environ; *e; ++e) {
      const std::string_view entry = *e;
      env_names.push_back(entry.substr(0, entry.find('=')));
    }
    for (const auto& w : bfast::config::unknown_env_warnings(env_names))
      std::fprintf(stderr, "bfast-proxy: warning: %s\n", w.c_str());
  }
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::fprintf(stderr, "bfast-proxy: config error: %s\n", e.c_str());
    return 2;
  }
  if (loaded.print_only) {
    std::fputs(bfast::config::describe(loaded).c_str(), stdout);
    return 0;
  }
  if (loaded.check_only) {
    const bfast::server::tls_build tls = bfast::server::build_tls(loaded.config);
    if (!tls.errors.empty()) {
      for (const auto& e : tls.errors)
        std::fprintf(stderr, "bfast-proxy: config error: %s\n", e.c_str());
      return 2;
    }
    // The demo's upstream is its own listener, made at start.
    if (!loaded.config.demo) {
      boost::system::error_code ec;
      const auto found = bfast::server::resolve_now(loaded.config.upstream_endpoint, ec);
      if (ec) {
        std::fprintf(stderr, "bfast-proxy: config error: %s\n",
                     bfast::server::resolve_error(loaded.config.upstream_endpoint, ec).c_str());
        return 2;
      }
      std::printf("upstream %s resolves to %s\n", loaded.config.upstream_endpoint.host.c_str(),
                  bfast::server::addresses_text(found).c_str());
    }
    std::puts("config ok");
    return 0;
  }
  bfast::config::proxy_config& cfg = loaded.config;
  // A closed stdout must fail the access log's write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Until the server's handler takes SIGHUP over, a reload request must not end the process.
  std::signal(SIGHUP, SIG_IGN);
  const rlim_t open_files = raise_open_files_limit();
  std::fprintf(stderr, "bfast-proxy: open files limit %llu\n",
               static_cast<unsigned long long>(open_files));
  // A proxied connection holds a client and an upstream socket; 64 covers listeners and files.
  const unsigned long long needed = 2ull * cfg.max_connections + cfg.admin_max_connections + 64;
  if (open_files && open_files < needed)
    std::fprintf(stderr,
                 "bfast-proxy: warning: open files limit %llu is below the %llu that "
                 "max_connections=%u may need; past it accepts pause\n",
                 static_cast<unsigned long long>(open_files), needed, cfg.max_connections);

  // The demo API runs on its own thread, so building a large document never stalls the proxy.
  boost::asio::io_context demo_ioc(1);
  boost::asio::ip::tcp::acceptor demo_acceptor(demo_ioc);
  std::thread demo_thread;
  try {
    if (cfg.demo) {
      bfast::server::open_acceptor(demo_acceptor, cfg.demo_listen.host, cfg.demo_listen.port);
      const auto ep = demo_acceptor.local_endpoint();
      cfg.upstream = url_of(ep);
      cfg.upstream_endpoint = {ep.address().to_string(), ep.port()};
      cfg.upstream_tls_settings.enabled = false;
      bfast::server::serve_simple(demo_acceptor, bfast::server::demo_api);
      demo_thread = std::thread([&] { demo_ioc.run(); });
    }

    // A reload reads the same sources again; the demo's upstream stays its own listener.
    const bool demo = cfg.demo;
    const std::string demo_upstream = cfg.upstream;
    const auto demo_endpoint = cfg.upstream_endpoint;
    bfast::server::proxy_server server(cfg, [args, demo, demo_upstream, demo_endpoint] {
      bfast::config::load_result r = bfast::config::load(args);
      if (demo && r.errors.empty()) {
        r.config.upstream = demo_upstream;
        r.config.upstream_endpoint = demo_endpoint;
        r.config.upstream_tls_settings.enabled = false;
      }
      return r;
    });
    server.start();
    // The start-up's speed measurements freed their buffers below the trim threshold.
    malloc_trim(0);
    const std::string data = url_of(server.data_endpoint());
    const std::string admin = url_of(server.admin_endpoint());
    std::fprintf(stderr, "bfast-proxy: ready data=%s admin=%s upstream=%s\n", data.c_str(),
                 admin.c_str(), cfg.upstream.c_str());
    if (cfg.demo) {
      std::fprintf(stderr,
                   "\nDemo API behind the proxy. Try:\n"
                   "  curl -s '%s/api/users?n=50000' | wc -c\n"
                   "  curl -sH 'Accept: application/x-bfast' '%s/api/users?n=50000' | wc -c\n"
                   "  curl -sH 'Accept: application/x-bfast' '%s/api/users?n=50000' | build/cli/bfast decode | head -c 600\n"
                   "  curl -sD - -o /dev/null -H 'Accept: application/x-bfast' %s/api/catalog\n"
                   "  curl -s %s/metrics | grep bfast_decisions_total\n\n",
                   data.c_str(), data.c_str(), data.c_str(), data.c_str(), admin.c_str());
    }
    const int code = server.run();
    demo_ioc.stop();
    if (demo_thread.joinable()) demo_thread.join();
    return code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bfast-proxy: %s\n", e.what());
    demo_ioc.stop();
    if (demo_thread.joinable()) demo_thread.join();
    return 1;
  }
}
