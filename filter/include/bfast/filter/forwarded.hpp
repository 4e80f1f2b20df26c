// The client behind trusted proxies, as nginx's realip module finds it with real_ip_recursive:
// from the right of X-Forwarded-For, trusted addresses are skipped and the first untrusted one
// is the client. Only the peer's own word counts when the peer is not trusted.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {

// Past this many elements the walk stops: a forged list cannot make it long.
inline constexpr std::size_t max_forwarded_hops = 32;

// An IPv4 or IPv6 address in text form, nothing else (no port, no brackets).
[[nodiscard]] bool is_ip_address(std::string_view s) noexcept;

// The address of one X-Forwarded-For element: `a.b.c.d`, `a.b.c.d:port`, a bare IPv6 address or
// `[v6]` with an optional `:port` (as nginx's realip reads them; some load balancers add the
// port). Empty when the element is none of these.
[[nodiscard]] std::string_view forwarded_element_address(std::string_view element) noexcept;

// `trusted(address)` says whether an address is a trusted proxy. Returns the peer when it is
// not trusted; otherwise the rightmost X-Forwarded-For address that is not trusted, or the
// leftmost one when all are. A malformed element stops the walk at the address before it.
template <class IsTrusted>
[[nodiscard]] std::string real_client_address(std::string_view xff, std::string_view peer,
                                              IsTrusted&& trusted) {
  std::string_view found = peer;
  if (!trusted(peer)) return std::string(found);
  std::size_t end = xff.size();
  for (std::size_t hops = 0; hops < max_forwarded_hops && end > 0; ++hops) {
    const std::size_t comma = xff.rfind(',', end - 1);
    const std::size_t start = comma == std::string_view::npos ? 0 : comma + 1;
    const std::string_view element = forwarded_element_address(trim_ows(xff.substr(start, end - start)));
    if (element.empty()) break;
    found = element;
    if (!trusted(element) || comma == std::string_view::npos) break;
    end = comma;
  }
  return std::string(found);
}

}  // namespace bfast::filter
