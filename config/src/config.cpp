// Loading and validating the configuration. Longer than the house's 400 lines on purpose: the
// settings table (one row per key) and the three readers it drives (file, environment, flags),
// the help text and validation share the row type, and splitting them would split the table.
#include "bfast/config/config.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

namespace bfast::config {
namespace {

using json = nlohmann::json;

// A setting reads its value from text, so that the file, the environment and flags share one
// parser. Returns an error message, or nothing.
using apply_fn = std::function<std::optional<std::string>(proxy_config&, std::string_view)>;

enum class kind { string, uint, boolean, list };

using show_fn = std::function<std::string(const proxy_config&)>;

struct setting {
  std::string_view key;  // JSON key; the env var is BFAST_PROXY_<KEY>, the flag --<key with ->
  kind type;
  std::string_view help;
  apply_fn apply;
  show_fn show;  // the value as text, for --print-config
};

template <class T>
std::optional<std::string> parse_uint(std::string_view text, T& out, std::uint64_t min,
                                      std::uint64_t max) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return "expected an unsigned integer, got \"" + std::string(text) + "\"";
  if (v < min || v > max)
    return "must be between " + std::to_string(min) + " and " + std::to_string(max);
  out = static_cast<T>(v);
  return std::nullopt;
}

std::optional<std::string> parse_bool(std::string_view text, bool& out) {
  if (text == "true" || text == "1" || text == "on" || text == "yes") out = true;
  else if (text == "false" || text == "0" || text == "off" || text == "no") out = false;
  else return "expected true or false, got \"" + std::string(text) + "\"";
  return std::nullopt;
}

template <class T>
setting uint_setting(std::string_view key, T proxy_config::*member, std::uint64_t min,
                     std::uint64_t max, std::string_view help) {
  return {key, kind::uint, help,
          [member, min, max](proxy_config& c, std::string_view t) {
            return parse_uint(t, c.*member, min, max);
          },
          [member](const proxy_config& c) { return std::to_string(c.*member); }};
}

setting bool_setting(std::string_view key, bool proxy_config::*member, std::string_view help) {
  return {key, kind::boolean, help,
          [member](proxy_config& c, std::string_view t) { return parse_bool(t, c.*member); },
          [member](const proxy_config& c) { return std::string(c.*member ? "true" : "false"); }};
}

setting endpoint_setting(std::string_view key, endpoint proxy_config::*member,
                         std::string_view help) {
  return {key, kind::string, help,
          [member](proxy_config& c, std::string_view t) -> std::optional<std::string> {
            const auto e = parse_endpoint(t);
            if (!e) return "expected HOST:PORT, got \"" + std::string(t) + "\"";
            c.*member = *e;
            return std::nullopt;
          },
          [member](const proxy_config& c) { return (c.*member).to_string(); }};
}

template <class Part>
setting string_setting(std::string_view key, Part proxy_config::*part,
                       std::string Part::*member, std::string_view help) {
  return {key, kind::string, help,
          [part, member](proxy_config& c, std::string_view t) -> std::optional<std::string> {
            c.*part.*member = std::string(t);
            return std::nullopt;
          },
          [part, member](const proxy_config& c) { return c.*part.*member; }};
}

template <class Part>
setting bool_setting_of(std::string_view key, Part proxy_config::*part, bool Part::*member,
                        std::string_view help) {
  return {key, kind::boolean, help,
          [part, member](proxy_config& c, std::string_view t) {
            return parse_bool(t, c.*part.*member);
          },
          [part, member](const proxy_config& c) {
            return std::string(c.*part.*member ? "true" : "false");
          }};
}

constexpr std::uint64_t ms_max = 24ull * 3600 * 1000;

const std::vector<setting>& settings() {
  static const std::vector<setting> table{
      endpoint_setting("listen", &proxy_config::listen, "data listener, HOST:PORT"),
      endpoint_setting("admin_listen", &proxy_config::admin_listen,
                       "admin listener (/healthz, /readyz, /metrics), HOST:PORT"),
      {"upstream", kind::string, "upstream origin, http://HOST:PORT or https://HOST:PORT",
       [](proxy_config& c, std::string_view t) -> std::optional<std::string> {
         const auto expected = [t] {
           return "expected http://HOST:PORT or https://HOST:PORT, got \"" + std::string(t) +
                  "\"";
         };
         std::string_view rest = t;
         bool tls = false;
         if (rest.starts_with("https://")) {
           tls = true;
           rest.remove_prefix(8);
         } else if (rest.starts_with("http://")) {
           rest.remove_prefix(7);
         } else {
           return expected();
         }
         if (rest.ends_with('/')) rest.remove_suffix(1);
         const auto e = parse_endpoint(rest);
         if (!e) return expected();
         c.upstream = std::string(t);
         c.upstream_endpoint = *e;
         c.upstream_tls_settings.enabled = tls;
         return std::nullopt;
       },
       [](const proxy_config& c) { return c.upstream; }},
      bool_setting_of("upstream_tls_verify", &proxy_config::upstream_tls_settings,
                      &upstream_tls::verify,
                      "check an https upstream's certificate chain and name"),
      string_setting("upstream_tls_ca_file", &proxy_config::upstream_tls_settings,
                     &upstream_tls::ca_file,
                     "CA certificates (PEM) an https upstream's chain must end at; empty: the "
                     "system's trust store"),
      string_setting("upstream_tls_server_name", &proxy_config::upstream_tls_settings,
                     &upstream_tls::server_name,
                     "name sent as SNI and checked in an https upstream's certificate; empty: "
                     "the upstream's host"),
      string_setting("upstream_tls_certificate", &proxy_config::upstream_tls_settings,
                     &upstream_tls::certificate,
                     "client certificate (PEM) shown to an https upstream that asks for one"),
      string_setting("upstream_tls_certificate_key", &proxy_config::upstream_tls_settings,
                     &upstream_tls::certificate_key, "the client certificate's key (PEM)"),
      string_setting("tls_certificate", &proxy_config::tls, &listener_tls::certificate,
                     "certificate chain (PEM) of the data listener; with its key, the listener "
                     "speaks TLS only"),
      string_setting("tls_certificate_key", &proxy_config::tls, &listener_tls::certificate_key,
                     "the listener certificate's key (PEM)"),
      {"tls_min_version", kind::string, "oldest TLS version the listener accepts, 1.2 or 1.3",
       [](proxy_config& c, std::string_view t) -> std::optional<std::string> {
         if (t != "1.2" && t != "1.3")
           return "expected \"1.2\" or \"1.3\", got \"" + std::string(t) + "\"";
         c.tls.min_version = std::string(t);
         return std::nullopt;
       },
       [](const proxy_config& c) { return c.tls.min_version; }},
      string_setting("tls_ciphers", &proxy_config::tls, &listener_tls::ciphers,
                     "the listener's TLS 1.2 cipher list (OpenSSL syntax)"),
      bool_setting("http2", &proxy_config::http2,
                   "serve HTTP/2: h2 by ALPN on a TLS listener, h2c with prior knowledge on a "
                   "cleartext one"),
      uint_setting("http2_max_concurrent_streams", &proxy_config::http2_max_concurrent_streams, 1,
                   10'000, "streams one HTTP/2 connection may have open at once"),
      uint_setting("http2_max_header_list_bytes", &proxy_config::http2_max_header_list_bytes,
                   1024, 1 << 20,
                   "an HTTP/2 request's header list (RFC 9113 size); past it the answer is 431"),
      uint_setting("tls_handshake_timeout_ms", &proxy_config::tls_handshake_timeout_ms, 1, ms_max,
                   "time for a client's TLS handshake"),
      uint_setting("upstream_resolve_interval_ms", &proxy_config::upstream_resolve_interval_ms, 0,
                   ms_max,
                   "how often the upstream's name is resolved again, 0 = once at start"),
      uint_setting("threads", &proxy_config::threads, 0, 256,
                   "I/O threads, 0 = one per usable CPU (affinity mask, cgroup quota)"),
      uint_setting("transform_threads", &proxy_config::transform_threads, 0, 256,
                   "transcoding threads, 0 = one per usable CPU"),
      uint_setting("transform_inline_max_bytes", &proxy_config::transform_inline_max_bytes, 0,
                   std::uint64_t{1} << 30,
                   "bodies up to this size are transformed on the I/O thread, larger ones on "
                   "the transcoding threads"),
      bool_setting("access_log", &proxy_config::access_log, "JSON access log line per request"),
      // At least twice the longest line (its fields are cut), so that every line fits.
      uint_setting("access_log_buffer_bytes", &proxy_config::access_log_buffer_bytes, 65536,
                   std::uint64_t{1} << 30,
                   "access log lines queued for a slow stdout; past it lines are dropped"),
      bool_setting("request_id", &proxy_config::request_id,
                   "X-Request-Id: a client's kept, else one made; sent upstream and back"),
      bool_setting("demo", &proxy_config::demo, "start the built-in demo API and proxy to it"),
      endpoint_setting("demo_listen", &proxy_config::demo_listen, "demo API listener"),
      uint_setting("client_header_timeout_ms", &proxy_config::client_header_timeout_ms, 1, ms_max,
                   "time to receive a request's header"),
      uint_setting("keepalive_idle_timeout_ms", &proxy_config::keepalive_idle_timeout_ms, 1,
                   ms_max, "idle time allowed between requests on a kept-alive connection"),
      uint_setting("client_body_idle_timeout_ms", &proxy_config::client_body_idle_timeout_ms, 1,
                   ms_max, "idle time allowed while receiving a request body"),
      uint_setting("client_write_timeout_ms", &proxy_config::client_write_timeout_ms, 1, ms_max,
                   "time allowed for each write to the client"),
      uint_setting("upstream_connect_timeout_ms", &proxy_config::upstream_connect_timeout_ms, 1,
                   ms_max, "upstream connect"),
      uint_setting("upstream_header_timeout_ms", &proxy_config::upstream_header_timeout_ms, 1,
                   ms_max, "from request sent to upstream response header received"),
      uint_setting("upstream_body_idle_timeout_ms", &proxy_config::upstream_body_idle_timeout_ms,
                   1, ms_max, "idle time allowed while receiving an upstream body"),
      uint_setting("upstream_pool_idle_timeout_ms", &proxy_config::upstream_pool_idle_timeout_ms,
                   1, ms_max, "how long an idle upstream connection is kept for reuse"),
      uint_setting("drain_delay_ms", &proxy_config::drain_delay_ms, 0, ms_max,
                   "on SIGTERM, time /readyz reports 503 before the listener closes"),
      uint_setting("shutdown_timeout_ms", &proxy_config::shutdown_timeout_ms, 1, ms_max,
                   "on SIGTERM, time allowed for requests in flight after the listener closes"),
      uint_setting("readyz_upstream_failures", &proxy_config::readyz_upstream_failures, 0,
                   1'000'000,
                   "upstream connect failures in a row that make /readyz 503 until a connect "
                   "succeeds, 0 = off"),
      uint_setting("tunnel_idle_timeout_ms", &proxy_config::tunnel_idle_timeout_ms, 1, ms_max,
                   "an upgraded connection (WebSocket) with no byte either way for this long is "
                   "closed"),
      uint_setting("max_header_bytes", &proxy_config::max_header_bytes, 1024, 1u << 20,
                   "request header size limit (431 past it)"),
      uint_setting("max_request_body_bytes", &proxy_config::max_request_body_bytes, 0,
                   std::uint64_t{1} << 40, "request body limit (413 past it)"),
      uint_setting("max_connections", &proxy_config::max_connections, 1, 1'000'000,
                   "client connections and HTTP/2 streams in flight, together"),
      uint_setting("admin_max_connections", &proxy_config::admin_max_connections, 1, 100'000,
                   "admin connections open at once; past it new ones are closed"),
      uint_setting("max_tunnels", &proxy_config::max_tunnels, 0, 1'000'000,
                   "upgraded connections (WebSocket) open at once; past it an upgrade gets 503"),
      uint_setting("transform_memory_budget_bytes",
                   &proxy_config::transform_memory_budget_bytes, 1, std::uint64_t{1} << 40,
                   "memory for transforms in flight; past it responses pass through (overloaded)"),
      uint_setting("upstream_pool_max_idle", &proxy_config::upstream_pool_max_idle, 0, 100'000,
                   "idle upstream connections kept per I/O thread"),
      {"trusted_proxies", kind::list, "CIDRs whose RTT header and X-Forwarded-* are believed",
       [](proxy_config& c, std::string_view t) -> std::optional<std::string> {
         std::vector<std::string> items;
         std::vector<cidr> ranges;
         std::size_t start = 0;
         while (start <= t.size()) {
           auto comma = t.find(',', start);
           if (comma == std::string_view::npos) comma = t.size();
           std::string_view item = t.substr(start, comma - start);
           while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
           while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
           if (!item.empty()) {
             const auto r = cidr::parse(item);
             if (!r) return "\"" + std::string(item) + "\" is not an address or CIDR range";
             items.emplace_back(item);
             ranges.push_back(*r);
           }
           start = comma + 1;
         }
         c.trusted_proxies = std::move(items);
         c.trusted_ranges = std::move(ranges);
         return std::nullopt;
       },
       [](const proxy_config& c) {
         std::string joined;
         for (const std::string& p : c.trusted_proxies) joined += (joined.empty() ? "" : ",") + p;
         return joined;
       }},
      {"client_rtt_header", kind::string,
       "header a trusted ingress sets to the client's RTT in ms (empty: off)",
       [](proxy_config& c, std::string_view t) -> std::optional<std::string> {
         c.client_rtt_header = std::string(t);
         return std::nullopt;
       },
       [](const proxy_config& c) { return c.client_rtt_header; }},
  };
  return table;
}

std::string env_name(std::string_view key) {
  std::string s = "BFAST_PROXY_";
  for (char ch : key) s += static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
  return s;
}

std::string flag_name(std::string_view key) {
  std::string s = "--";
  for (char ch : key) s += ch == '_' ? '-' : ch;
  return s;
}

const setting* find_setting(std::string_view key) {
  for (const setting& s : settings())
    if (s.key == key) return &s;
  return nullptr;
}

// A JSON scalar (or array of strings, for lists) as the text the setting parses.
std::optional<std::string> json_as_text(const json& v, kind type, std::string& error) {
  switch (type) {
    case kind::string:
      if (v.is_string()) return v.get<std::string>();
      error = "expected a string";
      return std::nullopt;
    case kind::uint:
      if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
      error = "expected an unsigned integer";
      return std::nullopt;
    case kind::boolean:
      if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
      error = "expected true or false";
      return std::nullopt;
    case kind::list: {
      if (!v.is_array()) {
        error = "expected an array of strings";
        return std::nullopt;
      }
      std::string joined;
      for (const json& item : v) {
        if (!item.is_string() || item.get<std::string>().find(',') != std::string::npos) {
          error = "expected an array of strings";
          return std::nullopt;
        }
        if (!joined.empty()) joined += ',';
        joined += item.get<std::string>();
      }
      return joined;
    }
  }
  return std::nullopt;
}

// Route keys for the speeds of the route's clients, in bytes per second (see bfast/policy.hpp).
struct client_speed_key {
  std::string_view name;
  double client_speeds::*member;
};
constexpr std::array<client_speed_key, 5> client_speed_keys{{
    {"client_decode_bytes_per_s", &client_speeds::decode_bytes_per_s},
    {"client_json_bytes_per_s", &client_speeds::json_bytes_per_s},
    {"client_lz4_bytes_per_s", &client_speeds::lz4_bytes_per_s},
    {"client_gzip_bytes_per_s", &client_speeds::gzip_bytes_per_s},
    {"client_zstd_bytes_per_s", &client_speeds::zstd_bytes_per_s},
}};
// From 1 KB/s to 1 TB/s: outside that a value is a typo, not a client.
constexpr double min_client_speed = 1e3;
constexpr double max_client_speed = 1e12;

const client_speed_key* find_client_speed_key(std::string_view name) {
  for (const client_speed_key& k : client_speed_keys)
    if (k.name == name) return &k;
  return nullptr;
}

void load_routes(const json& v, proxy_config& c, std::vector<std::string>& errors) {
  if (!v.is_array()) {
    errors.push_back("routes: expected an array of route objects");
    return;
  }
  std::vector<route_rule> routes;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string where = "routes[" + std::to_string(i) + "]";
    const json& r = v[i];
    if (!r.is_object()) {
      errors.push_back(where + ": expected an object");
      continue;
    }
    route_rule rule;
    // The decoder profile first: the client_*_bytes_per_s keys override its speeds.
    if (const auto d = r.find("client_decoder"); d != r.end()) {
      const auto profile = parse_client_decoder(d->is_string() ? d->get<std::string>() : "");
      if (profile) rule.client = speeds_of(*profile);
      else errors.push_back(where + ".client_decoder: expected \"ts\", \"python\" or \"native\"");
    }
    for (auto it = r.begin(); it != r.end(); ++it) {
      const std::string field = where + "." + it.key();
      const json& x = it.value();
      if (it.key() == "client_decoder") continue;
      if (it.key() == "prefix") {
        if (!x.is_string() || x.get<std::string>().empty() || x.get<std::string>()[0] != '/')
          errors.push_back(field + ": expected a path prefix starting with /");
        else
          rule.prefix = x.get<std::string>();
      } else if (it.key() == "enabled") {
        if (!x.is_boolean()) errors.push_back(field + ": expected true or false");
        else rule.enabled = x.get<bool>();
      } else if (it.key() == "compress_json") {
        if (!x.is_boolean()) errors.push_back(field + ": expected true or false");
        else rule.compress_json = x.get<bool>();
      } else if (it.key() == "negotiation") {
        const auto n = parse_negotiation(x.is_string() ? x.get<std::string>() : "");
        if (n) rule.negotiation_rule = *n;
        else errors.push_back(field + ": expected \"fastest\" or \"prefer_bfast\"");
      } else if (it.key() == "upgrades") {
        if (!x.is_boolean()) errors.push_back(field + ": expected true or false");
        else rule.upgrades = x.get<bool>();
      } else if (it.key() == "decode_requests") {
        if (!x.is_boolean()) errors.push_back(field + ": expected true or false");
        else rule.decode_requests = x.get<bool>();
      } else if (it.key() == "max_request_message_bytes" ||
                 it.key() == "max_decoded_request_bytes") {
        if (!x.is_number_unsigned() || x.get<std::uint64_t>() == 0 ||
            x.get<std::uint64_t>() > (std::uint64_t{4} << 30))
          errors.push_back(field + ": expected an unsigned integer between 1 and 4294967296");
        else if (it.key() == "max_request_message_bytes")
          rule.max_request_message_bytes = x.get<std::uint64_t>();
        else
          rule.max_decoded_request_bytes = x.get<std::uint64_t>();
      } else if (it.key() == "pack_floats") {
        if (!x.is_boolean()) errors.push_back(field + ": expected true or false");
        else rule.pack_floats = x.get<bool>();
      } else if (it.key() == "max_body_bytes") {
        if (!x.is_number_unsigned() || x.get<std::uint64_t>() == 0 ||
            x.get<std::uint64_t>() > (std::uint64_t{4} << 30))
          errors.push_back(field + ": expected an unsigned integer between 1 and 4294967296");
        else
          rule.max_body_bytes = x.get<std::uint64_t>();
      } else if (it.key() == "compress") {
        const auto m = parse_route_mode(x.is_string() ? x.get<std::string>() : "");
        if (m) rule.compress = *m;
        else errors.push_back(field + ": expected \"auto\", \"always\" or \"never\"");
      } else if (const client_speed_key* k = find_client_speed_key(it.key())) {
        if (!x.is_number() || !(x.get<double>() >= min_client_speed) ||
            !(x.get<double>() <= max_client_speed))
          errors.push_back(field + ": expected bytes per second, a number from 1000 to 1e12");
        else
          rule.client.*(k->member) = x.get<double>();
      } else {
        errors.push_back(field + ": unknown field");
      }
    }
    if (!r.contains("prefix")) errors.push_back(where + ".prefix: required");
    routes.push_back(std::move(rule));
  }
  c.routes = std::move(routes);
}

// "line L, column C" of the 1-based byte offset nlohmann reports for a syntax error.
std::string line_and_column(std::string_view text, std::size_t byte) {
  const std::string_view before = text.substr(0, byte > 0 ? std::min(byte - 1, text.size()) : 0);
  const std::size_t newline = before.rfind('\n');
  const std::size_t line = 1 + static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n'));
  const std::size_t column = before.size() - (newline == std::string_view::npos ? 0 : newline + 1) + 1;
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// A config is a few levels deep; each level keeps its path, so depth must not be unbounded.
constexpr std::size_t max_config_depth = 32;
struct too_deep {};

// nlohmann keeps the last of duplicate keys silently; a config that says two things is refused.
// Walks the parse events to name each duplicate by its path, e.g. routes[1].prefix.
class duplicate_keys {
 public:
  bool operator()(int depth, json::parse_event_t event, const json& parsed) {
    using ev = json::parse_event_t;
    switch (event) {
      case ev::object_start:
      case ev::array_start:
        if (static_cast<std::size_t>(depth) >= max_config_depth) throw too_deep{};
        frames_.push_back({event == ev::object_start, path_of_next(), {}, {}, 0});
        break;
      case ev::key:
        if (!frames_.empty()) {
          frame& f = frames_.back();
          f.key = parsed.get<std::string>();
          if (!f.keys.insert(f.key).second)
            found_.push_back("duplicate key \"" + f.key + "\"" +
                             (f.path.empty() ? " at the top level" : " in " + f.path));
        }
        break;
      case ev::object_end:
      case ev::array_end:
        if (!frames_.empty()) frames_.pop_back();
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
        break;
      case ev::value:
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
        break;
    }
    return true;
  }
  [[nodiscard]] const std::vector<std::string>& found() const { return found_; }

 private:
  struct frame {
    bool object;
    std::string path;
    std::set<std::string> keys;
    std::string key;
    std::size_t index;
  };
  std::string path_of_next() const {
    if (frames_.empty()) return {};
    const frame& f = frames_.back();
    if (!f.object) return f.path + "[" + std::to_string(f.index) + "]";
    return f.path.empty() ? f.key : f.path + "." + f.key;
  }
  std::vector<frame> frames_;
  std::vector<std::string> found_;
};

void load_json(std::string_view text, std::string_view origin, proxy_config& c,
               std::vector<std::string>& errors, sources_map* sources = nullptr) {
  json doc;
  duplicate_keys duplicates;
  // nlohmann takes a NUL byte for the end of the input: what follows it would go unread.
  if (const std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    errors.push_back(std::string(origin) + ": a NUL byte at " + line_and_column(text, nul + 1));
    return;
  }
  try {
    doc = json::parse(text, std::ref(duplicates), /*allow_exceptions=*/true,
                      /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // what() reads "[json.exception.parse_error.101] parse error at line 1, column 2: why".
    std::string why = e.what();
    if (const auto colon = why.find(": "); colon != std::string::npos) why = why.substr(colon + 2);
    errors.push_back(std::string(origin) + ": not valid JSON at " + line_and_column(text, e.byte) +
                     ": " + why);
    return;
  } catch (const too_deep&) {
    errors.push_back(std::string(origin) + ": nested deeper than " +
                     std::to_string(max_config_depth) + " levels");
    return;
  }
  for (const std::string& d : duplicates.found())
    errors.push_back(std::string(origin) + ": " + d);
  if (!duplicates.found().empty()) return;
  if (!doc.is_object()) {
    errors.push_back(std::string(origin) + ": expected a JSON object");
    return;
  }
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (it.key() == "routes") {
      load_routes(it.value(), c, errors);
      continue;
    }
    const setting* s = find_setting(it.key());
    if (!s) {
      errors.push_back(it.key() + ": unknown field (in " + std::string(origin) + ")");
      continue;
    }
    std::string error;
    const auto text_value = json_as_text(it.value(), s->type, error);
    if (!text_value) {
      errors.push_back(it.key() + ": " + error + " (in " + std::string(origin) + ")");
      continue;
    }
    if (auto e = s->apply(c, *text_value))
      errors.push_back(it.key() + ": " + *e + " (in " + std::string(origin) + ")");
    else if (sources)
      (*sources)[it.key()] = "file " + std::string(origin);
  }
  if (sources && doc.contains("routes")) (*sources)["routes"] = "file " + std::string(origin);
}

void validate(proxy_config& c, std::vector<std::string>& errors) {
  if (c.routes.empty()) errors.push_back("routes: at least one route is required");
  for (std::size_t i = 0; i < c.routes.size(); ++i)
    for (std::size_t j = i + 1; j < c.routes.size(); ++j)
      if (c.routes[i].prefix == c.routes[j].prefix)
        errors.push_back("routes[" + std::to_string(j) + "].prefix: duplicate of routes[" +
                         std::to_string(i) + "]");
  if (!c.demo && c.listen.port != 0 && c.listen.port == c.admin_listen.port &&
      c.listen.host == c.admin_listen.host)
    errors.push_back("admin_listen: must differ from listen");
  if (c.tls.certificate.empty() != c.tls.certificate_key.empty())
    errors.push_back(c.tls.certificate.empty() ? "tls_certificate: required with tls_certificate_key"
                                               : "tls_certificate_key: required with tls_certificate");
  const upstream_tls& up = c.upstream_tls_settings;
  if (up.certificate.empty() != up.certificate_key.empty())
    errors.push_back(up.certificate.empty()
                         ? "upstream_tls_certificate: required with upstream_tls_certificate_key"
                         : "upstream_tls_certificate_key: required with upstream_tls_certificate");
}

// Far past any real config: a path naming /dev/zero or a growing file is refused, not read on.
constexpr std::size_t max_config_bytes = 16u << 20;

// Up to one byte past max_config_bytes, so that the caller can tell a file too large.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  std::array<char, 65536> chunk;
  while (text.size() <= max_config_bytes) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (!in) break;
  }
  if (in.bad()) return std::nullopt;
  return text;
}

}  // namespace

