#include "bfast/transcoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "bfast/format.hpp"
#include "key_table.hpp"
#include "surrogates.hpp"
#include "walkers.hpp"

namespace bfast {

struct transcoder::impl {
  transcode_options options;
  simdjson::dom::parser dom;
  simdjson::ondemand::parser ondemand;
  byte_buffer padded;  // the input copied with the parser's padding, when the caller had none
  byte_buffer body;    // the root value; the header and key table go in front of it at the end
  detail::key_table keys;
  transcode_stats stats;

  void reset() {
    keys.clear();
    body.clear();
  }

  void assemble(byte_buffer& out) {
    out.clear();
    out.reserve(header_size + keys.encoded_size() + body.size());
    keys.write_header(out);
    out.append(body.data(), body.size());
    stats.bfast_bytes = out.size();
    stats.table_entries = keys.entries();
    stats.table_bytes = header_size + keys.encoded_size();
  }

  // Copies `text` as "[" text "]" plus padding, so the on-demand walk sees a scalar root as an
  // array element and trailing garbage as a structural error.
  simdjson::padded_string_view wrap(std::string_view text) {
    padded.clear();
    std::uint8_t* p = padded.ensure(text.size() + 2 + simdjson::SIMDJSON_PADDING);
    p[0] = '[';
    if (!text.empty()) std::memcpy(p + 1, text.data(), text.size());
    p[text.size() + 1] = ']';
    std::memset(p + text.size() + 2, 0, simdjson::SIMDJSON_PADDING);
    return simdjson::padded_string_view(reinterpret_cast<const char*>(p), text.size() + 2,
                                        text.size() + 2 + simdjson::SIMDJSON_PADDING);
  }

  detail::ondemand_outcome walk_slow(std::string_view text) {
    reset();
    detail::walk_context ctx{keys, detail::body_writer(body), options};
    return detail::walk_ondemand(ondemand, wrap(text), ctx);
  }

  transcode_result slow_path(std::string_view json, byte_buffer& out) {
    const detail::ondemand_outcome first = walk_slow(json);
    if (first.error == transcode_error::ok) {
      assemble(out);
      return {};
    }
    if (first.error != transcode_error::invalid_json) {
      return {first.error, 0, reason_token(first.error)};
    }
    const std::size_t offset =
        std::min(first.offset > 0 ? first.offset - 1 : 0, json.size());
    // Lone surrogates are valid JSON to JSON.parse and json.loads: tell them apart by walking a
    // copy in which they are neutralized.
    std::string copy(json);
    if (detail::neutralize_lone_surrogates(copy) > 0) {
      const detail::ondemand_outcome second = walk_slow(copy);
      reset();
      if (second.error != transcode_error::invalid_json) {
        return {transcode_error::lone_surrogate, 0, "lone surrogate escape"};
      }
    }
    reset();
    return {transcode_error::invalid_json, offset, simdjson::error_message(first.json_error)};
  }
};

transcoder::transcoder(transcode_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = options;
}
transcoder::~transcoder() = default;
transcoder::transcoder(transcoder&&) noexcept = default;
transcoder& transcoder::operator=(transcoder&&) noexcept = default;

const transcode_stats& transcoder::last_stats() const noexcept { return impl_->stats; }
const transcode_options& transcoder::options() const noexcept { return impl_->options; }
void transcoder::set_options(const transcode_options& options) noexcept {
  impl_->options = options;
}

transcode_result transcoder::transcode(std::string_view json, byte_buffer& out,
                                       bool padding_available) {
  impl& m = *impl_;
  out.clear();
  m.reset();
  m.stats = {};
  m.stats.json_bytes = json.size();

  const std::uint8_t* input = reinterpret_cast<const std::uint8_t*>(json.data());
  if (!padding_available) {
    m.padded.clear();
    std::uint8_t* p = m.padded.ensure(json.size() + simdjson::SIMDJSON_PADDING);
    if (!json.empty()) std::memcpy(p, json.data(), json.size());
    std::memset(p + json.size(), 0, simdjson::SIMDJSON_PADDING);
    input = p;
  }

  simdjson::dom::element root;
  if (m.dom.parse(input, json.size(), false).get(root) != simdjson::SUCCESS) {
    transcode_result r = m.slow_path(json, out);
    if (!r.ok()) out.clear();
    return r;
  }
  detail::walk_context ctx{m.keys, detail::body_writer(m.body), m.options};
  if (const transcode_error err = detail::walk_dom(root, ctx); err != transcode_error::ok) {
    m.reset();
    return {err, 0, reason_token(err)};
  }
  m.assemble(out);
  return {};
}

}  // namespace bfast
