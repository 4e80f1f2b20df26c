// A copy of a document that simdjson's DOM parser can validate when it refused the original for
// reasons JSON parsers do not share: numbers beyond 64 bits or the double range, and lone
// surrogate escapes (valid JSON to JSON.parse and json.loads, with no exact UTF-8 form).
#pragma once
#include <cstddef>
#include <string>

namespace bfast::detail {

struct neutralized {
  std::size_t lone_surrogates = 0;
  std::size_t numbers = 0;
};

// In place and length-preserving: every lone surrogate escape becomes "\u0020", and every token
// outside strings that follows JSON's number grammar becomes "0" padded with spaces.
// Anything that was not JSON stays not JSON.
neutralized neutralize_for_validation(std::string& text);

}  // namespace bfast::detail
