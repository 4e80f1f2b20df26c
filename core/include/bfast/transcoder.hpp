// JSON text -> B-FAST bytes (uncompressed). One transcoder per thread: it owns the simdjson parser
// and its scratch buffers, which stay allocated (and their pages warm) between calls.
#pragma once
#include <cstddef>
#include <memory>
#include <string_view>

#include "bfast/byte_buffer.hpp"
#include "bfast/padded_view.hpp"
#include "bfast/status.hpp"

namespace bfast {

class compress_arena;

struct transcode_options {
  // Arrays of at least this many numbers, all written with a fraction or exponent, become one
  // 0x90 run. Off by default: see README ("Packed float arrays").
  bool pack_float_arrays = false;
  std::size_t pack_float_min = 8;
};

// A large text whose root is an array of objects may be cut between elements into parts that are
// transcoded at once on the arena's threads; the message is byte for byte the one-thread one.
struct transcode_parallelism {
  compress_arena* arena = nullptr;  // none: the parts run one after another on the caller
  int threads = 1;                  // parts at once, the caller included
  std::size_t min_bytes = std::size_t{1} << 20;  // shorter texts are never cut
  std::size_t part_bytes = 0;       // text per part; 0: one part per thread (1 thread: no cut)
};

// Facts about the message, for headers, logs and the compression policy.
struct transcode_stats {
  std::size_t json_bytes = 0;
  std::size_t bfast_bytes = 0;
  std::size_t table_entries = 0;  // fillers included
  std::size_t table_bytes = 0;    // header + table, i.e. where the root value starts
  std::size_t parts = 1;          // the text was transcoded in this many parts at once
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
  // empty and the result says why. The text is parsed where it lies.
  transcode_result transcode(padded_view json, byte_buffer& out);

  // As above for text without the padding: it is first copied into a reused padded buffer.
  transcode_result transcode(std::string_view json, byte_buffer& out);

  // No message transcoded from `json_bytes` bytes of JSON is larger than this.
  [[nodiscard]] static std::size_t message_bound(std::size_t json_bytes) noexcept;

  [[nodiscard]] const transcode_stats& last_stats() const noexcept;
  [[nodiscard]] const transcode_options& options() const noexcept;
  void set_options(const transcode_options& options) noexcept;
  [[nodiscard]] const transcode_parallelism& parallelism() const noexcept;
  void set_parallelism(const transcode_parallelism& parallelism) noexcept;

  // Bytes the parsers, input copies and the body and key scratch (the parts' too) hold between calls.
  [[nodiscard]] std::size_t scratch_bytes() const noexcept;
  // Frees that scratch when it holds more than `keep_bytes`, so a large body's pages go back.
  void shrink_scratch(std::size_t keep_bytes) noexcept;

  // What one transcode of `json_bytes` bytes allocates from fresh scratch, on either parse path.
  // `padded`: the input came as a padded_view. `parallelism`: the setting it runs with (at most).
  struct memory_use {
    std::size_t held = 0;  // still allocated on return: parsers, copies, scratch, the message
    std::size_t peak = 0;  // the most at any moment (validating refused text briefly holds more)
  };
  [[nodiscard]] static memory_use memory_bound(std::size_t json_bytes, bool padded,
                                               const transcode_parallelism& parallelism = {}) noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace bfast
