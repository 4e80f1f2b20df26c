// libFuzzer target for Accept, Accept-Encoding and BFast-Decoder. Any header value must parse
// without a crash, and the results must keep the promises accept.hpp makes: q-values within
// 0..1000, lower-case tokens, case-insensitive matching, optional whitespace ignored, wildcards
// never selecting B-FAST, the most specific range deciding, the first one listed among equals.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "bfast/filter/accept.hpp"
#include "bfast/filter/client_decoder.hpp"

namespace {

using bfast::filter::media_range;

[[noreturn]] void fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "fuzz_accept: %s\ninput (%zu bytes): ", what, input.size());
  for (const char c : input) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b < 0x7F && b != '\\') std::fputc(b, stderr);
    else std::fprintf(stderr, "\\x%02X", b);
  }
  std::fputc('\n', stderr);
  std::abort();
}

bool same_range(const media_range& a, const media_range& b) {
  return a.type == b.type && a.subtype == b.subtype && a.q == b.q &&
         a.has_parameters == b.has_parameters;
}

bool same_ranges(const std::vector<media_range>& a, const std::vector<media_range>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), same_range);
}

bool same_codings(const std::vector<bfast::filter::coding_preference>& a,
                  const std::vector<bfast::filter::coding_preference>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.coding == y.coding && x.q == y.q;
  });
}

bool is_bfast(const media_range& m) { return m.type == "application" && m.subtype == "x-bfast"; }

std::string map_case(std::string_view s, bool upper) {
  std::string out(s);
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool lower_token(std::string_view s) {
  if (s.empty()) return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) <= 0x20 ||
           static_cast<unsigned char>(c) >= 0x7F || c == ',' || c == ';' || c == '/' ||
           c == '"' || c == '=';
  });
}

void check_accept(std::string_view v) {
  namespace f = bfast::filter;
  const std::vector<media_range> ranges = f::parse_accept(v);
  bool lists_bfast = false;
  bool lists_bfast_positive = false;
  for (const media_range& m : ranges) {
    if (m.q > f::q_max) fail("media range q beyond 1", v);
    if (!lower_token(m.type) || !lower_token(m.subtype)) fail("media range is not a lower-case token pair", v);
    if (m.type == "*" && m.subtype != "*") fail("*/subtype accepted as a media range", v);
    lists_bfast = lists_bfast || is_bfast(m);
    lists_bfast_positive = lists_bfast_positive || (is_bfast(m) && m.q > 0);
  }

  const bool prefers = f::accept_prefers_bfast(v);
  const bool mentions = f::accept_mentions_bfast(v);
  if (mentions != lists_bfast) fail("accept_mentions_bfast disagrees with parse_accept", v);
  // Wildcards never select B-FAST: it must be listed itself, with q > 0.
  if (prefers && !lists_bfast_positive) fail("B-FAST preferred without an x-bfast range of q > 0", v);
  if (prefers && f::quality_of(ranges, "application", "x-bfast", false) <
                     f::quality_of(ranges, "application", "json"))
    fail("B-FAST preferred over a more preferred application/json", v);

  // Both sides of the choice, as the filter sees them.
  const f::accepted_types both = f::accepted_representations(v, true);
  if (both.bfast_preferred != prefers) fail("accepted_representations disagrees on preference", v);
  if (both.bfast != (f::quality_of(ranges, "application", "x-bfast", false) > 0))
    fail("accepted_representations.bfast disagrees with quality_of", v);
  if (both.bfast && !lists_bfast_positive) fail("B-FAST a candidate without an x-bfast range of q > 0", v);
  if (both.json != (f::quality_of(ranges, "application", "json") > 0))
    fail("accepted_representations.json disagrees with quality_of", v);

  // ASCII case never matters: types, subtypes and the "q" name are compared case-insensitively.
  for (const bool upper : {true, false}) {
    const std::string mapped = map_case(v, upper);
    if (!same_ranges(f::parse_accept(mapped), ranges)) fail("case change altered parse_accept", v);
    if (f::accept_prefers_bfast(mapped) != prefers) fail("case change altered accept_prefers_bfast", v);
  }
  // Optional whitespace around the whole value is not part of any element.
  const std::string padded = " \t" + std::string(v) + "\t ";
  if (!same_ranges(f::parse_accept(padded), ranges)) fail("surrounding whitespace altered parse_accept", v);
  if (f::accept_prefers_bfast(padded) != prefers) fail("surrounding whitespace altered accept_prefers_bfast", v);

  // The upstream's Accept keeps every other element and loses every x-bfast one.
  const std::string upstream = f::accept_without_bfast(v);
  std::vector<media_range> kept;
  std::copy_if(ranges.begin(), ranges.end(), std::back_inserter(kept),
               [](const media_range& m) { return !is_bfast(m); });
  if (!same_ranges(f::parse_accept(upstream), kept)) fail("accept_without_bfast changed other elements", v);
  if (f::accept_mentions_bfast(upstream)) fail("accept_without_bfast left an x-bfast element", v);

  // A leading x-bfast range with a parameter is the most specific possible and listed first, so it
  // decides alone, whatever follows.
  if (!f::accept_prefers_bfast("application/x-bfast;v=1, " + std::string(v)))
    fail("a leading application/x-bfast;v=1 did not select B-FAST", v);
  if (f::accept_prefers_bfast("Application/X-BFast; v=1; q=0 ," + std::string(v)))
    fail("a leading application/x-bfast;v=1;q=0 did not refuse B-FAST", v);
}

