#include "bfast/filter/headers.hpp"

#include <array>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <vector>

#include <boost/beast/core/string.hpp>

namespace bfast::filter {
namespace {

constexpr std::array<std::string_view, 9> hop_by_hop_table{
    "Connection",          "Keep-Alive", "Proxy-Connection", "TE",      "Trailer",
    "Transfer-Encoding",   "Upgrade",    "Proxy-Authenticate", "Proxy-Authorization",
};

constexpr std::array<std::string_view, 6> transform_dropped_table{
    "Accept-Ranges", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest", "Content-Range",
};

// A Connection option names connection-specific fields (RFC 9110 §7.6.1); these never are, so
// naming them must not strip where the message goes or how it is framed.
constexpr std::array<std::string_view, 3> never_connection_specific{
    "Host", "Content-Length", "Transfer-Encoding"};

bool protected_from_connection(std::string_view name) noexcept {
  for (std::string_view p : never_connection_specific)
    if (boost::beast::iequals(p, name)) return true;
  return false;
}

template <class F>
void for_each_element(std::string_view value, F&& f) {
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto comma = value.find(',', start);
    const auto end = comma == std::string_view::npos ? value.size() : comma;
    const auto element = trim_ows(value.substr(start, end - start));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string http_date(std::time_t t) {
  static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                        "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> months{
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                days[static_cast<std::size_t>(tm.tm_wday)].data(), tm.tm_mday,
                months[static_cast<std::size_t>(tm.tm_mon)].data(), tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buf;
}

std::span<const std::string_view> hop_by_hop_headers() noexcept { return hop_by_hop_table; }

std::span<const std::string_view> dropped_on_transform_headers() noexcept {
  return transform_dropped_table;
}

void strip_hop_by_hop(http::fields& fields) {
  std::vector<std::string> named;
  for (auto it = fields.find(http::field::connection); it != fields.end() &&
                                                       it->name() == http::field::connection;
       ++it) {
    for_each_element(it->value(), [&](std::string_view e) {
      if (!protected_from_connection(e)) named.emplace_back(e);
    });
  }
  for (const std::string& name : named) fields.erase(name);
  for (std::string_view name : hop_by_hop_table) fields.erase(name);
}

std::string upgrade_protocols(const http::fields& req, unsigned version) {
  if (version < 11) return {};
  if (!list_contains(combined_value(req, http::field::connection), "upgrade")) return {};
  std::string out;
  for_each_element(combined_value(req, http::field::upgrade), [&](std::string_view e) {
    if (boost::beast::iequals(e, "h2c")) return;
    if (!out.empty()) out += ", ";
    out += e;
  });
  return out;
}

std::string combined_value(const http::fields& fields, std::string_view name) {
  std::string out;
  auto range = fields.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) {
    if (!out.empty()) out += ", ";
    out += it->value();
  }
  return out;
}

std::string combined_value(const http::fields& fields, http::field name) {
  return combined_value(fields, http::to_string(name));
}

bool list_contains(std::string_view value, std::string_view token) {
  bool found = false;
  for_each_element(value, [&](std::string_view e) {
    // Directives may carry arguments: no-cache="Set-Cookie".
    const auto eq = e.find('=');
    if (boost::beast::iequals(trim_ows(e.substr(0, eq)), token)) found = true;
  });
  return found;
}

framing_error check_request_framing(const http::fields& fields, unsigned version) {
  const bool has_te = fields.count(http::field::transfer_encoding) > 0;
  const bool has_cl = fields.count(http::field::content_length) > 0;
  if (has_te && has_cl) return framing_error::content_length_and_transfer_encoding;
  if (has_cl) {
    // Repeated fields and lists ("5, 5") are allowed only when every value is the same number.
    std::optional<std::uint64_t> first;
    bool bad = false, differ = false;
    auto range = fields.equal_range(http::field::content_length);
    for (auto it = range.first; it != range.second; ++it) {
      const std::string_view whole = trim_ows(it->value());
      if (whole.empty()) bad = true;
      for_each_element(whole, [&](std::string_view e) {
        const auto v = parse_decimal(e);
        if (!v) bad = true;
        else if (!first) first = v;
        else if (*first != *v) differ = true;
      });
    }
    if (bad) return framing_error::bad_content_length;
    if (differ) return framing_error::differing_content_length;
  }
  if (has_te) {
    if (version < 11) return framing_error::unsupported_transfer_encoding;
    const std::string te = combined_value(fields, http::field::transfer_encoding);
    if (!boost::beast::iequals(trim_ows(te), "chunked")) return framing_error::unsupported_transfer_encoding;
  }
  return framing_error::none;
}

}  // namespace bfast::filter
