// Hostile input for the decoder: every truncation, single-bit flips, inflated lengths and
// counts, and malformed tables. Each must be a clear error (or a well-formed result), never a
// crash; the sanitizer build runs this too.
#include <gtest/gtest.h>

#include <random>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "json_model.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

using bytes_t = std::vector<std::uint8_t>;

bytes_t as_bytes(const std::string& s) { return {s.begin(), s.end()}; }

// Messages that between them use every tag the decoder reads.
std::vector<bytes_t> sample_messages() {
  std::vector<bytes_t> out;
  for (const char* json :
       {R"({"a":[1,2.5,"s",null,true,false,8,-9,{"b":{}}],"c":"\u20ac","":[]})", "[]", "{}",
        "0", R"("x")", "123456789012345678901234567890", R"([[[[{"k":[1e400]}]]]])"}) {
    out.push_back(encode(json).bytes);
  }
  message_builder b;
  b.key("x").key("yy");
  b.u8(tag::array).u32(10);
  b.sized(tag::bytes, "\x01\x02\x03");
  b.u8(tag::float64_array).u32(2).f64(1.5).f64(2.5);
  b.sized(tag::datetime, "2024-01-02T03:04:05");
  b.sized(tag::date, "2024-01-02");
  b.sized(tag::time, "03:04:05");
  b.sized(tag::uuid, "0123456789abcdef0123456789abcdef");
  b.sized(tag::decimal, "12.50");
  b.u8(0x3C);
  b.u8(tag::object).u32(1).sized(tag::string, "v").u32(0).u8(tag::int64).i64(-5).u8(tag::object_end);
  b.u8(tag::float64).f64(0.25);
  out.push_back(b.build());
  for (const auto& p : files_in(shared_dir() / "conformance", ".bfast")) {
    if (fs::file_size(p) <= 2048) out.push_back(as_bytes(read_file(p)));
  }
  return out;
}

// Decoding, validating and inspecting must agree, and a success must be JSON text.
void expect_consistent(const bytes_t& m, const std::string& what) {
  std::string json;
  const decode_result d = decode_to_json(m, json);
  const decode_result v = validate_message(m);
  message_info info;
  const decode_result i = inspect_message(m, info);
  ASSERT_EQ(d.error, v.error) << what;
  ASSERT_EQ(d.error, i.error) << what;
  if (d.ok()) {
    EXPECT_TRUE(parse_json_model(json).has_value()) << what << ": " << json.substr(0, 200);
    EXPECT_LE(info.table_bytes + info.root_bytes + info.trailing_bytes, m.size()) << what;
  } else {
    EXPECT_TRUE(json.empty()) << what;
    EXPECT_EQ(d.offset, v.offset) << what;
    EXPECT_LE(d.offset, m.size()) << what;
  }
}

TEST(decoder_hardening, every_truncation_is_an_error) {
  for (const auto& m : sample_messages()) {
    ASSERT_TRUE(validate_message(m).ok());
    for (std::size_t n = 0; n < m.size(); ++n) {
      const bytes_t cut(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
      const decode_result r = validate_message(cut);
      ASSERT_FALSE(r.ok()) << "prefix " << n << " of " << m.size();
      if (n >= 2) {
        EXPECT_EQ(r.error, decode_error::truncated) << "prefix " << n << " of " << m.size();
      }
      expect_consistent(cut, "prefix " + std::to_string(n));
    }
  }
}

TEST(decoder_hardening, truncating_the_big_goldens_is_an_error) {
  std::mt19937 rng(7);
  for (const char* name : {"users_1000", "long_string_1mb", "keys_127_distinct", "deep_100"}) {
    const bytes_t m = as_bytes(read_file(shared_dir() / "conformance" / (std::string(name) + ".bfast")));
    for (int k = 0; k < 64; ++k) {
      const std::size_t n = std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng);
      const bytes_t cut(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(n));
      EXPECT_FALSE(validate_message(cut).ok()) << name << " prefix " << n;
    }
  }
}

