// libFuzzer target for compressed messages. Arbitrary bytes go through the decoder's layout
// detection with a 1 MiB output limit, so a declared size past it (a decompression bomb) must be
// refused, never allocated. Inputs that are JSON are also transcoded and compressed in both LZ4
// layouts with tiny chunks, and must decode to exactly what the uncompressed message decodes to;
// the compressed bytes are then corrupted and fed back to the decoder.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bfast/compress.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/transcoder.hpp"
#include "lenient_lz4.hpp"

namespace {

constexpr std::size_t limit_bytes = std::size_t{1} << 20;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_unpack: %s\n", what);
  std::abort();
}

bfast::decode_options limited(std::size_t max_message_bytes = limit_bytes) {
  bfast::decode_options o;
  o.max_message_bytes = max_message_bytes;
  return o;
}

bool starts_with_magic(std::span<const std::uint8_t> m) {
  return m.size() >= 2 && m[0] == bfast::magic_0 && m[1] == bfast::magic_1;
}

// The three readers must agree on any bytes, keep within the limit, and leave no output behind a
// failure. Returns the decode result; `json` holds the text on success.
bfast::decode_result read_all_ways(std::span<const std::uint8_t> m, std::string& json) {
  const bfast::decode_result d = bfast::decode_to_json(m, json, limited());
  const bfast::decode_result v = bfast::validate_message(m, limited());
  bfast::message_info info;
  const bfast::decode_result i = bfast::inspect_message(m, info, limited());
  if (d.error != v.error || d.error != i.error) fail("decode, validate and inspect disagree");
  if (!d.ok()) {
    if (!json.empty()) fail("failed decode left output");
    return d;
  }
  const bool compressed = info.layout != bfast::message_layout::uncompressed;
  if (compressed == starts_with_magic(m)) fail("layout contradicts the 'BF' test");
  if (compressed && info.message_bytes > limit_bytes) fail("accepted a message beyond the limit");
  if (info.layout == bfast::message_layout::lz4_parallel) {
    if (info.chunks != info.chunk_list.size()) fail("chunk count and chunk list differ");
    std::size_t sum = 0;
    for (const auto& c : info.chunk_list) sum += c.message_bytes;
    if (sum != info.message_bytes) fail("chunks do not add up to the message");
  }
  // The limit only refuses; under the default one the same bytes read the same.
  static std::string unlimited;
  if (!bfast::decode_to_json(m, unlimited).ok() || unlimited != json)
    fail("the output limit changed an accepted message");
  return d;
}

// For bytes that may or may not be a message: only the agreement of the readers is checked.
void read_any(std::span<const std::uint8_t> m) {
  static std::string json;
  static_cast<void>(read_all_ways(m, json));
}

std::uint32_t mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  return h ^ (h >> 16);
}

void check_compressed(std::span<const std::uint8_t> message, const std::string& want,
                      bfast::lz4_compressor& lz4, bfast::message_layout layout, std::uint32_t seed) {
  static bfast::byte_buffer out;
  static bfast::byte_buffer again;
  static std::string got;
  const bfast::compress_result r = lz4.compress(message, out, 1);
  if (!r.ok()) fail("compression failed");
  // A message too small for the parallel construction at this chunk size goes as one block.
  const bool fell_back = layout == bfast::message_layout::lz4_parallel &&
                         r.layout == bfast::message_layout::lz4_single;
  if (r.layout != layout && !fell_back) fail("compressed in the wrong layout");
  if (fell_back) layout = r.layout;
  // The deployed Python decoder reads any compressed bytes as one block first and keeps a short
  // output: only a true single block may pass that read.
  if (layout == bfast::message_layout::lz4_parallel && bfast::test::lenient_single_block_accepts(out.span()))
    fail("the lenient single-block read accepts a parallel message");
  if (r.wire_bytes != out.size()) fail("wire_bytes differs from the output size");
  if (starts_with_magic(out.span())) fail("compressed message begins with 'BF'");
  if (r.message_bytes != message.size() + (r.collision_padded ? 1 : 0)) fail("message_bytes is off");
  if (r.collision_padded != bfast::size_collides_with_magic(message.size()))
    fail("collision byte added without a collision, or missing");
  if (layout == bfast::message_layout::lz4_parallel) {
    // The bytes depend on the message and the options only, never on the thread count.
    if (!lz4.compress(message, again, 2).ok() || again.view() != out.view())
      fail("two threads gave different bytes than one");
  }

  if (!read_all_ways(out.span(), got).ok()) fail("compressed message does not decode");
  if (got != want) fail("compressed message decodes differently from the uncompressed one");
  bfast::message_info info;
  if (!bfast::inspect_message(out.span(), info, limited()).ok()) fail("inspect refused it");
  if (info.layout != layout) fail("the decoder detected another layout");
  if (info.message_bytes != r.message_bytes) fail("inspect reports another message size");
  if (info.chunks != r.chunks) fail("inspect reports another chunk count");

  // One byte under the declared size is a bomb to the decoder: refused, not allocated.
  if (bfast::decode_to_json(out.span(), got, limited(r.message_bytes - 1)).error !=
      bfast::decode_error::too_large)
    fail("a declared size past the limit was not refused as too_large");

  // Corrupt the valid framing: a flipped byte, a truncation, a stray byte at the end.
  static bfast::byte_buffer bad;
  bad.clear();
  bad.append(out.span());
  const std::uint32_t h = mix(seed);
  bad.data()[h % bad.size()] ^= static_cast<std::uint8_t>((h >> 24) | 1);
  read_any(bad.span());
  read_any(out.span().first(h % out.size()));
  bad.clear();
  bad.append(out.span());
  bad.push_back(static_cast<std::uint8_t>(h >> 8));
  read_any(bad.span());
}

