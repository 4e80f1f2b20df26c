#include "bfast/transcoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "bfast/format.hpp"
#include "json_text.hpp"
#include "key_table.hpp"
#include "parser_memory.hpp"
#include "root_parts.hpp"
#include "validation_copy.hpp"
#include "walkers.hpp"

namespace bfast {

static_assert(padded_view::padding == simdjson::SIMDJSON_PADDING);

struct transcoder::impl {
  transcode_options options;
  transcode_parallelism parallelism;
  detail::root_parts parts;  // the parts of a large root array, each with its own scratch
  simdjson::dom::parser dom;
  simdjson::ondemand::parser ondemand;
  byte_buffer padded;   // the input copied with the parser's padding, when the caller had none
  byte_buffer wrapped;  // the slow path's "[" text "]"; apart from `padded`, which may hold the text
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
    count_stats(out);
  }

  void count_stats(const byte_buffer& out) {
    stats.bfast_bytes = out.size();
    stats.table_entries = keys.entries();
    stats.table_bytes = header_size + keys.encoded_size();
  }

  // The message in parts at once, when the text is large and cut; false: transcode it whole.
  bool transcode_in_parts(std::string_view json, byte_buffer& out) {
    if (detail::root_parts::part_count(json.size(), parallelism) < 2) return false;
    if (parts.transcode(json, parallelism, options, keys, out)) {
      count_stats(out);
      stats.parts = parts.parts();
      return true;
    }
    // What the parts held is not kept beside what the whole now needs (see memory_bound).
    parts.release();
    return false;
  }

  // Copies `text` as "[" text "]" plus padding, so the on-demand walk sees a scalar root as an
  // array element and trailing garbage as a structural error.
  simdjson::padded_string_view wrap(std::string_view text) {
    wrapped.clear();
    std::uint8_t* p = wrapped.ensure(text.size() + 2 + simdjson::SIMDJSON_PADDING);
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

  // A copy of `json` with the parser's padding after it, in the reused scratch buffer.
  padded_view copy_padded(std::string_view json) {
    padded.clear();
    padded.reserve(json.size() + padded_view::padding);
    padded.append(json);
    std::memset(padded.ensure(padded_view::padding), 0, padded_view::padding);
    return padded_view::of(padded);
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
  bool parse_fast(padded_view json, byte_buffer& out, simdjson::dom::element& root,
                  transcode_result& result) {
    const simdjson::error_code e = dom.parse(json.data(), json.size(), false).get(root);
    if (e == simdjson::SUCCESS) return true;
    result = slow_path(json.text(), e, out);
    if (!result.ok()) out.clear();
    return false;
  }

  // The one-thread transcode of the whole text.
  transcode_result transcode_whole(padded_view json, byte_buffer& out) {
    simdjson::dom::element root;
    transcode_result answered;
    if (!parse_fast(json, out, root, answered)) return answered;
    detail::walk_context ctx{keys, detail::body_writer(body), options};
    if (const transcode_error err = detail::walk_dom(root, ctx); err != transcode_error::ok) {
      reset();
      return {err, 0, reason_token(err)};
    }
    // The DOM reads "-0" as 0; the text tells, and the walk's output (packed floats) is kept.
    if (ctx.zero_integer && detail::holds_negative_zero(json.text())) {
      reset();
      return {transcode_error::negative_zero, 0, reason_token(transcode_error::negative_zero)};
    }
    assemble(out);
    return {};
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

const transcode_parallelism& transcoder::parallelism() const noexcept { return impl_->parallelism; }
void transcoder::set_parallelism(const transcode_parallelism& parallelism) noexcept {
  impl_->parallelism = parallelism;
}

transcode_result transcoder::transcode(std::string_view json, byte_buffer& out) {
  impl& m = *impl_;
  m.begin(json, out);
  // Each part copies its own text, so only the whole needs the padded copy.
  if (m.transcode_in_parts(json, out)) return {};
  return m.transcode_whole(m.copy_padded(json), out);
}

transcode_result transcoder::transcode(padded_view json, byte_buffer& out) {
  impl& m = *impl_;
  m.begin(json.text(), out);
  if (m.transcode_in_parts(json.text(), out)) return {};
  return m.transcode_whole(json, out);
}

std::size_t transcoder::scratch_bytes() const noexcept {
  using detail::dom_parser_bytes;
  using detail::ondemand_parser_bytes;
  const impl& m = *impl_;
  return m.parts.scratch_bytes() + dom_parser_bytes(m.dom.capacity(), m.dom.max_depth()) +
         ondemand_parser_bytes(m.ondemand.capacity(), m.ondemand.max_depth()) +
         m.padded.capacity() + m.wrapped.capacity() + m.body.capacity() + m.keys.capacity_bytes();
}

void transcoder::shrink_scratch(std::size_t keep_bytes) noexcept {
  if (scratch_bytes() <= keep_bytes) return;
  impl& m = *impl_;
  m.dom = simdjson::dom::parser{};
  m.ondemand = simdjson::ondemand::parser{};
  m.padded = byte_buffer{};
  m.wrapped = byte_buffer{};
  m.body = byte_buffer{};
  m.keys = detail::key_table{};
  m.parts.release();
}

transcoder::memory_use transcoder::memory_bound(std::size_t json_bytes, bool padded,
                                                const transcode_parallelism& parallelism) noexcept {
  using detail::dom_parser_bytes;
  using detail::ondemand_parser_bytes;
  const std::size_t n = json_bytes;
  const std::size_t message = message_bound(n);
  // A distinct key costs at least five bytes of JSON ("":0,), fillers one entry in 255.
  const std::size_t keys = std::min<std::size_t>(max_table_entries + 1, n / 4 + 2);
  const std::size_t parse = dom_parser_bytes(n, simdjson::DEFAULT_MAX_DEPTH) +
                            (padded ? 0 : n + padded_view::padding);
  // The body grows bit by bit; the message is reserved at its size once the body is done. The
  // slow path adds the wrapped text and the on-demand parser, which stay for the next call.
  const std::size_t walk = byte_buffer::capacity_bound(message) + detail::key_table::bytes_bound(keys) +
                           message + (n + 2 + simdjson::SIMDJSON_PADDING) +
                           ondemand_parser_bytes(n + 2, simdjson::DEFAULT_MAX_DEPTH);
  // Validating refused text: a copy, simdjson's padded copy of it and a parser as deep as the
  // text, all freed before the walk.
  const std::size_t depth = std::min(n + 2, impl::max_validation_depth);
  const std::size_t validate = 2 * (n + simdjson::SIMDJSON_PADDING + 1) + dom_parser_bytes(n + 1, depth);
  const memory_use whole{parse + walk, parse + std::max(walk, validate)};
  const std::size_t parts = detail::root_parts::part_count(n, parallelism);
  if (parts < 2) return whole;
  // In parts: their scratch, the message's table and the message; the input is not copied. When
  // a part fails, all that is freed before the whole is transcoded (the table is reused).
  const std::size_t in_parts = detail::root_parts::memory_bound(n, parts) +
                               detail::key_table::bytes_bound(keys) + message;
  return {std::max(whole.held, in_parts), std::max(whole.peak, in_parts)};
}

std::size_t transcoder::message_bound(std::size_t json_bytes) noexcept {
  // Each value costs at most 4.5 bytes per byte of its JSON counting the separator or bracket
  // after it (an integer "8," -> 9 bytes); a key's index and table entry fit the same ratio
  // ("":  -> 4 + 1). Only a root scalar has no such byte: the constant covers it.
  return header_size + json_bytes * 9 / 2 + 64;
}

}  // namespace bfast
