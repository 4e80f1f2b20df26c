// The two parse paths of the transcoder. The DOM path (runtime-dispatched SIMD kernels) handles
// nearly every document; the on-demand path handles what the DOM path refuses: integers beyond
// 64 bits, overflowing floats, and pinpointing where invalid JSON fails.
#pragma once
#include <simdjson.h>

#include "bfast/transcoder.hpp"
#include "body_writer.hpp"
#include "key_table.hpp"

namespace bfast::detail {

struct walk_context {
  key_table& keys;
  body_writer writer;
  const transcode_options& options;
};

// Reports each full slice of `out` to the sink once the walk has moved past it.
struct slice_hook {
  byte_buffer& out;
  slice_sink& sink;
  std::size_t slice_bytes;
  std::size_t next_end;

  void poll() {
    while (out.size() >= next_end) {
      sink.on_slice(next_end - slice_bytes, next_end);
      next_end += slice_bytes;
    }
  }
};

[[nodiscard]] transcode_error walk_dom(simdjson::dom::element root, walk_context& ctx);

// Interns every key in the order walk_dom meets them, so the table can be written first.
[[nodiscard]] transcode_error collect_keys_dom(simdjson::dom::element root, key_table& keys);

// walk_dom, polling `hook` before each value.
[[nodiscard]] transcode_error walk_dom_sliced(simdjson::dom::element root, walk_context& ctx,
                                              slice_hook& hook);

struct ondemand_outcome {
  transcode_error error = transcode_error::ok;
  simdjson::error_code json_error = simdjson::SUCCESS;
  std::size_t offset = 0;  // into the wrapped text
};

// `wrapped` is the document as "[" + text + "]", so that a scalar root is walked like any value.
[[nodiscard]] ondemand_outcome walk_ondemand(simdjson::ondemand::parser& parser,
                                             simdjson::padded_string_view wrapped,
                                             walk_context& ctx);

}  // namespace bfast::detail
