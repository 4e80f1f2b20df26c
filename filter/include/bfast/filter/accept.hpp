// Content negotiation (RFC 9110 sections 12.4.2, 12.5.1 and 12.5.3): which representation the
// client prefers, and which content codings it accepts.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bfast::filter {

inline constexpr std::string_view bfast_media_type = "application/x-bfast";
inline constexpr std::string_view json_media_type = "application/json";

// A qvalue in thousandths: 0..1000.
using qvalue = std::uint16_t;
inline constexpr qvalue q_max = 1000;

struct media_range {
  std::string type;     // lower case; "*" for a wildcard
  std::string subtype;  // lower case; "*" for a wildcard
  qvalue q = q_max;
  bool has_parameters = false;  // parameters other than q (they make a range more specific)
};

// Parses an Accept field value. Malformed elements are skipped, as if they were not there;
// an empty or entirely malformed value gives an empty list.
[[nodiscard]] std::vector<media_range> parse_accept(std::string_view value);

// The q the ranges give a concrete type: the most specific matching range decides, and a type
// no range matches gets 0.
[[nodiscard]] qvalue quality_of(const std::vector<media_range>& ranges, std::string_view type,
                                std::string_view subtype, bool allow_wildcards = true);

// B-FAST is chosen only when application/x-bfast itself is listed with q > 0 and is at least as
// preferred as application/json. Wildcards never select it.
[[nodiscard]] bool accept_prefers_bfast(std::string_view accept_value);

// What an Accept value admits: B-FAST only where application/x-bfast itself is listed with
// q > 0 (wildcards never select it), JSON where any range gives application/json q > 0. An
// absent Accept admits anything (RFC 9110 §12.5.1), so JSON.
struct accepted_types {
  bool bfast = false;
  bool json = false;
  bool bfast_preferred = false;  // accept_prefers_bfast
};
[[nodiscard]] accepted_types accepted_representations(std::string_view accept_value,
                                                      bool has_header);

// Whether the Accept value names application/x-bfast at all (with any q).
[[nodiscard]] bool accept_mentions_bfast(std::string_view accept_value);

// The Accept value without its application/x-bfast elements, for the upstream request.
[[nodiscard]] std::string accept_without_bfast(std::string_view accept_value);

struct coding_preference {
  std::string coding;  // lower case, "*" for the wildcard
  qvalue q = q_max;
};

[[nodiscard]] std::vector<coding_preference> parse_accept_encoding(std::string_view value);

// Whether `coding` (gzip, zstd, ...) may be sent to a client with this Accept-Encoding value.
// An absent header means any coding (RFC 9110 12.5.3), but a proxy that adds a coding to an
// exchange whose client said nothing would surprise it, so callers pass has_header.
[[nodiscard]] bool coding_acceptable(std::string_view accept_encoding, bool has_header,
                                     std::string_view coding);

}  // namespace bfast::filter