std::string endpoint::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
  std::string_view host, port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  endpoint e;
  e.host = std::string(host);
  if (parse_uint(port, e.port, 0, 65535)) return std::nullopt;
  return e;
}

const route_rule& proxy_config::route_for(std::string_view target) const {
  const std::string_view path = target.substr(0, target.find('?'));
  const route_rule* best = nullptr;
  for (const route_rule& r : routes)
    if (path.starts_with(r.prefix) && (!best || r.prefix.size() > best->prefix.size())) best = &r;
  static const route_rule disabled = [] {
    route_rule r;
    r.enabled = false;
    return r;
  }();
  return best ? *best : disabled;
}

load_result load_json_text(std::string_view json_text) {
  load_result r;
  load_json(json_text, "config", r.config, r.errors);
  if (r.errors.empty()) validate(r.config, r.errors);
  return r;
}

load_result load(std::span<const std::string_view> args, const env_lookup& env_in) {
  load_result r;
  const env_lookup env = env_in ? env_in : [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };

  // Flags are collected first: --config names the file, and flags are applied last.
  struct flag_value {
    const setting* s;
    std::string text;
    std::string name;
  };
  std::vector<flag_value> flags;
  std::optional<std::string> config_path;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    std::optional<std::string> inline_value;
    if (const auto eq = a.find('='); a.starts_with("--") && eq != std::string_view::npos) {
      inline_value = std::string(a.substr(eq + 1));
      a = a.substr(0, eq);
    }
    if (a == "--help" || a == "-h") {
      r.show_help = true;
      continue;
    }
    if (a == "--check-config") {
      r.check_only = true;
      continue;
    }
    if (a == "--print-config") {
      r.print_only = true;
      continue;
    }
    if (a == "--version") {
      r.show_version = true;
      continue;
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return std::string(args[++i]);
      return std::nullopt;
    };
    if (a == "--config") {
      config_path = take_value();
      // `--config "$UNSET"` would otherwise run on the defaults without a word.
      if (!config_path || config_path->empty()) r.errors.push_back("--config: needs a file name");
      continue;
    }
    const setting* found = nullptr;
    bool negated = false;  // --no-access-log
    for (const setting& s : settings()) {
      if (flag_name(s.key) == a) found = &s;
      if (s.type == kind::boolean && a.starts_with("--no-") &&
          std::string_view(flag_name(s.key)).substr(2) == a.substr(5)) {
        found = &s;
        negated = true;
      }
    }
    if (!found) {
      r.errors.push_back(std::string(a) + ": unknown option (see --help)");
      continue;
    }
    std::optional<std::string> value;
    if (negated) {
      if (inline_value) {
        r.errors.push_back(std::string(a) + ": takes no value");
        continue;
      }
      value = "false";
    } else if (found->type == kind::boolean && !inline_value) {
      // A bare --demo is true; "--access-log false" takes the next word when it is a boolean.
      bool ignored = false;
      if (i + 1 < args.size() && !parse_bool(args[i + 1], ignored)) value = std::string(args[++i]);
      else value = "true";
    } else {
      value = take_value();
    }
    if (!value) {
      r.errors.push_back(std::string(a) + ": needs a value");
      continue;
    }
    flags.push_back({found, *value, std::string(a)});
  }

  if (!config_path) config_path = env("BFAST_PROXY_CONFIG");
  if (config_path && !config_path->empty()) {
    const auto text = read_file(*config_path);
    if (!text) r.errors.push_back("config: cannot read " + *config_path);
    else if (text->size() > max_config_bytes)
      r.errors.push_back("config: " + *config_path + " is larger than 16 MiB");
    else load_json(*text, *config_path, r.config, r.errors, &r.sources);
  }
  for (const setting& s : settings()) {
    const std::string name = env_name(s.key);
    if (const auto v = env(name)) {
      if (auto e = s.apply(r.config, *v))
        r.errors.push_back(std::string(s.key) + ": " + *e + " (from " + name + ")");
      else
        r.sources[std::string(s.key)] = "env " + name;
    }
  }
  for (const flag_value& f : flags) {
    if (auto e = f.s->apply(r.config, f.text))
      r.errors.push_back(std::string(f.s->key) + ": " + *e + " (from " + f.name + ")");
    else
      r.sources[std::string(f.s->key)] = "flag " + f.name;
  }
  if (r.errors.empty()) validate(r.config, r.errors);
  return r;
}

