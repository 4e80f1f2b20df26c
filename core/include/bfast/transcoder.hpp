// JSON text -> B-FAST bytes (uncompressed). One transcoder per thread: it owns the simdjson parser
// and its scratch buffers, which stay allocated (and their pages warm) between calls.
#pragma once
#include <cstddef>
#include <memory>
#include <string_view>

#include "bfast/byte_buffer.hpp"
#include "bfast/status.hpp"

namespace bfast {

struct transcode_options {
  // Arrays of at least this many numbers, all written with a fraction or exponent, become one
  // 0x90 run. Off by default: see README ("Packed float arrays").
  bool pack_float_arrays = false;
  std::size_t pack_float_min = 8;
};

// Facts about the message, for headers, logs and the compression policy.
struct transcode_stats {
  std::size_t json_bytes = 0;
  std::size_t bfast_bytes = 0;
  std::size_t table_entries = 0;  // fillers included
  std::size_t table_bytes = 0;    // header + table, i.e. where the root value starts
};

class transcoder {
 public:
  explicit transcoder(transcode_options options = {});
  ~transcoder();
  transcoder(const transcoder&) = delete;
  transcoder& operator=(const transcoder&) = delete;
  transcoder(transcoder&&) noexcept;
  transcoder& operator=(transcoder&&) noexcept;

  // Replaces the contents of `out` with the B-FAST message for `json`. On failure `out` is left
  // empty and the result says why. `json` may be any buffer; it is copied into a reused padded
  // scratch buffer unless `padding_available` says at least 64 readable bytes follow it.
  transcode_result transcode(std::string_view json, byte_buffer& out,
                             bool padding_available = false);

  [[nodiscard]] const transcode_stats& last_stats() const noexcept;
  [[nodiscard]] const transcode_options& options() const noexcept;
  void set_options(const transcode_options& options) noexcept;

  // Bytes of readable padding the parser needs after the input to skip the copy.
  static constexpr std::size_t required_padding = 64;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bfast
