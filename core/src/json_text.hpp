// Small pieces of JSON output shared by the decoder: escaped strings and round-trip numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bfast::detail {

void append_json_string(std::string& out, std::string_view utf8);
// The bytes append_json_string writes for `utf8`, quotes included.
[[nodiscard]] std::size_t json_string_bytes(std::string_view utf8) noexcept;
void append_json_int(std::string& out, std::int64_t v);
// Shortest text that parses back to the same double, and back to a float (never "1" for 1.0).
void append_json_double(std::string& out, double d);
// True when `t` follows JSON's number grammar; is_integer when it has no fraction or exponent.
[[nodiscard]] bool json_number_syntax(std::string_view t, bool& is_integer) noexcept;
[[nodiscard]] bool is_json_number(std::string_view t) noexcept;
// True when valid JSON `text` holds the integer token "-0" (outside strings, not a float's
// spelling): the DOM reads it as the integer 0, so its walk cannot tell.
[[nodiscard]] bool holds_negative_zero(std::string_view text) noexcept;

}  // namespace bfast::detail