TEST(decoder_hardening, single_bit_flips_never_crash_and_stay_consistent) {
  std::size_t flips = 0, still_ok = 0;
  for (const auto& original : sample_messages()) {
    if (original.size() > 600) continue;
    for (std::size_t byte = 0; byte < original.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        bytes_t m = original;
        m[byte] ^= static_cast<std::uint8_t>(1u << bit);
        expect_consistent(m, "flip byte " + std::to_string(byte) + " bit " + std::to_string(bit));
        if (validate_message(m).ok()) ++still_ok;
        ++flips;
      }
    }
  }
  EXPECT_GT(flips, 10000u);
  EXPECT_LT(still_ok, flips);
}

TEST(decoder_hardening, random_byte_damage_never_crashes) {
  std::mt19937 rng(1234);
  const auto messages = sample_messages();
  for (int round = 0; round < 20000; ++round) {
    bytes_t m = messages[static_cast<std::size_t>(round) % messages.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !m.empty(); ++e) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    expect_consistent(m, "round " + std::to_string(round));
  }
}

// Offsets of every u32 length or count in a well-formed message, found by an independent walk.
struct length_field {
  std::size_t offset;
  std::size_t unit;  // bytes per counted item: 1 for strings and arrays (at least), 8 for 0x90
};

std::size_t walk(const bytes_t& m, std::size_t p, std::vector<length_field>& fields) {
  const std::uint8_t t = m[p++];
  switch (t) {
    case tag::int64:
    case tag::float64: return p + 8;
    case tag::string:
    case tag::bytes:
    case tag::datetime:
    case tag::date:
    case tag::time:
    case tag::uuid:
    case tag::decimal:
      fields.push_back({p, 1});
      return p + 4 + load_u32(&m[p]);
    case tag::float64_array:
      fields.push_back({p, 8});
      return p + 4 + 8 * std::size_t{load_u32(&m[p])};
    case tag::array: {
      fields.push_back({p, 1});
      const std::uint32_t n = load_u32(&m[p]);
      p += 4;
      for (std::uint32_t i = 0; i < n; ++i) p = walk(m, p, fields);
      return p;
    }
    case tag::object:
      while (m[p] != tag::object_end) p = walk(m, p + 4, fields);
      return p + 1;
    default: return p;
  }
}

