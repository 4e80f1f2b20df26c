// Why bytes given to `bfast decode` are not B-FAST, for the mistakes people make most: the
// proxy's JSON pass-through, a body still under gzip or zstd, and a cut-off LZ4 message.
#pragma once
#include <cstdint>
#include <span>
#include <string>

namespace bfast::cli {

// An explanation of what `data` is instead, or an empty string when it is none of those.
[[nodiscard]] std::string explain_not_bfast(std::span<const std::uint8_t> data);

}  // namespace bfast::cli
