#include "root_split.hpp"

#include <algorithm>
#include <cstring>

namespace bfast::detail {
namespace {

// JSON's whitespace, exactly: anything else between the parts would make the whole text invalid.
bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A cut is looked for this far past its target at most, so a text without one costs little.
constexpr std::size_t max_scan_bytes = std::size_t{1} << 20;

std::size_t skip_space(std::string_view t, std::size_t i, std::size_t end) noexcept {
  while (i < end && is_space(t[i])) ++i;
  return i;
}

// The first key of the object at `open` with its quotes ("key"), or empty when it has none or the
// key holds an escape.
std::string_view first_key(std::string_view t, std::size_t open, std::size_t end) noexcept {
  const std::size_t q = skip_space(t, open + 1, end);
  if (q >= end || t[q] != '"') return {};
  for (std::size_t i = q + 1; i < end; ++i) {
    if (t[i] == '\\') return {};
    if (t[i] == '"') return t.substr(q, i + 1 - q);
  }
  return {};
}

// If the "}" at `close` is followed by "," and an object's "{" that starts like the root's first
// element (with `key`, or with any key or "}" when that has none), returns the position of that
// "{"; otherwise 0. Elements of one array mostly start with the same key, while objects nested
// in them mostly do not: a cut at the wrong depth costs the whole attempt.
std::size_t next_object_after(std::string_view t, std::size_t close, std::size_t end,
                              std::string_view key) noexcept {
  std::size_t i = skip_space(t, close + 1, end);
  if (i >= end || t[i] != ',') return 0;
  i = skip_space(t, i + 1, end);
  if (i >= end || t[i] != '{') return 0;
  const std::size_t open = i;
  i = skip_space(t, i + 1, end);
  if (!key.empty()) return t.substr(i, key.size()) == key ? open : 0;
  if (i >= end || (t[i] != '"' && t[i] != '}')) return 0;
  return open;
}

}  // namespace

bool split_root_array(std::string_view text, std::size_t count, std::vector<text_part>& parts) {
  parts.clear();
  const std::size_t first = skip_space(text, 0, text.size());
  std::size_t last = text.size();
  while (last > first && is_space(text[last - 1])) --last;
  if (count < 2 || last - first < 2 || text[first] != '[' || text[last - 1] != ']') return false;
  const std::size_t begin = first + 1;  // the elements lie in [begin, end)
  const std::size_t end = last - 1;
  const std::size_t span = end - begin;
  const std::size_t element = skip_space(text, begin, end);
  const std::string_view key =
      element < end && text[element] == '{' ? first_key(text, element, end) : std::string_view{};

  std::size_t part_begin = begin;
  for (std::size_t j = 1; j < count; ++j) {
    const std::size_t target = begin + span / count * j + span % count * j / count;
    const std::size_t next_target = begin + span / count * (j + 1) + span % count * (j + 1) / count;
    std::size_t from = std::max(target, part_begin);
    const std::size_t limit = std::min({next_target, end, from + max_scan_bytes});
    while (from < limit) {
      const void* hit = std::memchr(text.data() + from, '}', limit - from);
      if (hit == nullptr) break;
      const std::size_t close = static_cast<std::size_t>(static_cast<const char*>(hit) - text.data());
      if (const std::size_t open = next_object_after(text, close, end, key); open != 0) {
        parts.push_back({part_begin, close + 1});
        part_begin = open;
        break;
      }
      from = close + 1;
    }
  }
  if (parts.empty()) return false;
  parts.push_back({part_begin, end});
  return true;
}

}  // namespace bfast::detail
