// Which representation a response goes out as, when the client accepts JSON as well as B-FAST:
// proactive negotiation (RFC 9110 §12.1) by the client's time to a decoded value. A pure function,
// like the compression policy it builds on (policy.hpp).
//
// The candidates are B-FAST (the best variant choose_compression finds: raw, LZ4, gzip, zstd)
// and JSON as the upstream sent it, or under gzip or zstd when Accept-Encoding admits them. The
// model is the policy's, with the JSON text in place of the message:
//   json(c)  = server(c) + transfer(json * ratio_json(c)) + json / client_json + json / inflate(c)
//   bfast    = transcode + the best B-FAST estimate (transcode: json / transcode speed, until the
//              body has been transcoded; afterwards it is spent and counts no more)
// Before the body is transcoded its message size is taken as json * the smaller of message_ratio
// and config.message_ratio_before_transcode (an optimistic guess, so that JSON skips the transcode
// only where it wins anyway); after, the real size decides. Save-Data compares wire bytes
// instead of time.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "bfast/policy.hpp"

namespace bfast {

enum class representation : std::uint8_t { json, bfast };

[[nodiscard]] constexpr std::string_view representation_name(representation r) noexcept {
  return r == representation::json ? "json" : "bfast";
}

// A route's rule when both are acceptable: the least time (the default), or B-FAST unless it
// would be larger and no faster than JSON.
enum class negotiation : std::uint8_t { fastest, prefer_bfast };

inline constexpr std::array<std::string_view, 2> negotiation_names = {"fastest", "prefer_bfast"};

[[nodiscard]] constexpr std::optional<negotiation> parse_negotiation(std::string_view s) noexcept {
  for (std::size_t i = 0; i < negotiation_names.size(); ++i)
    if (negotiation_names[i] == s) return static_cast<negotiation>(i);
  return std::nullopt;
}

struct representation_input {
  policy_input link;              // network, load, route mode and codings; payload_bytes unused
  std::size_t json_bytes = 0;
  std::optional<std::size_t> message_bytes;  // set once transcoded: its time is then spent
  bool accept_json = false;
  bool accept_bfast = false;
  negotiation rule = negotiation::fastest;
};

struct representation_decision {
  representation chosen = representation::json;
  compression_decision bfast;             // the best B-FAST variant, when B-FAST was a candidate
  compression_choice json_coding = compression_choice::none;  // none, gzip or zstd
  int json_level = 0;
  policy_estimate json;                   // the best JSON candidate's estimate
  double bfast_total_s = 0;               // including the transcode while it is still ahead
  std::string_view reason;                // snake_case token, static storage
};

[[nodiscard]] representation_decision choose_representation(const representation_input& in,
                                                             const server_speeds& speeds,
                                                             const policy_config& config) noexcept;

}  // namespace bfast
