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
  // The DOM reads "-0" as the integer 0: a zero seen by walk_dom may have been "-0".
  bool zero_integer = false;
};

[[nodiscard]] transcode_error walk_dom(simdjson::dom::element root, walk_context& ctx);

// The elements of a root array, as walk_dom writes them after the array's header: a part of a
// root array cut by split_root_array. `count` gets how many were written.
[[nodiscard]] transcode_error walk_dom_elements(simdjson::dom::array root, walk_context& ctx,
                                                std::size_t& count);

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
