// Finding \uD800-\uDFFF escapes without a partner. simdjson rejects such strings as invalid, but
// JSON.parse and json.loads accept them, so the transcoder must tell "not JSON" from "not
// representable".
#pragma once
#include <string>
#include <string_view>

namespace bfast::detail {

// Replaces every lone surrogate escape by "\u0020" (same length); returns how many it replaced.
std::size_t neutralize_lone_surrogates(std::string& text);

}  // namespace bfast::detail