TEST(decoder_hardening, inflated_lengths_and_counts_are_truncation_errors) {
  std::size_t checked = 0;
  for (const auto& original : sample_messages()) {
    std::vector<length_field> fields;
    walk(original, root_offset(original), fields);
    for (const auto& f : fields) {
      const std::size_t remaining = original.size() - f.offset - 4;
      for (std::uint64_t value : {std::uint64_t{0xFFFFFFFF}, std::uint64_t{0x80000000},
                                  std::uint64_t{0x20000000}, remaining / f.unit + 1}) {
        if (value > 0xFFFFFFFF) continue;
        bytes_t m = original;
        store_u32(&m[f.offset], static_cast<std::uint32_t>(value));
        const decode_result r = validate_message(m);
        EXPECT_EQ(r.error, decode_error::truncated) << "field at " << f.offset << " = " << value;
        expect_consistent(m, "inflated field at " + std::to_string(f.offset));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 500u);
}

TEST(decoder_hardening, huge_counts_in_tiny_messages) {
  for (std::uint8_t t : {tag::array, tag::string, tag::bytes, tag::float64_array, tag::decimal,
                         tag::uuid, tag::datetime}) {
    message_builder b;
    b.u8(t).u32(0xFFFFFFFF).u8(tag::null_v);
    EXPECT_EQ(validate_message(b.build()).error, decode_error::truncated) << int{t};
  }
  // 0x90 with a count whose byte size overflows 32 bits.
  message_builder f;
  f.u8(tag::float64_array).u32(0x20000001).f64(1.0);
  EXPECT_EQ(validate_message(f.build()).error, decode_error::truncated);
}

TEST(decoder_hardening, header_errors) {
  EXPECT_EQ(validate_message(bytes_t{}).error, decode_error::bad_magic);
  EXPECT_EQ(validate_message(bytes_t{'B'}).error, decode_error::bad_magic);
  EXPECT_EQ(validate_message(as_bytes("XF\0\1\0\0\x10")).error, decode_error::bad_magic);
  EXPECT_EQ(validate_message(bytes_t{'B', 'F', 0, 2, 0, 0, 0x10}).error, decode_error::bad_version);
  EXPECT_EQ(validate_message(bytes_t{'B', 'F', 0, 1, 0}).error, decode_error::truncated);
  EXPECT_EQ(validate_message(bytes_t{'B', 'F', 0, 1, 0, 0}).error, decode_error::truncated);
  // A table count larger than the bytes that follow.
  EXPECT_EQ(validate_message(bytes_t{'B', 'F', 0, 1, 0xFF, 0xFF, 1, 'a', 0x10}).error,
            decode_error::truncated);
  // An entry longer than what remains.
  EXPECT_EQ(validate_message(bytes_t{'B', 'F', 0, 1, 1, 0, 200, 'a', 0x10}).error,
            decode_error::truncated);
  EXPECT_TRUE(validate_message(bytes_t{'B', 'F', 0, 1, 0, 0, 0x10}).ok());
}

TEST(decoder_hardening, bad_tags) {
  for (int t = 0; t < 256; ++t) {
    const bool known = t == 0x10 || t == 0x20 || t == 0x21 || (t >= 0x30 && t <= 0x3F) ||
                       t == 0x40 || t == 0x50 || t == 0x60 || t == 0x70 || t == 0x80 ||
                       t == 0x90 || (t >= 0xD1 && t <= 0xD5);
    if (known) continue;
    const auto m = message_builder().u8(static_cast<std::uint8_t>(t)).raw(std::string(16, '\0')).build();
    const decode_result r = validate_message(m);
    EXPECT_EQ(r.error, decode_error::bad_tag) << t;
    EXPECT_EQ(r.offset, header_size) << t;
  }
}

TEST(decoder_hardening, key_index_beyond_the_table) {
  message_builder b;
  b.key("a").u8(tag::object).u32(1).u8(tag::null_v).u8(tag::object_end);
  const decode_result r = validate_message(b.build());
  EXPECT_EQ(r.error, decode_error::bad_key_index);
  message_builder none;
  none.u8(tag::object).u32(0).u8(tag::null_v).u8(tag::object_end);
  EXPECT_EQ(validate_message(none.build()).error, decode_error::bad_key_index);
  message_builder huge;
  huge.key("a").u8(tag::object).u32(0xFFFFFFFF).u8(tag::null_v).u8(tag::object_end);
  EXPECT_EQ(validate_message(huge.build()).error, decode_error::bad_key_index);
}

TEST(decoder_hardening, invalid_utf8_is_refused_in_strings_and_keys) {
  for (std::string_view bad : {std::string_view("\xC3"), std::string_view("\xFF"),
                               std::string_view("\xED\xA0\x80"),  // encoded surrogate
                               std::string_view("\xC0\xAF"), std::string_view("a\x80")}) {
    EXPECT_EQ(validate_message(message_builder().sized(tag::string, bad).build()).error,
              decode_error::invalid_utf8);
    EXPECT_EQ(validate_message(message_builder().key(bad).u8(tag::null_v).build()).error,
              decode_error::invalid_utf8);
  }
  // Bytes (0x80) are raw and need not be UTF-8.
  EXPECT_TRUE(validate_message(message_builder().sized(tag::bytes, "\xFF\xC3").build()).ok());
}

TEST(decoder_hardening, object_without_end_byte) {
  message_builder b;
  b.key("a").u8(tag::object).u32(0).u8(tag::null_v);
  EXPECT_EQ(validate_message(b.build()).error, decode_error::truncated);
}

}  // namespace
}  // namespace bfast::test