std::string usage() {
  std::string u =
      "usage: bfast-proxy --listen HOST:PORT --upstream http://HOST:PORT --admin-listen HOST:PORT\n"
      "                   [--config FILE] [--threads N] [--demo] [--check-config] [option...]\n\n"
      "Each option can also be set in the JSON config file (key as below) or in the environment\n"
      "(BFAST_PROXY_<KEY>). Flags beat the environment, which beats the file.\n\n";
  for (const setting& s : settings()) {
    u += "  " + flag_name(s.key);
    u += std::string(s.key.size() + 2 < 34 ? 34 - s.key.size() - 2 : 1, ' ');
    u += std::string(s.help) + "\n";
  }
  u += "  --config FILE                    JSON config file (BFAST_PROXY_CONFIG); routes only there\n";
  u += "  --check-config                   validate the configuration, resolve the upstream, exit\n";
  u += "  --print-config                   print each setting's value and its source, exit\n";
  u += "  --version                        print the version and the commit, exit\n";
  u += "\nA boolean flag alone is true; --flag false, --flag=false and --no-flag set it false.\n";
  return u;
}

std::string describe(const load_result& loaded) {
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value, std::string_view source) {
    std::string l = std::string(key) + " = " + value;
    l += std::string(l.size() < 48 ? 48 - l.size() : 1, ' ');
    out += l + "# " + std::string(source) + "\n";
  };
  for (const setting& s : settings()) {
    const auto it = loaded.sources.find(s.key);
    line(s.key, s.show ? s.show(loaded.config) : "?",
         it == loaded.sources.end() ? "default" : it->second);
  }
  std::string prefixes;
  for (const route_rule& r : loaded.config.routes) prefixes += (prefixes.empty() ? "" : ", ") + r.prefix;
  const auto it = loaded.sources.find("routes");
  line("routes", prefixes, it == loaded.sources.end() ? "default" : it->second);
  return out;
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> unknown_env_warnings(std::span<const std::string_view> names) {
  std::vector<std::string> known{"BFAST_PROXY_CONFIG"};
  for (const setting& s : settings()) known.push_back(env_name(s.key));
  std::vector<std::string> warnings;
  for (std::string_view name : names) {
    if (!name.starts_with("BFAST_PROXY_")) continue;
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    std::string closest;
    std::size_t best = std::string::npos;
    for (const std::string& k : known)
      if (const std::size_t d = edit_distance(name, k); d < best) {
        best = d;
        closest = k;
      }
    std::string w = std::string(name) + " is not a setting and is ignored";
    // Past a third of the name, the nearest one is another setting, not the one meant.
    if (best <= std::max<std::size_t>(2, (name.size() - 12) / 3)) w += " (did you mean " + closest + "?)";
    warnings.push_back(std::move(w));
  }
  return warnings;
}

}  // namespace bfast::config
