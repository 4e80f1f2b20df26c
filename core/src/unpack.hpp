// Turns a message as sent (uncompressed, or LZ4 in either layout) into its uncompressed bytes,
// checking every declared size against the configured limit before allocating.
#pragma once
#include <span>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/decoder.hpp"

namespace bfast::detail {

struct unpacked {
  byte_buffer bytes;
  message_layout layout = message_layout::uncompressed;
  std::size_t chunks = 0;
  std::vector<lz4_chunk_info> chunk_list;  // filled for the parallel layout
};

// Detects the layout as the deployed decoders do: 'BF' is uncompressed; otherwise a single block
// whose output size must equal its prefix; otherwise parallel chunks.
decode_result unpack(std::span<const std::uint8_t> message, const decode_options& options,
                     unpacked& scratch, std::span<const std::uint8_t>& plain);

}  // namespace bfast::detail
