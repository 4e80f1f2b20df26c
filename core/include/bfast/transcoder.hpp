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

// Told about consecutive, final slices of a message while the transcoder is still writing it.
class slice_sink {
 public:
  // Bytes [begin, end) of the output buffer will not change any more.
  virtual void on_slice(std::size_t begin, std::size_t end) = 0;

 protected:
  ~slice_sink() = default;
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

  // Keys-first mode, for compressing while transcoding: a first pass collects the key table, then
  // the header, the table and the root value are written straight into `out`, and
  // sink.on_slice(k * slice_bytes, (k + 1) * slice_bytes) is called as soon as each full slice is
  // final. `out`'s storage is reserved up front (message_bound) and does not move until the call
  // returns. The bytes are the same as transcode() writes. Documents the fast path refuses are
  // transcoded without calling the sink. On failure `out` is empty.
  transcode_result transcode_sliced(std::string_view json, byte_buffer& out,
                                    std::size_t slice_bytes, slice_sink& sink,
                                    bool padding_available = false);

  // No message transcoded from `json_bytes` bytes of JSON is larger than this.
  [[nodiscard]] static std::size_t message_bound(std::size_t json_bytes) noexcept;

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
