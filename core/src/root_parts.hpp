// A large root array transcoded in parts at once. Each part of the text (split_root_array) gets a
// parser, key table and body of its own; the parts' tables are then merged in part order, which
// lists the keys by first appearance with the fillers where one walk of the whole would put them;
// a part whose indices differ from the message's is remapped, and the bodies go behind the header.
#pragma once
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/transcoder.hpp"
#include "key_table.hpp"
#include "root_split.hpp"

namespace bfast::detail {

class root_parts {
 public:
  // Parts a text of `json_bytes` bytes is cut into at most; below 2 it is transcoded whole.
  [[nodiscard]] static std::size_t part_count(std::size_t json_bytes,
                                              const transcode_parallelism& parallelism) noexcept;

  // Writes the message for `json` to `out`, with `keys` as its table. False, with `keys` and `out`
  // cleared, when the text is not cut or any part fails: the caller then transcodes the whole
  // text, which answers exactly as it would have without this attempt.
  [[nodiscard]] bool transcode(std::string_view json, const transcode_parallelism& parallelism,
                               const transcode_options& options, key_table& keys, byte_buffer& out);

  // How many parts the last transcode() that returned true wrote.
  [[nodiscard]] std::size_t parts() const noexcept { return cuts_.size(); }

  [[nodiscard]] std::size_t scratch_bytes() const noexcept;
  void release() noexcept;

  // What transcode() holds for `json_bytes` bytes in `parts` parts, from fresh scratch; `keys`
  // and `out` not included.
  [[nodiscard]] static std::size_t memory_bound(std::size_t json_bytes, std::size_t parts) noexcept;

 private:
  struct part {
    simdjson::dom::parser parser;
    byte_buffer text;  // "[" the part "]" and the parser's padding
    byte_buffer body;
    key_table keys;
    std::vector<std::uint32_t> map;  // part index -> message index
    std::size_t count = 0;           // elements
    std::size_t at = 0;              // where the body goes in the message's body
    bool same_indices = false;       // map is the identity
  };

  [[nodiscard]] static bool transcode_part(part& p, std::string_view text,
                                           const transcode_options& options);
  [[nodiscard]] bool merge_keys(key_table& keys);
  void assemble(const key_table& keys, const transcode_parallelism& parallelism, byte_buffer& out);

  std::vector<text_part> cuts_;
  std::vector<part> parts_;
};

}  // namespace bfast::detail
