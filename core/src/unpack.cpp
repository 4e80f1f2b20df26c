#include "unpack.hpp"

#include "bfast/format.hpp"

namespace bfast::detail {

decode_result unpack(std::span<const std::uint8_t> message, const decode_options& options,
                     unpacked& scratch, std::span<const std::uint8_t>& plain) {
  (void)options;
  scratch.layout = message_layout::uncompressed;
  scratch.chunks = 0;
  if (message.size() >= 2 && message[0] == magic_0 && message[1] == magic_1) {
    plain = message;
    return {};
  }
  return {decode_error::bad_magic, 0};
}

}  // namespace bfast::detail
