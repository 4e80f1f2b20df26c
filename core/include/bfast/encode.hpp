// The coding step of every transform: asks the policy what a B-FAST message should be sent as and
// applies it. The proxy's transform and the command line both call encode(); nothing else picks
// or applies a coding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "bfast/byte_buffer.hpp"
#include "bfast/coding.hpp"
#include "bfast/compress.hpp"
#include "bfast/policy.hpp"
#include "bfast/transcoder.hpp"
#include "bfast/transport.hpp"

namespace bfast {

class compress_arena;
struct encoded;

// The codecs' per-thread state, kept between calls so their pages stay warm.
class encode_scratch {
 public:
  // With no arena LZ4 compresses on the calling thread.
  explicit encode_scratch(compress_arena* arena = nullptr) : lz4_(arena) {}

  // Frees the chunk buffers when they hold more than `keep_bytes`.
  void shrink(std::size_t keep_bytes) noexcept { lz4_.shrink_scratch(keep_bytes); }
  [[nodiscard]] std::size_t bytes() const noexcept { return lz4_.scratch_bytes(); }

 private:
  friend encoded encode_as(byte_buffer message, const compression_decision& decision,
                           const policy_config& config, encode_scratch& scratch,
                           bool apply_content_encoding);
  friend bool encode_text(std::span<const std::uint8_t> text, compression_choice coding, int level,
                          encode_scratch& scratch, byte_buffer& out);
  lz4_compressor lz4_;
  transport_encoder transport_;
};

struct encoded {
  byte_buffer body;                          // the bytes to send
  compression_choice coding = compression_choice::none;  // what was applied
  std::string_view compress_token = "none";  // BFast-Status compress=: choice_name(coding)
  std::string_view content_encoding;         // empty, gzip or zstd
  std::string_view policy_reason = "none";
  std::size_t message_bytes = 0;             // the uncompressed message
  compression_decision decision;             // what the policy chose, with its estimates
  compress_result lz4;                       // when LZ4 was tried: its outcome
};

// Takes the uncompressed `message` (ownership moves in: when nothing applies it becomes the body)
// and returns the body with what was applied. `in.payload_bytes` is set from the message. A codec
// that fails leaves the message uncompressed. `apply_content_encoding` false: a gzip or zstd
// choice is reported in `decision` but the message is sent as it is.
[[nodiscard]] encoded encode(byte_buffer message, const policy_input& in,
                             const server_speeds& speeds, const policy_config& config,
                             encode_scratch& scratch, bool apply_content_encoding = true);

// The same with the policy's decision already made (choose_representation made it).
[[nodiscard]] encoded encode_as(byte_buffer message, const compression_decision& decision,
                                const policy_config& config, encode_scratch& scratch,
                                bool apply_content_encoding = true);

// JSON text under gzip or zstd (`coding`) at `level`, into `out`: for clients that take JSON.
// False (and `out` empty) when the codec fails or `coding` is not a transport coding.
[[nodiscard]] bool encode_text(std::span<const std::uint8_t> text, compression_choice coding,
                               int level, encode_scratch& scratch, byte_buffer& out);

// No encode() of a message of `message_bytes` allocates more than this beyond the message itself
// (the compressed copy, LZ4 chunk buffers, the codecs' state).
[[nodiscard]] std::size_t encode_memory_bound(std::size_t message_bytes,
                                              const policy_config& config,
                                              const server_speeds& speeds) noexcept;

// Every byte one transform of `json_bytes` bytes of JSON allocates: the transcoder's parsers and
// copies (transcoder::memory_bound), the message, and encode_memory_bound. The JSON's own buffer
// is not included. `json_padded`: the JSON comes as a padded_view, so it is not copied.
// `parallelism`: the most the transcoder is set to (a large root array in parts).
[[nodiscard]] std::uint64_t transform_memory_bound(std::size_t json_bytes,
                                                   const policy_config& config,
                                                   const server_speeds& speeds,
                                                   bool json_padded = true,
                                                   const transcode_parallelism& parallelism = {}) noexcept;

}  // namespace bfast
