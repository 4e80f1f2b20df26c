#include "demo_api.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "bfast/filter/headers.hpp"

namespace bfast::server {
namespace {

constexpr std::string_view first_names[] = {"Ada",   "Alan",  "Grace", "Edsger", "Barbara",
                                            "Donald", "Frances", "Ken",  "Margaret", "Niklaus",
                                            "Radia", "Tim"};
constexpr std::string_view last_names[] = {"Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov",
                                           "Knuth",    "Allen",  "Thompson", "Hamilton", "Wirth",
                                           "Perlman",  "Berners-Lee"};
constexpr std::string_view cities[] = {"Lisbon", "Porto", "Recife", "Curitiba", "Oslo",
                                       "Kyoto",  "Accra", "Quito"};
constexpr std::string_view tags[] = {"admin", "beta", "staff", "trial", "vip", "partner"};

// A small deterministic generator (SplitMix64), so every run serves the same bytes.
struct splitmix {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return {};
}

simple_response json_response(const simple_request& req, std::string body) {
  char etag[32];
  std::snprintf(etag, sizeof etag, "\"%016llx\"", static_cast<unsigned long long>(fnv1a(body)));
  const std::string inm = filter::combined_value(req, http::field::if_none_match);
  simple_response res{http::status::ok, req.version()};
  res.set(http::field::etag, etag);
  res.set(http::field::cache_control, "max-age=60");
  if (!inm.empty() && (inm.find(etag) != std::string::npos || inm == "*")) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

}  // namespace

std::string demo_users_json(std::size_t n) {
  std::string out;
  out.reserve(n * 200 + 2);
  out += '[';
  splitmix rng{42};
  char buf[512];
  for (std::size_t i = 0; i < n; ++i) {
    const auto first = first_names[rng.next() % std::size(first_names)];
    const auto last = last_names[rng.next() % std::size(last_names)];
    const auto city = cities[rng.next() % std::size(cities)];
    const double score = static_cast<double>(rng.next() % 1000000) / 1000.0;
    const int year = 2015 + static_cast<int>(rng.next() % 10);
    const int month = 1 + static_cast<int>(rng.next() % 12);
    const int day = 1 + static_cast<int>(rng.next() % 28);
    const int hour = static_cast<int>(rng.next() % 24);
    const int minute = static_cast<int>(rng.next() % 60);
    const bool active = rng.next() % 3 != 0;
    const auto tag1 = tags[rng.next() % std::size(tags)];
    const auto tag2 = tags[rng.next() % std::size(tags)];
    const int len = std::snprintf(
        buf, sizeof buf,
        "%s{\"id\":%zu,\"name\":\"%.*s %.*s\",\"email\":\"%s.%s%zu@example.com\",\"active\":%s,"
        "\"score\":%.3f,\"created_at\":\"%04d-%02d-%02dT%02d:%02d:00Z\",\"city\":\"%.*s\","
        "\"tags\":[\"%.*s\",\"%.*s\"],\"manager_id\":%s}",
        i ? "," : "", i + 1, static_cast<int>(first.size()), first.data(),
        static_cast<int>(last.size()), last.data(), lower(first).c_str(), lower(last).c_str(), i + 1,
        active ? "true" : "false", score, year, month, day, hour, minute,
        static_cast<int>(city.size()), city.data(), static_cast<int>(tag1.size()), tag1.data(),
        static_cast<int>(tag2.size()), tag2.data(), i % 10 == 0 ? "null" : std::to_string(i / 10 + 1).c_str());
    out.append(buf, static_cast<std::size_t>(len));
  }
  out += ']';
  return out;
}

std::string demo_catalog_json() {
  std::string out = "{\"catalog\":\"demo\",\"currency\":\"EUR\",\"products\":{";
  splitmix rng{7};
  char buf[256];
  for (int p = 0; p < 400; ++p) {
    int len = std::snprintf(buf, sizeof buf, "%s\"sku-%05d\":{\"title\":\"Product %d\",\"price\":%.2f,\"attributes\":{",
                            p ? "," : "", p, p, static_cast<double>(rng.next() % 100000) / 100.0);
    out.append(buf, static_cast<std::size_t>(len));
    for (int a = 0; a < 4; ++a) {
      // Attribute names are shared by few products: many distinct keys in the table.
      len = std::snprintf(buf, sizeof buf, "%s\"attr_%d_%d\":%llu", a ? "," : "", (p * 4 + a) % 900, a,
                          static_cast<unsigned long long>(rng.next() % 1000));
      out.append(buf, static_cast<std::size_t>(len));
    }
    out += "},\"in_stock\":";
    out += rng.next() % 4 ? "true" : "false";
    out += '}';
  }
  out += "}}";
  return out;
}

std::string demo_small_json() {
  return R"({"service":"bfast-demo","version":"1.0","healthy":true,"regions":["eu-west","us-east"],"uptime_s":12345.5})";
}

simple_response demo_api(const simple_request& req) {
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    simple_response res{http::status::method_not_allowed, req.version()};
    res.set(http::field::allow, "GET, HEAD");
    return res;
  }
  if (path == "/api/users") {
    std::size_t n = 100;
    const std::string arg = query_param(target, "n");
    if (!arg.empty()) {
      const auto [p, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
      if (ec != std::errc() || p != arg.data() + arg.size() || n > 1'000'000) {
        simple_response res{http::status::bad_request, req.version()};
        res.set(http::field::content_type, "application/json");
        res.body() = R"({"error":"n must be an integer between 0 and 1000000"})";
        return res;
      }
    }
    return json_response(req, demo_users_json(n));
  }
  if (path == "/api/catalog") return json_response(req, demo_catalog_json());
  if (path == "/api/small") return json_response(req, demo_small_json());
  if (path == "/" || path == "/api") {
    return json_response(req, R"({"endpoints":["/api/users?n=N","/api/catalog","/api/small"]})");
  }
  simple_response res{http::status::not_found, req.version()};
  res.set(http::field::content_type, "application/json");
  res.body() = R"({"error":"not found"})";
  return res;
}

}  // namespace bfast::server
