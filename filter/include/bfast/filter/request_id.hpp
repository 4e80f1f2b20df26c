// The exchange's request id (X-Request-Id, as Envoy and nginx's $request_id): a client's own is
// kept when it is sane, otherwise the proxy makes one; it goes upstream, back to the client and
// into the access log.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bfast::filter {

inline constexpr std::string_view request_id_header = "X-Request-Id";
// A longer id, or one with other bytes than visible ASCII, is replaced: it would bloat or break
// every log line and header it is copied into.
inline constexpr std::size_t max_request_id_bytes = 200;

// 1..max_request_id_bytes bytes, each visible ASCII (0x21..0x7e).
[[nodiscard]] bool acceptable_request_id(std::string_view id) noexcept;

// UUIDv4 text from xoshiro256**: one generator per thread, seeded once, so making an id costs a
// few shifts instead of a read from the kernel's entropy pool.
class request_id_generator {
 public:
  explicit request_id_generator(std::uint64_t seed) noexcept;
  [[nodiscard]] std::string next();

 private:
  std::uint64_t next_word() noexcept;

  std::array<std::uint64_t, 4> s_{};
};

}  // namespace bfast::filter
