#include "bfast/filter/client_decoder.hpp"

#include <array>
#include <charconv>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

// The config's bounds for client speeds (1 kB/s .. 1 TB/s), in MB/s.
constexpr double min_mb_per_s = 1e-3;
constexpr double max_mb_per_s = 1e6;

struct speed_parameter {
  std::string_view name;
  double client_speeds::*member;
};

constexpr std::array<speed_parameter, 5> parameters{{
    {"bfast", &client_speeds::decode_bytes_per_s},
    {"json", &client_speeds::json_bytes_per_s},
    {"lz4", &client_speeds::lz4_bytes_per_s},
    {"gzip", &client_speeds::gzip_bytes_per_s},
    {"zstd", &client_speeds::zstd_bytes_per_s},
}};

// Splits off the text up to `sep` (or the end) and returns it trimmed.
std::string_view next_part(std::string_view& rest, char sep) {
  const auto at = rest.find(sep);
  const std::string_view part = rest.substr(0, at);
  rest = at == std::string_view::npos ? std::string_view{} : rest.substr(at + 1);
  return trim_ows(part);
}

}  // namespace

client_speeds client_speeds_of(std::string_view header_value, const client_speeds& route_speeds) {
  client_speeds s = route_speeds;
  std::string_view rest = header_value;
  if (const auto profile = parse_client_decoder(next_part(rest, ';'))) s = speeds_of(*profile);
  while (!rest.empty()) {
    std::string_view value = next_part(rest, ';');
    const std::string_view name = next_part(value, '=');
    double mb_per_s = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mb_per_s);
    if (ec != std::errc() || end != value.data() + value.size() || !(mb_per_s >= min_mb_per_s) ||
        !(mb_per_s <= max_mb_per_s))
      continue;
    for (const speed_parameter& p : parameters)
      if (p.name == name) s.*p.member = mb_per_s * 1e6;
  }
  return s;
}

}  // namespace bfast::filter
