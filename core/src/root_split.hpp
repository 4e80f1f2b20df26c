// Where the text of a root array may be cut into parts that each hold a run of its elements: only
// between two objects, at "}" "," "{" (whitespace around the comma), where the "{" is followed by
// the first key of the array's first element (or by any key or "}" when that has none). A cut
// that lands inside a string or a nested value leaves some part that is not a list of JSON
// values, so it fails to parse and the caller transcodes the whole text instead.
#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

namespace bfast::detail {

struct text_part {
  std::size_t begin = 0;  // offsets into the text: [begin, end)
  std::size_t end = 0;
};

// Cuts the elements of the root array of `text` (between its outer brackets) into at most `count`
// parts of roughly equal length. False, and `parts` empty, when the root is not an array or no cut
// was found near any of the targets.
[[nodiscard]] bool split_root_array(std::string_view text, std::size_t count,
                                    std::vector<text_part>& parts);

}  // namespace bfast::detail
