#include "bfast/transcoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "bfast/format.hpp"
#include "key_table.hpp"
#include "validation_copy.hpp"
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

  // The input with the parser's padding after it: the caller's own bytes when it promised the
  // padding, otherwise a copy in the reused scratch buffer.
  const std::uint8_t* padded_input(std::string_view json, bool padding_available) {
    if (padding_available) return reinterpret_cast<const std::uint8_t*>(json.data());
    padded.clear();
    std::uint8_t* p = padded.ensure(json.size() + simdjson::SIMDJSON_PADDING);
    if (!json.empty()) std::memcpy(p, json.data(), json.size());
    std::memset(p + json.size(), 0, simdjson::SIMDJSON_PADDING);
    return p;
  }

  // Is the text JSON at all? Run on a copy without what only simdjson refuses, by a parser
  // allowed to nest as deep as the text is long (this path is rare, so it may allocate).
  simdjson::error_code validate_copy(std::string_view json, detail::neutralized& found) {
    std::string copy(json);
    found = detail::neutralize_for_validation(copy);
    simdjson::dom::parser deep;
    const std::size_t depth = std::min(copy.size() + 2, max_validation_depth);
    if (auto e = deep.allocate(copy.size() + 1, depth); e != simdjson::SUCCESS) return e;
    simdjson::dom::element ignored;
    return deep.parse(copy).get(ignored);
  }

  // The DOM parser refused the text: find out whether it is invalid JSON (and where), or valid
  // JSON that needs the exact number handling of the on-demand walk, or not representable.
  transcode_result slow_path(std::string_view json, simdjson::error_code dom_error, byte_buffer& out) {
    detail::neutralized found;
    const simdjson::error_code validity = validate_copy(json, found);
    if (validity == simdjson::DEPTH_ERROR) {
      return {transcode_error::too_deep, 0, reason_token(transcode_error::too_deep)};
    }
    if (validity != simdjson::SUCCESS) {
      const detail::ondemand_outcome located = walk_slow(json);
      reset();
      std::size_t offset = located.offset > 0 ? located.offset - 1 : 0;
      if (located.error != transcode_error::invalid_json) offset = json.size();
      const simdjson::error_code why =
          located.json_error != simdjson::SUCCESS ? located.json_error : validity;
      return {transcode_error::invalid_json, std::min(offset, json.size()),
              simdjson::error_message(why)};
    }
    if (dom_error == simdjson::DEPTH_ERROR) {
      return {transcode_error::too_deep, 0, reason_token(transcode_error::too_deep)};
    }
    // Valid JSON from here on, so whatever the walk refuses is not representable.
    const detail::ondemand_outcome walked = walk_slow(json);
    if (walked.error == transcode_error::ok) {
      assemble(out);
      return {};
    }
    reset();
    if (walked.error == transcode_error::invalid_json && found.lone_surrogates > 0) {
      return {transcode_error::lone_surrogate, 0, "lone surrogate escape"};
    }
    if (walked.error == transcode_error::invalid_json) {
      return {transcode_error::invalid_json, 0, simdjson::error_message(walked.json_error)};
    }
    return {walked.error, 0, reason_token(walked.error)};
  }

  void begin(std::string_view json, byte_buffer& out) {
    out.clear();
    reset();
    stats = {};
    stats.json_bytes = json.size();
  }

  // Parses with the DOM parser; when it refuses the text, the slow path answers (into `result`,
  // and into `out` when the text was fine after all) and this returns false.
  bool parse_fast(std::string_view json, bool padding_available, byte_buffer& out,
                  simdjson::dom::element& root, transcode_result& result) {
    const std::uint8_t* input = padded_input(json, padding_available);
    const simdjson::error_code e = dom.parse(input, json.size(), false).get(root);
    if (e == simdjson::SUCCESS) return true;
    result = slow_path(json, e, out);
    if (!result.ok()) out.clear();
    return false;
  }

  // Deeper than this, a text is called too deep without proving it is JSON (bounds memory).
  static constexpr std::size_t max_validation_depth = std::size_t{1} << 20;
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
  m.begin(json, out);

  simdjson::dom::element root;
  transcode_result answered;
  if (!m.parse_fast(json, padding_available, out, root, answered)) return answered;
  detail::walk_context ctx{m.keys, detail::body_writer(m.body), m.options};
  if (const transcode_error err = detail::walk_dom(root, ctx); err != transcode_error::ok) {
    m.reset();
    return {err, 0, reason_token(err)};
  }
  m.assemble(out);
  return {};
}

std::size_t transcoder::message_bound(std::size_t json_bytes) noexcept {
  // Per byte of JSON, at most 4.5 bytes of value (a root integer "10" -> 9 bytes) and one byte of
  // key table (a key "k": -> 2 bytes, fillers are rarer than one per 768 bytes).
  return header_size + 6 * json_bytes + 64;
}

transcode_result transcoder::transcode_sliced(std::string_view json, byte_buffer& out,
                                              std::size_t slice_bytes, slice_sink& sink,
                                              bool padding_available) {
  impl& m = *impl_;
  m.begin(json, out);
  if (slice_bytes == 0) return transcode(json, out, padding_available);

  simdjson::dom::element root;
  transcode_result answered;
  if (!m.parse_fast(json, padding_available, out, root, answered)) return answered;
  if (const transcode_error err = detail::collect_keys_dom(root, m.keys);
      err != transcode_error::ok) {
    m.reset();
    return {err, 0, reason_token(err)};
  }
  // Reserved once: slices already handed out point into this storage.
  out.reserve(message_bound(json.size()));
  m.keys.write_header(out);
  m.stats.table_entries = m.keys.entries();
  m.stats.table_bytes = out.size();
  detail::walk_context ctx{m.keys, detail::body_writer(out), m.options};
  detail::slice_hook hook{out, sink, slice_bytes, slice_bytes};
  if (const transcode_error err = detail::walk_dom_sliced(root, ctx, hook);
      err != transcode_error::ok) {
    m.reset();
    out.clear();
    return {err, 0, reason_token(err)};
  }
  hook.poll();
  m.stats.bfast_bytes = out.size();
  return {};
}

}  // namespace bfast
