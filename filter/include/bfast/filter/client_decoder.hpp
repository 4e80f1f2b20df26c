// The request header in which a client names the decoder it will read the body with, so that
// the representation it gets is the one it holds as a value soonest:
//
//   BFast-Decoder: <profile> [; bfast=<MB/s>] [; json=<MB/s>] [; lz4=<MB/s>] [; gzip=<MB/s>]
//                            [; zstd=<MB/s>]
//
// <profile> is ts (the deployed TypeScript decoder), python (the deployed Python decoder) or
// native; each parameter overrides one of the profile's speeds, in MB/s (10^6 bytes per second):
// bfast = B-FAST message bytes decoded, json = JSON text parsed, lz4 / gzip / zstd =
// uncompressed bytes out of the client's decompressor. An unknown profile, a malformed or
// implausible parameter is ignored (the route's speeds stand), as an unknown Accept element is.
#pragma once
#include <string_view>

#include "bfast/policy.hpp"

namespace bfast::filter {

inline constexpr std::string_view client_decoder_header = "BFast-Decoder";

// The speeds to plan for: the route's, then the header's profile, then its parameters.
[[nodiscard]] client_speeds client_speeds_of(std::string_view header_value,
                                             const client_speeds& route_speeds);

}  // namespace bfast::filter