void check_accept_encoding(std::string_view v) {
  namespace f = bfast::filter;
  const auto prefs = f::parse_accept_encoding(v);
  for (const auto& c : prefs) {
    if (c.q > f::q_max) fail("coding q beyond 1", v);
    if (!lower_token(c.coding)) fail("coding is not a lower-case token", v);
  }
  for (const std::string_view coding : {"gzip", "zstd", "identity"}) {
    const bool ok = f::coding_acceptable(v, true, coding);
    if (f::coding_acceptable(v, false, coding)) fail("a coding accepted without an Accept-Encoding", v);
    // The first exact entry decides; without one, the first "*".
    bool want = false;
    const auto exact = std::find_if(prefs.begin(), prefs.end(), [&](const auto& c) { return c.coding == coding; });
    const auto star = std::find_if(prefs.begin(), prefs.end(), [](const auto& c) { return c.coding == "*"; });
    if (exact != prefs.end()) want = exact->q > 0;
    else if (star != prefs.end()) want = star->q > 0;
    if (ok != want) fail("coding_acceptable disagrees with parse_accept_encoding", v);
    for (const bool upper : {true, false})
      if (f::coding_acceptable(map_case(v, upper), true, coding) != ok)
        fail("case change altered coding_acceptable", v);
    // An entry appended after the list only counts when nothing before it matched; a quote in
    // the value could swallow the comma, so only unquoted values are checked.
    if (v.find('"') == std::string_view::npos) {
      const std::string refused = std::string(v) + " , " + std::string(coding) + ";q=0";
      const bool after = f::coding_acceptable(refused, true, coding);
      if (after != (exact != prefs.end() && ok)) fail("an appended coding;q=0 was misread", v);
    }
  }
  const std::string padded = "\t " + std::string(v) + " \t";
  if (!same_codings(f::parse_accept_encoding(padded), prefs))
    fail("surrounding whitespace altered parse_accept_encoding", v);
}

// A client's decoder header can only move speeds within the config's plausible range.
void check_client_decoder(std::string_view v) {
  const bfast::client_speeds s = bfast::filter::client_speeds_of(v, bfast::client_speeds{});
  for (const double x : {s.decode_bytes_per_s, s.json_bytes_per_s, s.lz4_bytes_per_s,
                         s.gzip_bytes_per_s, s.zstd_bytes_per_s})
    if (!(x >= 1e3 && x <= 1e12)) fail("client_speeds_of left the plausible range", v);
}

}  // namespace

// The parser keeps no state that grows with the value, so what a longer one would reach an 8 KiB
// prefix reaches too; the cap keeps runs fast when the seeds are large JSON documents.
constexpr std::size_t max_value_bytes = 8192;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), std::min(size, max_value_bytes));
  check_accept(input);
  check_accept_encoding(input);
  check_client_decoder(input);

  // Two lists joined by a comma parse as the two lists one after the other, when the first has
  // no quoted string that could swallow the comma.
  const std::size_t cut = input.find('\n');
  if (cut != std::string_view::npos) {
    const std::string_view a = input.substr(0, cut);
    const std::string_view b = input.substr(cut + 1);
    if (a.find('"') == std::string_view::npos) {
      auto want = bfast::filter::parse_accept(a);
      const auto tail = bfast::filter::parse_accept(b);
      want.insert(want.end(), tail.begin(), tail.end());
      const std::string joined = std::string(a) + ", " + std::string(b);
      if (!same_ranges(bfast::filter::parse_accept(joined), want)) fail("a, b did not parse as a then b", input);
    }
  }
  return 0;
}
