#include "key_remap.hpp"

#include "bfast/format.hpp"

namespace bfast::detail {
namespace {

// The body is the transcoder's own output, so its sizes need no checking; nesting is at most
// max_depth deep.
std::uint8_t* remap_value(std::uint8_t* p, const std::uint32_t* map) noexcept {
  const std::uint8_t t = *p++;
  switch (t) {
    case tag::object:
      while (*p != tag::object_end) {
        store_u32(p, map[load_u32(p)]);
        p = remap_value(p + 4, map);
      }
      return p + 1;
    case tag::array: {
      const std::uint32_t n = load_u32(p);
      p += 4;
      for (std::uint32_t i = 0; i < n; ++i) p = remap_value(p, map);
      return p;
    }
    case tag::int64:
    case tag::float64:
      return p + 8;
    case tag::float64_array:
      return p + 4 + std::size_t{load_u32(p)} * 8;
    case tag::string:
    case tag::bytes:
    case tag::datetime:
    case tag::date:
    case tag::time:
    case tag::uuid:
    case tag::decimal:
      return p + 4 + load_u32(p);
    default:  // null, booleans and small integers: the tag is the value
      return p;
  }
}

}  // namespace

void remap_key_indices(std::uint8_t* body, std::size_t size, const std::uint32_t* map) noexcept {
  std::uint8_t* const end = body + size;
  while (body < end) body = remap_value(body, map);
}

}  // namespace bfast::detail
