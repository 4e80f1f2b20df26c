// What simdjson 3 allocates for a parser of `capacity` bytes (document::allocate and
// set_capacity / set_max_depth): tape, string buffer, structural indexes, depth stacks.
#pragma once
#include <simdjson.h>

#include <algorithm>
#include <cstddef>

namespace bfast::detail {

constexpr std::size_t round64(std::size_t n) noexcept { return (n + 63) / 64 * 64; }

constexpr std::size_t dom_parser_bytes(std::size_t capacity, std::size_t depth) noexcept {
  const std::size_t c = std::max<std::size_t>(capacity, 32);
  return 8 * round64(c + 3) + round64(5 * c / 3 + simdjson::SIMDJSON_PADDING) +
         4 * (round64(c) + 9) + 16 * depth + 4096;
}

constexpr std::size_t ondemand_parser_bytes(std::size_t capacity, std::size_t depth) noexcept {
  const std::size_t c = std::max<std::size_t>(capacity, 32);
  return round64(5 * c / 3 + simdjson::SIMDJSON_PADDING) + 4 * (round64(c) + 9) + 24 * depth + 4096;
}

}  // namespace bfast::detail
