#include "diagnose.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

#include "bfast/format.hpp"

namespace bfast::cli {
namespace {

struct known_magic {
  std::array<std::uint8_t, 4> bytes;
  std::size_t size;
  std::string_view explanation;
};

// Content codings a client undoes itself; curl does so only with --compressed.
constexpr std::array<known_magic, 2> codings{{
    {{0x1f, 0x8b}, 2,
     "this is gzip (Content-Encoding: gzip), not raw B-FAST: run curl with --compressed, or "
     "pipe through gunzip first"},
    {{0x28, 0xb5, 0x2f, 0xfd}, 4,
     "this is zstd (Content-Encoding: zstd), not raw B-FAST: run curl with --compressed (a "
     "curl built with zstd), or pipe through zstd -d first"},
}};

bool looks_like_json(std::span<const std::uint8_t> data) {
  std::size_t i = 0;
  if (data.size() >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) i = 3;
  while (i < data.size() && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
    ++i;
  return i < data.size() && (data[i] == '{' || data[i] == '[');
}

// How far an LZ4 block decodes before its input runs out inside a sequence: the output bytes it
// makes, or nothing when the bytes break the block format or end as a whole block would.
std::optional<std::size_t> lz4_output_before_end(std::span<const std::uint8_t> block,
                                                 std::size_t declared) {
  std::size_t at = 0, out = 0;
  auto extended = [&](std::size_t len) -> std::optional<std::size_t> {
    for (;;) {
      if (at >= block.size()) return std::nullopt;
      const std::uint8_t b = block[at++];
      len += b;
      if (b != 255) return len;
    }
  };
  while (at < block.size()) {
    const std::uint8_t token = block[at++];
    std::size_t literals = token >> 4;
    if (literals == 15) {
      const auto l = extended(literals);
      if (!l) return out;
      literals = *l;
    }
    if (literals > block.size() - at) return out + (block.size() - at);
    at += literals;
    out += literals;
    // Ending where a last sequence would is a whole block whose size prefix is wrong, not a cut.
    if (at == block.size()) return std::nullopt;
    if (block.size() - at < 2) return out;
    const std::size_t offset = block[at] | (block[at + 1] << 8);
    at += 2;
    if (offset == 0 || offset > out) return std::nullopt;
    std::size_t match = (token & 15) + 4;
    if ((token & 15) == 15) {
      const auto m = extended(match);
      if (!m) return out;
      match = *m;
    }
    out += match;
    if (out > declared) return std::nullopt;
  }
  return out;
}

std::string explain_cut_single(std::span<const std::uint8_t> data) {
  if (data.size() < 5) return {};
  const std::size_t declared = load_u32(data.data());
  const auto made = lz4_output_before_end(data.subspan(4), declared);
  if (!made || *made >= declared) return {};
  return "an LZ4 single block cut short: it declares " + std::to_string(declared) +
         " message bytes but its " + std::to_string(data.size() - 4) + " bytes decode to only " +
         std::to_string(*made) + " (" + std::to_string(declared - *made) +
         " missing); was the download interrupted?";
}

// The layouts encoders write: equal slices (the last one shorter), or this project's, where f
// one-byte chunks lead (f <= 512) and make K % 256 == 63, then equal slices. Read from what is
// there, so that a single block under a wrong size prefix is not taken for cut chunks.
bool parallel_layout(std::span<const std::uint8_t> data, std::size_t total, std::size_t count) {
  const auto slices_fit = [&](std::size_t lead, std::size_t slice) {
    return slice != 0 && lead < total && slice <= total - lead &&
           lead + (total - lead + slice - 1) / slice == count;
  };
  if (count == 0 || count > total) return false;
  if (slices_fit(0, load_u32(data.data() + 12))) return true;
  if (count % 256 != 63) return false;
  std::size_t at = 8, lead = 0;
  for (; lead < 512 && at + 8 <= data.size() && load_u32(data.data() + at + 4) == 1; ++lead)
    at += 4 + load_u32(data.data() + at);
  if (lead == 0) return false;
  // Cut among the one-byte chunks: the slice size is not there to check.
  if (at + 8 > data.size()) return true;
  return slices_fit(lead, load_u32(data.data() + at + 4));
}

std::string explain_cut_parallel(std::span<const std::uint8_t> data) {
  if (data.size() < 16) return {};
  const std::size_t total = load_u32(data.data());
  const std::size_t count = load_u32(data.data() + 4);
  if (!parallel_layout(data, total, count)) return {};
  std::size_t at = 8, held = 0;
  for (std::size_t i = 0; i < count; ++i) {
    // Numbered from 0, as `bfast inspect` lists them.
    const std::string which = "chunk #" + std::to_string(i) + " of " + std::to_string(count);
    const std::string rest =
        i + 2 == count   ? ", and chunk #" + std::to_string(count - 1) + " is missing entirely"
        : i + 2 < count ? ", and chunks #" + std::to_string(i + 1) + " to #" +
                              std::to_string(count - 1) + " are missing entirely"
                        : "";
    const std::size_t left = data.size() - at;
    if (left < 4)
      return "LZ4 parallel chunks cut short: " + which + " (at byte " + std::to_string(at) +
             ") lacks " + std::to_string(4 - left) + " bytes of its length prefix" + rest +
             "; " + std::to_string(total - held) + " of the " + std::to_string(total) +
             " message bytes are lost";
    const std::size_t len = load_u32(data.data() + at);
    // A chunk is [u32 size][block]: its size must fit in what is left of the message.
    if (len < 5) return {};
    if (left - 4 >= len) {
      const std::size_t declared = load_u32(data.data() + at + 4);
      if (declared == 0 || declared > total - held) return {};
      held += declared;
      at += 4 + len;
      continue;
    }
    if (left - 4 >= 8) {
      const std::size_t declared = load_u32(data.data() + at + 4);
      if (declared == 0 || declared > total - held) return {};
    }
    return "LZ4 parallel chunks cut short: " + which + " (at byte " + std::to_string(at) +
           ") has " + std::to_string(left - 4) + " of its " + std::to_string(len) + " bytes (" +
           std::to_string(len - (left - 4)) + " missing)" + rest + "; " +
           std::to_string(total - held) + " of the " + std::to_string(total) +
           " message bytes are lost";
  }
  return {};
}

}  // namespace

std::string explain_not_bfast(std::span<const std::uint8_t> data) {
  if (data.size() >= 2 && data[0] == magic_0 && data[1] == magic_1) return {};
  for (const known_magic& m : codings)
    if (data.size() >= m.size && std::equal(m.bytes.begin(), m.bytes.begin() + m.size, data.begin()))
      return std::string(m.explanation);
  if (looks_like_json(data))
    return "this is JSON, not B-FAST: the proxy passed the response through; its BFast-Status "
           "response header says why (curl -sD - -o /dev/null -H 'Accept: application/x-bfast' "
           "URL)";
  if (std::string s = explain_cut_parallel(data); !s.empty()) return s;
  return explain_cut_single(data);
}

}  // namespace bfast::cli
