// libFuzzer target for the transcoder. Any input may be refused, but never crash; an input that
// is encoded must be a valid message that decodes back to what simdjson parsed from the input
// (and to what an independent reader makes of it), and encoding the decoded text again must
// give the same bytes.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"
#include "json_model.hpp"

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_transcode: %s\n", what);
  std::abort();
}

// Structural equality of two DOM values; numbers by type and bit pattern, pairs in order.
bool same(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case element_type::ARRAY: {
      auto x = a.get_array().value_unsafe();
      auto y = b.get_array().value_unsafe();
      auto i = x.begin();
      auto j = y.begin();
      for (; i != x.end() && j != y.end(); ++i, ++j)
        if (!same(*i, *j)) return false;
      return i == x.end() && j == y.end();
    }
    case element_type::OBJECT: {
      auto x = a.get_object().value_unsafe();
      auto y = b.get_object().value_unsafe();
      auto i = x.begin();
      auto j = y.begin();
      for (; i != x.end() && j != y.end(); ++i, ++j)
        if (i.key() != j.key() || !same(i.value(), j.value())) return false;
      return i == x.end() && j == y.end();
    }
    case element_type::INT64: return a.get_int64().value_unsafe() == b.get_int64().value_unsafe();
    case element_type::UINT64: return a.get_uint64().value_unsafe() == b.get_uint64().value_unsafe();
    case element_type::DOUBLE: {
      const double x = a.get_double().value_unsafe();
      const double y = b.get_double().value_unsafe();
      return std::memcmp(&x, &y, sizeof x) == 0;
    }
    case element_type::STRING: return a.get_string().value_unsafe() == b.get_string().value_unsafe();
    case element_type::BOOL: return a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    case element_type::NULL_VALUE: return true;
  }
  return false;
}

// What a JSON text holds that no B-FAST bytes carry to both deployed decoders exactly, found by a
// plain scan of the text (valid JSON only): a string or key starting with U+FEFF, raw or escaped,
// and the integer token -0.
struct poisons {
  bool leading_bom = false;
  bool negative_zero = false;
};

poisons scan_poisons(std::string_view t) {
  poisons p;
  const auto ci = [](std::string_view s, std::string_view lower) {
    if (s.size() < lower.size()) return false;
    for (std::size_t i = 0; i < lower.size(); ++i) {
      const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] + 32) : s[i];
      if (c != lower[i]) return false;
    }
    return true;
  };
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '"') {
      const std::string_view rest = t.substr(i + 1);
      if (rest.starts_with("\xEF\xBB\xBF") || ci(rest, "\\ufeff")) p.leading_bom = true;
      for (++i; i < t.size() && t[i] != '"'; ++i)
        if (t[i] == '\\') ++i;
    } else if (t[i] == '-' && i + 1 < t.size() && t[i + 1] == '0' &&
               (i == 0 || std::string_view("[,: \t\n\r").find(t[i - 1]) != std::string_view::npos)) {
      // A '-' that starts a number (not an exponent's sign).
      const char next = i + 2 < t.size() ? t[i + 2] : ' ';
      if (!(next >= '0' && next <= '9') && next != '.' && next != 'e' && next != 'E')
        p.negative_zero = true;
    }
  }
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The length picks the options, so packed float arrays get fuzzed without spending a byte
  // of the JSON seeds on it.
  bfast::transcode_options options;
  options.pack_float_arrays = (size & 1) != 0;
  options.pack_float_min = (size >> 1) & 7;
  const std::string_view json(reinterpret_cast<const char*>(data), size);

  static bfast::transcoder transcoder;
  static bfast::byte_buffer out;
  static bfast::byte_buffer again;
  static std::string decoded;
  static simdjson::dom::parser original_parser;
  static simdjson::dom::parser decoded_parser;

  transcoder.set_options(options);
  const bfast::transcode_result r = transcoder.transcode(json, out);
  // Only JSON is called not representable, so the scan applies to these refusals and to success.
  if (r.ok() || r.error == bfast::transcode_error::leading_bom ||
      r.error == bfast::transcode_error::negative_zero) {
    const poisons p = scan_poisons(json);
    if (r.ok() && (p.leading_bom || p.negative_zero)) fail("encoded a U+FEFF prefix or -0");
    if (r.error == bfast::transcode_error::leading_bom && !p.leading_bom) fail("leading_bom without one");
    if (r.error == bfast::transcode_error::negative_zero && !p.negative_zero) fail("negative_zero without one");
  }
  if (!r.ok()) {
    if (!out.empty()) fail("refused input left bytes in the output");
    if (r.offset > json.size()) fail("error offset beyond the input");
    return 0;
  }
  if (!bfast::validate_message(out.span()).ok()) fail("encoded message does not validate");
  if (!bfast::decode_to_json(out.span(), decoded).ok()) fail("encoded message does not decode");

  simdjson::dom::element want;
  if (original_parser.parse(json.data(), json.size()).get(want) == simdjson::SUCCESS) {
    simdjson::dom::element got;
    if (decoded_parser.parse(decoded).get(got) != simdjson::SUCCESS) fail("decoded text does not parse");
    if (!same(want, got)) fail("decoded value differs from the parsed input");
  }
  // The DOM refuses some numbers (beyond 64 bits, 1e400): an independent reader checks those
  // documents too, with json.loads semantics.
  const auto model_want = bfast::test::parse_json_model(json);
  const auto model_got = bfast::test::parse_json_model(decoded);
  if (!model_got) fail("decoded text is not JSON to the model reader");
  if (model_want && !bfast::test::json_difference(*model_want, *model_got).empty())
    fail("decoded value differs from the input (model reader)");
  // The decoded text must carry everything the message did.
  if (!transcoder.transcode(decoded, again).ok()) fail("decoded text does not encode again");
  if (again.view() != out.view()) fail("re-encoding the decoded text changed the bytes");
  return 0;
}
