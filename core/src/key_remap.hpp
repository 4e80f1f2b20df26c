// Rewrites the key indices of values the transcoder wrote, in place: a part transcoded with a key
// table of its own gets the message table's indices (a key index is always four bytes).
#pragma once
#include <cstddef>
#include <cstdint>

namespace bfast::detail {

// `body` holds values back to back, as the walkers write them; every key index i becomes map[i].
void remap_key_indices(std::uint8_t* body, std::size_t size, const std::uint32_t* map) noexcept;

}  // namespace bfast::detail
