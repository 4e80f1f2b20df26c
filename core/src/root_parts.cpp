#include "root_parts.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>

#include "bfast/compress_arena.hpp"
#include "bfast/format.hpp"
#include "bfast/padded_view.hpp"
#include "json_text.hpp"
#include "key_remap.hpp"
#include "parser_memory.hpp"
#include "walkers.hpp"

namespace bfast::detail {
namespace {

// Tiny part sizes (tests) cannot make more parsers than this.
constexpr std::size_t max_parts = 256;

// job(0) .. job(count - 1) on the arena's threads, or one after another without an arena.
void run_jobs(std::size_t count, const transcode_parallelism& parallelism,
              const std::function<void(std::size_t)>& job) {
  if (parallelism.arena == nullptr || parallelism.threads <= 1) {
    for (std::size_t i = 0; i < count; ++i) job(i);
    return;
  }
  parallelism.arena->run_batch(count, parallelism.threads, job);
}

}  // namespace

std::size_t root_parts::part_count(std::size_t json_bytes,
                                   const transcode_parallelism& parallelism) noexcept {
  // A part is parsed with two more bytes; the whole must fit simdjson too, or it answers otherwise.
  if (json_bytes < parallelism.min_bytes || json_bytes + 2 > simdjson::SIMDJSON_MAXSIZE_BYTES) return 1;
  const std::size_t n = parallelism.part_bytes > 0
                            ? (json_bytes + parallelism.part_bytes - 1) / parallelism.part_bytes
                            : static_cast<std::size_t>(std::max(parallelism.threads, 1));
  return std::clamp<std::size_t>(n, 1, max_parts);
}

bool root_parts::transcode_part(part& p, std::string_view text, const transcode_options& options) {
  p.text.clear();
  std::uint8_t* t = p.text.ensure(text.size() + 2 + padded_view::padding);
  t[0] = '[';
  std::memcpy(t + 1, text.data(), text.size());
  t[text.size() + 1] = ']';
  std::memset(t + text.size() + 2, 0, padded_view::padding);
  simdjson::dom::element root;
  simdjson::dom::array elements;
  if (p.parser.parse(t, text.size() + 2, false).get(root) != simdjson::SUCCESS ||
      root.get_array().get(elements) != simdjson::SUCCESS)
    return false;
  p.keys.clear();
  p.body.clear();
  walk_context ctx{p.keys, body_writer(p.body), options};
  if (walk_dom_elements(elements, ctx, p.count) != transcode_error::ok || p.count == 0) return false;
  // A "-0" (read as 0) sends the text to the whole transcoder, which refuses it.
  return !(ctx.zero_integer && holds_negative_zero(text));
}

bool root_parts::merge_keys(key_table& keys) {
  keys.clear();
  std::size_t count = 0;
  for (std::size_t k = 0; k < cuts_.size(); ++k) {
    part& p = parts_[k];
    count += p.count;
    p.map.resize(p.keys.entries());
    p.same_indices = true;
    for (std::size_t i = 0; i < p.map.size(); ++i) {
      const auto local = static_cast<std::uint32_t>(i);
      std::uint32_t index = local;
      // A part's fillers sit at the same indices as the message's and are never referred to.
      if (!is_filler_index(local) && keys.intern(p.keys.key(i), index) != transcode_error::ok)
        return false;
      p.map[i] = index;
      p.same_indices = p.same_indices && index == local;
    }
  }
  return count <= UINT32_MAX;
}

void root_parts::assemble(const key_table& keys, const transcode_parallelism& parallelism,
                          byte_buffer& out) {
  std::size_t body = 0;
  std::size_t count = 0;
  for (std::size_t k = 0; k < cuts_.size(); ++k) {
    parts_[k].at = body;
    body += parts_[k].body.size();
    count += parts_[k].count;
  }
  out.clear();
  out.reserve(header_size + keys.encoded_size() + 5 + body);
  keys.write_header(out);
  body_writer(out).write_array_header(static_cast<std::uint32_t>(count));
  std::uint8_t* dst = out.ensure(body);
  // The copies touch fresh pages of the message: worth spreading too.
  run_jobs(cuts_.size(), parallelism, [&](std::size_t k) {
    const part& p = parts_[k];
    if (p.body.empty()) return;
    std::memcpy(dst + p.at, p.body.data(), p.body.size());
    if (!p.same_indices) remap_key_indices(dst + p.at, p.body.size(), p.map.data());
  });
  out.commit(body);
}

bool root_parts::transcode(std::string_view json, const transcode_parallelism& parallelism,
                           const transcode_options& options, key_table& keys, byte_buffer& out) {
  const std::size_t count = part_count(json.size(), parallelism);
  if (count < 2 || !split_root_array(json, count, cuts_)) return false;
  if (parts_.size() < cuts_.size()) parts_.resize(cuts_.size());
  std::atomic<bool> failed{false};
  run_jobs(cuts_.size(), parallelism, [&](std::size_t k) {
    // Once a part has failed the whole text is transcoded again: the rest need not start.
    if (failed.load(std::memory_order_relaxed)) return;
    const text_part& c = cuts_[k];
    if (!transcode_part(parts_[k], json.substr(c.begin, c.end - c.begin), options))
      failed.store(true, std::memory_order_relaxed);
  });
  if (failed.load(std::memory_order_relaxed) || !merge_keys(keys)) {
    keys.clear();
    out.clear();
    return false;
  }
  assemble(keys, parallelism, out);
  return true;
}

std::size_t root_parts::scratch_bytes() const noexcept {
  std::size_t n = cuts_.capacity() * sizeof(text_part) + parts_.capacity() * sizeof(part);
  for (const part& p : parts_) {
    n += dom_parser_bytes(p.parser.capacity(), p.parser.max_depth()) + p.text.capacity() +
         p.body.capacity() + p.keys.capacity_bytes() + p.map.capacity() * sizeof(std::uint32_t);
  }
  return n;
}

void root_parts::release() noexcept {
  cuts_ = std::vector<text_part>{};
  parts_ = std::vector<part>{};
}

std::size_t root_parts::memory_bound(std::size_t json_bytes, std::size_t parts) noexcept {
  const std::size_t n = json_bytes;
  const std::size_t p = parts;
  // Per part: a parser's fixed share and its rounding, the least capacity of the text and body
  // buffers, an empty key table, and the arena's task for it.
  const std::size_t per_part = dom_parser_bytes(32, simdjson::DEFAULT_MAX_DEPTH) + 2048 +
                               2 * byte_buffer::min_capacity + key_table::bytes_bound(0) + 4096 +
                               2 * (sizeof(part) + sizeof(text_part));
  // The texts hold the whole with brackets and padding; the bodies are the message's body, each
  // grown bit by bit; a key costs five bytes of JSON or is a filler in a table of its part's.
  const std::size_t texts = n + p * (2 + padded_view::padding);
  const std::size_t parsers = dom_parser_bytes(n + 2 * p, simdjson::DEFAULT_MAX_DEPTH);
  const std::size_t bodies = byte_buffer::capacity_bound(transcoder::message_bound(n));
  const std::size_t entries = std::min(n / 4 + 2 * p, (max_table_entries + 1) * p);
  const std::size_t tables = key_table::bytes_bound(entries) + 2 * entries * sizeof(std::uint32_t);
  return p * per_part + texts + parsers + bodies + tables;
}

}  // namespace bfast::detail
