// B-FAST bytes -> JSON text, plus a validating reader and a layout report (`bfast inspect`).
// Every length is checked against the bytes that remain before anything is allocated or read,
// and depth is capped, so hostile input is an error, never a crash or an outsized allocation.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bfast/format.hpp"
#include "bfast/status.hpp"

namespace bfast {

struct decode_options {
  int max_depth = bfast::max_depth;  // what the Python decoder accepts; root is depth 1
  bool pretty = false;               // two-space indentation
  // Limit on the uncompressed size a compressed message may declare (decompression bombs).
  std::size_t max_message_bytes = std::size_t{1} << 30;
};

// Writes the JSON text of `message` into `out` (replacing its contents). Bytes (0x80) become a
// base64 string, UUIDs a hyphenated string, date/time tags their ISO text as a string, decimals
// (0xD5) their digits as a JSON number. Numbers print in shortest round-trip form; a float that
// is integral keeps a ".0" so it re-parses as a float; infinities print as 1e999 / -1e999.
decode_result decode_to_json(std::span<const std::uint8_t> message, std::string& out,
                             const decode_options& options = {});

// Checks that `message` is one well-formed B-FAST value as the deployed decoders read it.
decode_result validate_message(std::span<const std::uint8_t> message,
                               const decode_options& options = {});

enum class message_layout : std::uint8_t { uncompressed, lz4_single, lz4_parallel };

struct lz4_chunk_info {
  std::size_t wire_bytes = 0;     // L: the chunk's size prefix and block
  std::size_t message_bytes = 0;  // the slice of the message it holds
};

struct message_info {
  message_layout layout = message_layout::uncompressed;
  std::size_t wire_bytes = 0;        // as given
  std::size_t message_bytes = 0;     // uncompressed message
  std::size_t chunks = 0;            // parallel layout only
  std::vector<lz4_chunk_info> chunk_list;  // parallel layout only, in order
  std::size_t table_entries = 0;
  std::size_t table_fillers = 0;     // empty entries at indices whose low byte is 0x7F
  std::size_t table_bytes = 0;       // header + table
  std::size_t root_bytes = 0;        // the root value
  std::size_t trailing_bytes = 0;    // ignored by decoders
  std::uint8_t root_tag = 0;
  int max_depth = 0;
  std::size_t values = 0;
  std::array<std::size_t, 256> tag_counts{};  // by tag byte; 0x30..0x3F counted per byte
};

decode_result inspect_message(std::span<const std::uint8_t> message, message_info& info,
                              const decode_options& options = {});

[[nodiscard]] std::string_view tag_name(std::uint8_t tag) noexcept;

}  // namespace bfast
