#include "reload_rules.hpp"

#include <array>
#include <string_view>

namespace bfast::server {
namespace {

using config::proxy_config;

std::string text_of(const config::endpoint& e) { return e.to_string(); }
std::string text_of(bool b) { return b ? "true" : "false"; }
template <class T>
std::string text_of(T v) {
  return std::to_string(v);
}

struct fixed_setting {
  std::string_view key;
  // The message when `next` differs from `running`, after `running`'s value is put back.
  std::string (*keep)(const proxy_config& running, proxy_config& next);
};

template <auto member>
std::string keep_member(const proxy_config& running, proxy_config& next) {
  const std::string was = text_of(running.*member);
  const std::string asked = text_of(next.*member);
  if (was == asked) return {};
  next.*member = running.*member;
  return "(running " + was + ", new config " + asked + ")";
}

// Whether the listener speaks TLS is bound at start, with its socket; its certificate is not.
std::string keep_listener_tls(const proxy_config& running, proxy_config& next) {
  if (running.tls.enabled() == next.tls.enabled()) return {};
  const std::string asked = next.tls.enabled() ? "TLS" : "cleartext";
  next.tls = running.tls;
  return std::string("(running ") + (running.tls.enabled() ? "TLS" : "cleartext") +
         ", new config " + asked + ")";
}

// Bound at start: the listeners' sockets and whether the data listener speaks TLS, the thread
// counts, the access log's writer, the demo API and the admin listener's connection cap.
constexpr std::array<fixed_setting, 10> fixed_settings{{
    {"tls_certificate", keep_listener_tls},
    {"listen", keep_member<&proxy_config::listen>},
    {"admin_listen", keep_member<&proxy_config::admin_listen>},
    {"threads", keep_member<&proxy_config::threads>},
    {"transform_threads", keep_member<&proxy_config::transform_threads>},
    {"access_log", keep_member<&proxy_config::access_log>},
    {"access_log_buffer_bytes", keep_member<&proxy_config::access_log_buffer_bytes>},
    {"admin_max_connections", keep_member<&proxy_config::admin_max_connections>},
    {"demo", keep_member<&proxy_config::demo>},
    {"demo_listen", keep_member<&proxy_config::demo_listen>},
}};

}  // namespace

std::vector<std::string> keep_fixed_settings(const proxy_config& running, proxy_config& next) {
  std::vector<std::string> messages;
  for (const fixed_setting& f : fixed_settings) {
    const std::string changed = f.keep(running, next);
    if (!changed.empty())
      messages.push_back(std::string(f.key) + ": a reload cannot change it " + changed +
                         "; the running value stays until a restart");
  }
  return messages;
}

}  // namespace bfast::server
