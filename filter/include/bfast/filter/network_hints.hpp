// What the request says about the client's network: Client Hints (RFC 8942 and the Network
// Information hints) and a trusted ingress's RTT header. The socket's TCP_INFO is read by the
// server, which owns the socket; this is the part that needs only headers.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/beast/http/fields.hpp>

namespace bfast::filter {

namespace http = boost::beast::http;

enum class rtt_source : std::uint8_t { none, tcp_info, ingress_header, client_hint };

struct client_network {
  std::optional<std::uint32_t> rtt_ms;
  rtt_source rtt_from = rtt_source::none;
  std::optional<std::uint64_t> downlink_kbps;  // from Downlink (Mbps) or TCP_INFO delivery rate
  std::optional<std::uint32_t> ect_rtt_ms;     // the RTT ECT implies: slow-2g 2000, 2g 1400, ...
  std::optional<std::uint64_t> window_bytes;   // the socket's congestion window (TCP_INFO only)
  bool save_data = false;
};

// RTT (ms), Downlink (Mbps, decimal), ECT and Save-Data ("on").
[[nodiscard]] client_network read_client_hints(const http::fields& fields);

// The ingress RTT header's value: milliseconds as a decimal number ("12", "12.5", "12ms").
[[nodiscard]] std::optional<std::uint32_t> parse_rtt_ms(std::string_view value);

// Browsers report Downlink capped at 10 Mbps: that value means "10 Mbps or more".
inline constexpr std::uint64_t downlink_hint_cap_kbps = 10'000;

// What the client's socket measured (TCP_INFO): the hop to this proxy, which may be only part of
// the client's path (a relay, a CDN or an ingress in between).
struct socket_measure {
  std::optional<std::uint32_t> rtt_ms;
  std::optional<std::uint64_t> delivery_kbps;
  std::optional<std::uint64_t> window_bytes;  // congestion window; none when it will restart
};

// The link the policy should assume, from the headers' view and the socket's:
// - RTT: the larger. A hint covers the client's whole path, the socket only its last hop, so the
//   socket can raise the estimate (a stale or absent hint) but never lower it.
// - Downlink: the hint when there is one, except the capped 10 Mbps, which the socket's delivery
//   rate may raise; the delivery rate alone when there is no hint.
// - The congestion window: the socket's; headers know nothing of it.
[[nodiscard]] client_network with_socket_measure(client_network from_headers,
                                                 const socket_measure& socket);

struct ingress_rule {
  bool peer_trusted = false;    // the peer is one of trusted_proxies
  std::string_view rtt_header;  // the header such a peer sets to the client's RTT; empty: none
};

// The network the policy should assume for this request. A trusted ingress's RTT header is
// believed, and its socket is not (it measures the ingress); from anyone else, the socket's
// measure (when given) joins the Client Hints. `socket` is needed only when the peer is not
// trusted, so a caller may skip reading TCP_INFO then.
[[nodiscard]] client_network network_of(const http::fields& request, const ingress_rule& ingress,
                                        const std::optional<socket_measure>& socket);

}  // namespace bfast::filter
