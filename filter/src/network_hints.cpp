#include "bfast/filter/network_hints.hpp"

#include <boost/beast/core/string.hpp>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

// A non-negative decimal in thousandths; nullopt if malformed or absurdly large.
std::optional<std::uint64_t> parse_milli(std::string_view s) {
  s = trim_ows(s);
  if (s.empty()) return std::nullopt;
  std::uint64_t whole = 0, frac = 0;
  std::size_t i = 0, frac_digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (whole > 10'000'000) return std::nullopt;
  }
  if (i == 0) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
      if (frac_digits < 3) {
        frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
        ++frac_digits;
      }
  }
  if (i != s.size()) return std::nullopt;
  for (; frac_digits < 3; ++frac_digits) frac *= 10;
  return whole * 1000 + frac;
}

}  // namespace

std::optional<std::uint32_t> parse_rtt_ms(std::string_view value) {
  value = trim_ows(value);
  if (value.ends_with("ms")) value.remove_suffix(2);
  const auto milli = parse_milli(value);
  if (!milli) return std::nullopt;
  return static_cast<std::uint32_t>((*milli + 500) / 1000);
}

client_network read_client_hints(const http::fields& fields) {
  client_network n;
  if (auto it = fields.find("RTT"); it != fields.end()) {
    if (const auto ms = parse_milli(it->value())) {
      n.rtt_ms = static_cast<std::uint32_t>(*ms / 1000);
      n.rtt_from = rtt_source::client_hint;
    }
  }
  if (auto it = fields.find("Downlink"); it != fields.end()) {
    // Mbps with a fraction; thousandths of Mbps are kbps.
    if (const auto milli = parse_milli(it->value())) n.downlink_kbps = *milli;
  }
  if (auto it = fields.find("ECT"); it != fields.end()) {
    const std::string_view ect = trim_ows(it->value());
    // The RTT values the Network Information API associates with each effective type.
    if (boost::beast::iequals(ect, "slow-2g")) n.ect_rtt_ms = 2000;
    else if (boost::beast::iequals(ect, "2g")) n.ect_rtt_ms = 1400;
    else if (boost::beast::iequals(ect, "3g")) n.ect_rtt_ms = 270;
  }
  if (auto it = fields.find("Save-Data"); it != fields.end())
    n.save_data = boost::beast::iequals(trim_ows(it->value()), "on");
  return n;
}

client_network with_socket_measure(client_network n, const socket_measure& socket) {
  n.window_bytes = socket.window_bytes;
  if (socket.rtt_ms && (!n.rtt_ms || *socket.rtt_ms > *n.rtt_ms)) {
    n.rtt_ms = socket.rtt_ms;
    n.rtt_from = rtt_source::tcp_info;
  }
  if (socket.delivery_kbps && *socket.delivery_kbps > 0) {
    if (!n.downlink_kbps) n.downlink_kbps = socket.delivery_kbps;
    else if (*n.downlink_kbps == downlink_hint_cap_kbps && *socket.delivery_kbps > *n.downlink_kbps)
      n.downlink_kbps = socket.delivery_kbps;
  }
  return n;
}

client_network network_of(const http::fields& request, const ingress_rule& ingress,
                          const std::optional<socket_measure>& socket) {
  client_network net = read_client_hints(request);
  if (ingress.peer_trusted) {
    // Behind an ingress the socket measures the ingress, so only its header counts.
    if (!ingress.rtt_header.empty()) {
      if (auto it = request.find(ingress.rtt_header); it != request.end()) {
        if (const auto ms = parse_rtt_ms(it->value())) {
          net.rtt_ms = *ms;
          net.rtt_from = rtt_source::ingress_header;
        }
      }
    }
    return net;
  }
  return socket ? with_socket_measure(net, *socket) : net;
}

}  // namespace bfast::filter