void check_round_trip(std::string_view json, std::uint32_t seed) {
  static bfast::transcoder transcoder;
  static bfast::byte_buffer message;
  static std::string want;
  // Two threads at most: the arena is shared and never destroyed, as in the proxy.
  static bfast::compress_arena* arena = new bfast::compress_arena(2);
  static bfast::lz4_compressor lz4(arena);

  if (!transcoder.transcode(json, message).ok()) return;
  if (!read_all_ways(message.span(), want).ok()) fail("encoded message does not decode");
  // Messages of 256 bytes or less are never compressed; decoders ignore trailing bytes, so pad
  // short ones to reach the compressor with every input.
  if (message.size() <= 256) {
    const std::size_t pad = 257 - message.size() + seed % 64;
    for (std::size_t i = 0; i < pad; ++i) message.push_back(static_cast<std::uint8_t>(i * 131));
    std::string padded;
    if (!read_all_ways(message.span(), padded).ok() || padded != want)
      fail("trailing bytes changed the decoded value");
  }

  bfast::lz4_options o;
  o.sizes.chunk_bytes = std::size_t{16} << (seed % 8);  // 16 B .. 2 KiB: many chunks on small inputs
  o.hc_level = (seed >> 3) % 4 == 0 ? 9 : 0;
  o.acceleration = 1 + (seed >> 5) % 4;
  o.layout = bfast::message_layout::lz4_single;
  lz4.set_options(o);
  check_compressed(message.span(), want, lz4, bfast::message_layout::lz4_single, seed);

  // By size, with the threshold at the message's own size: the parallel layout, just reached.
  o.layout.reset();
  o.sizes.parallel_threshold = message.size();
  lz4.set_options(o);
  if (bfast::lz4_layout_for(message.size() - 1, o) != bfast::message_layout::lz4_single)
    fail("by_size chose parallel below the threshold");
  check_compressed(message.span(), want, lz4, bfast::message_layout::lz4_parallel, seed ^ 0x5bd1e995U);

  // One input in 16: past the 1,000,000-byte threshold with the default sizes, the message padded
  // (decoders ignore trailing bytes) with a run of one byte, as long low-entropy bodies are.
  if ((seed >> 8) % 16 == 0) {
    const std::size_t target = 1'000'000 + seed % (limit_bytes - 1'000'000 - 16);
    for (std::uint8_t fill = static_cast<std::uint8_t>(seed >> 12); message.size() < target;)
      message.push_back(fill);
    lz4.set_options(bfast::lz4_options{});
    check_compressed(message.span(), want, lz4, bfast::message_layout::lz4_parallel, seed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  read_any({data, size});
  std::uint32_t seed = static_cast<std::uint32_t>(size);
  for (std::size_t i = 0; i < size && i < 16; ++i) seed = seed * 31 + data[i];
  check_round_trip({reinterpret_cast<const char*>(data), size}, seed);
  return 0;
}
