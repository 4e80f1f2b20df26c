// A root array transcoded in parts at once must give the one-thread transcoder's answer exactly:
// the same bytes, or the same error with the same offset and detail. Tiny part sizes cut small
// documents at nearly every element boundary, and adversarial texts put "},{" where a cut breaks.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "bfast/compress_arena.hpp"
#include "bfast/format.hpp"
#include "bfast/transcoder.hpp"
#include "json_generator.hpp"
#include "test_support.hpp"

namespace bfast::test {
namespace {

compress_arena& arena() {
  static compress_arena a(4);
  return a;
}

struct outcome {
  transcode_result result;
  std::string bytes;
  transcode_stats stats;
};

outcome run(transcoder& t, const std::string& json, bool padded) {
  outcome o;
  byte_buffer out;
  if (padded) {
    byte_buffer input;
    input.append(json);
    o.result = t.transcode(padded_view::of(input), out);
  } else {
    o.result = t.transcode(json, out);
  }
  o.bytes = std::string(out.view());
  o.stats = t.last_stats();
  return o;
}

transcode_parallelism in_parts(int threads, std::size_t part_bytes) {
  transcode_parallelism p;
  p.arena = &arena();
  p.threads = threads;
  p.min_bytes = 0;
  p.part_bytes = part_bytes;
  return p;
}

// Transcodes `json` whole and in parts with every thread count and part size given; returns the
// most parts any run used, so a caller can check that the text was cut at all.
std::size_t expect_same_in_parts(const std::string& json, const std::vector<std::size_t>& part_sizes,
                                 const transcode_options& options = {}) {
  transcoder whole(options);
  transcoder parts(options);
  const outcome want = run(whole, json, false);
  EXPECT_EQ(want.stats.parts, 1u);
  std::size_t most = 0;
  for (int threads = 1; threads <= 4; ++threads) {
    for (const std::size_t part_bytes : part_sizes) {
      if (threads == 1 && part_bytes == 0) continue;  // one part: nothing new
      parts.set_parallelism(in_parts(threads, part_bytes));
      for (const bool padded : {false, true}) {
        const outcome got = run(parts, json, padded);
        SCOPED_TRACE("threads " + std::to_string(threads) + " part_bytes " +
                     std::to_string(part_bytes) + (padded ? " padded" : ""));
        EXPECT_EQ(got.result.error, want.result.error) << reason_token(got.result.error);
        EXPECT_EQ(got.result.offset, want.result.offset);
        EXPECT_EQ(got.result.detail, want.result.detail);
        EXPECT_TRUE(got.bytes == want.bytes) << "the message differs from the one-thread one";
        EXPECT_EQ(got.stats.bfast_bytes, want.stats.bfast_bytes);
        EXPECT_EQ(got.stats.table_entries, want.stats.table_entries);
        EXPECT_EQ(got.stats.table_bytes, want.stats.table_bytes);
        EXPECT_EQ(got.stats.json_bytes, json.size());
        if (!got.result.ok()) {
          EXPECT_EQ(got.stats.parts, 1u);
        }
        most = std::max(most, got.stats.parts);
      }
    }
  }
  return most;
}

const std::vector<std::size_t> tiny_parts{0, 1, 5, 32, 200};

TEST(parallel_transcode, corpus_documents_give_the_same_bytes) {
  std::vector<fs::path> documents = corpus_documents();
  // The refused JSONTestSuite texts too: the same error, offset and detail.
  for (const auto& p : files_in(shared_dir() / "corpus" / "jsontestsuite", ".json")) {
    const std::string name = p.filename().string();
    if (name.rfind("y_", 0) != 0 && name.rfind("i_number_", 0) != 0) documents.push_back(p);
  }
  std::set<std::string> cut;
  for (const fs::path& p : documents) {
    SCOPED_TRACE(p.string());
    const std::string json = read_file(p);
    if (expect_same_in_parts(json, {0, 1, 64, 4096, 65536}) > 1) cut.insert(p.stem().string());
    // Packed floats apply below the root, whichever part holds them.
    if (json.size() > 100'000) expect_same_in_parts(json, {0, 4096}, transcode_options{true, 2});
  }
  // The documents whose root is an array of objects are cut.
  for (const char* name : {"github_events", "users_1000", "keys_reused"})
    EXPECT_EQ(cut.count(name), 1u) << name;
}

TEST(parallel_transcode, generated_documents_as_elements_give_the_same_answer) {
  json_generator gen(20261129);
  std::size_t cut = 0;
  std::size_t refused = 0;
  for (int i = 0; i < 150; ++i) {
    // Object elements (so there are cuts), one or two holding a generated value, which may be
    // unrepresentable, need the slow path or be a bare value.
    std::string json = i % 3 == 0 ? " [\n" : "[";
    const int n = 2 + i % 9;
    for (int k = 0; k < n; ++k) {
      if (k > 0) json += k % 2 ? "," : " ,\r\n\t";
      if (k == i % n || (i % 5 == 0 && k == 0)) {
        const generated_document d = gen.document();
        json += k % 4 == 3 ? d.text : "{\"v\":" + d.text + ",\"i\":" + std::to_string(k) + "}";
      } else {
        json += "{\"v\":" + std::to_string(k) + ",\"s\":\"},{\\\"v\\\":\"}";
      }
    }
    json += i % 3 == 0 ? "]\n" : "]";
    SCOPED_TRACE(json.substr(0, 300));
    transcoder whole;
    if (!run(whole, json, false).result.ok()) ++refused;
    if (expect_same_in_parts(json, tiny_parts) > 1) ++cut;
  }
  EXPECT_GT(cut, 30u);
  EXPECT_GT(refused, 10u);
}

// Objects each adding keys of their own, so that later parts meet keys in another order than their
// own tables and the message's table passes 0x7F, 0x17F, 0x27F (fillers) across part boundaries.
std::string many_keys(int objects, int keys_each, int shared_every, bool empty_key = true) {
  std::string json = "[";
  for (int i = 0; i < objects; ++i) {
    if (i > 0) json += ",";
    json += "{\"id\":" + std::to_string(i);
    for (int k = 0; k < keys_each; ++k) {
      json += ",";
      const int key = (i % shared_every == 0) ? k : i * keys_each + k;
      json += "\"k" + std::to_string(key) + "\":" + std::to_string(i + k);
    }
    if (empty_key) json += ",\"\":" + std::to_string(i);
    json += "}";
  }
  return json + "]";
}

TEST(parallel_transcode, keys_past_the_filler_indices_are_remapped) {
  const std::string json = many_keys(400, 3, 7);
  transcoder whole;
  const outcome want = run(whole, json, false);
  ASSERT_TRUE(want.result.ok());
  ASSERT_GT(want.stats.table_entries, 0x27Fu);
  EXPECT_GT(expect_same_in_parts(json, {0, 1, 50, 700, 3000}), 100u);
  // Without a real "" key, a filler taken for one would add an entry.
  EXPECT_GT(expect_same_in_parts(many_keys(300, 2, 5, false), {0, 1, 50, 700}), 100u);
}

TEST(parallel_transcode, too_many_keys_only_once_the_parts_are_merged) {
  // Each part stays below 65,535 keys; together they pass it.
  const std::string json = many_keys(40'000, 2, 1'000'000);
  transcoder whole;
  ASSERT_EQ(run(whole, json, false).result.error, transcode_error::too_many_keys);
  expect_same_in_parts(json, {0, json.size() / 3});
}

// Every part size on short texts (so every boundary is cut somewhere), a sample on long ones.
std::size_t expect_same_at_every_cut(const std::string& json) {
  std::vector<std::size_t> sizes{0};
  const std::size_t step = json.size() > 300 ? json.size() / 40 : 1;
  for (std::size_t s = 1; s <= json.size(); s += step) sizes.push_back(s);
  return expect_same_in_parts(json, sizes);
}

TEST(parallel_transcode, valid_texts_cut_wherever_a_cut_is_sound) {
  const std::vector<std::string> texts = {
      R"([{"a":"x},{\"a\":1},{"},{"a":"},{\"a\""},{"a":"\\"},{"a":"\\\"},{\"a\":2}"}])",
      "[{\"a\":1} , {\"a\":2}\t,\n{\"a\":3},{ \"a\":4},\r\n{\"a\":5}]",
      "  [ {\"a\":1},{\"a\":2} ]  \n",
      R"([{"a":[]},{"a":{}},{"a":[[],[{}]]},{"a":[{"a":[{"a":[]}]}]}])",
      R"([{},{},{},{"a":1},{}])",
      R"([1,{"a":1},"x",{"a":2},null,{"a":3},2.5,{"a":true},{"a":4}])",
  };
  for (const std::string& json : texts) {
    SCOPED_TRACE(json.substr(0, 200));
    EXPECT_GT(expect_same_at_every_cut(json), 1u) << "the text must be cut somewhere";
  }
}

TEST(parallel_transcode, cuts_that_land_in_strings_or_nested_values) {
  const std::vector<std::string> texts = {
      R"([{"s":"\\"},{"t":"\\\"},{\"u\":2}"},{"v":"},{"}])",
      R"([[{"a":1},{"b":2}],[{"c":3},{"a":4}],{"d":[{"e":5},{"f":6}]},{"g":{"h":{"i":7}}}])",
      R"({"a":[{"a":1},{"a":2}],"b":{"a":3}})",
      // Only nested objects start like the first element near some targets: those cuts fail.
      R"([{"a":[{"a":1},{"a":2},{"a":3}]},{"a":{"b":[{"a":4},{"a":5}]}},{"a":6}])",
      R"([{"":"},{"},{"":""},{"":[{"":1},{"":2}]}])",
      R"("},{\"a\":1},{")",
      "[]", "[ ]", "[{}]", "{}", "42", "",
      // Invalid around and between the parts.
      R"([{"a":"x},{"a":1},{"},{"a":"},{"a""}])",
      R"([{"a":1},{"a":2}] x)", R"([{"a":1},{"a":2}]])", R"([{"a":1},{"a":2},])",
      R"([,{"a":1},{"a":2}])", R"([{"a":1},,{"a":2}])", R"([{"a":1},{"a":2})",
      R"({"a":1},{"a":2}])", R"([{"a":1},{"a":2}]{)", R"([{"a":1}{"a":2},{"a":3}])",
      R"([{"a":1},{"a":2 ,{"a":3}])", R"([{"a":[{"a":1},{"a":2}],{"a":3}])",
      "[{\"a\":1},\x0c{\"a\":2}]", "[{\"a\":\"\xff\"},{\"a\":2}]", "\xef\xbb\xbf[{\"a\":1},{\"a\":2}]",
      // Valid but not representable, or only on the slow path, in one part.
      R"([{"a":1},{"a":123456789012345678901234567890},{"a":3}])",
      R"([{"a":1},{"a":1e400},{"a":3}])",
      R"([{"a":1},{"a":2,"__proto__":2},{"a":3}])",
      R"([{"a":1},{"a":"\ud800"},{"a":3}])",
      "[{\"a\":1},{\"a\":2,\"" + std::string(256, 'k') + "\":2},{\"a\":3}]",
      "[{\"a\":1},{\"a\":" + std::string(130, '[') + std::string(130, ']') + "},{\"a\":3}]",
      "[{\"a\":1},{\"a\":" + std::string(1100, '[') + std::string(1100, ']') + "},{\"a\":3}]",
  };
  for (const std::string& json : texts) {
    SCOPED_TRACE(json.substr(0, 200));
    expect_same_at_every_cut(json);
  }
}

TEST(parallel_transcode, float_arrays_below_the_root_are_packed_alike) {
  std::string json = "[";
  for (int i = 0; i < 200; ++i) {
    if (i > 0) json += ",";
    json += "{\"p\":[1.5,2.5,3.5],\"q\":[1.0],\"n\":" + std::to_string(i) + ".25}";
  }
  json += "]";
  EXPECT_GT(expect_same_in_parts(json, {0, 1, 64, 999}, transcode_options{true, 2}), 1u);
  EXPECT_GT(expect_same_in_parts(json, {0, 1, 64, 999}, transcode_options{true, 0}), 1u);
}

TEST(parallel_transcode, minus_zero_and_a_leading_u_feff_in_any_part_are_refused_alike) {
  std::string elements;
  for (int i = 0; i < 300; ++i) elements += "{\"n\":0,\"d\":\"2024-01-05\",\"s\":\"x:-0 \"},";
  for (const char* poison : {"{\"n\":-0}", "{\"\\ufeffn\":1}", "[\"\\uFEFF\"]"}) {
    const std::string json = "[" + elements + poison + "," + elements + "{}]";
    SCOPED_TRACE(poison);
    transcoder whole;
    const transcode_error want = std::string_view(poison).find("-0") != std::string_view::npos
                                     ? transcode_error::negative_zero
                                     : transcode_error::leading_bom;
    EXPECT_EQ(run(whole, json, false).result.error, want);
    expect_same_in_parts(json, {0, 64, 999});
  }
  // "-0" only inside strings is no token: the text is still cut, to the same bytes.
  EXPECT_GT(expect_same_in_parts("[" + elements + "{}]", {0, 64, 999}), 1u);
  // Zeros and dates ("-0" after a digit is no token) are still cut.
  std::string dates;
  for (int i = 0; i < 300; ++i) dates += "{\"n\":0,\"d\":\"2024-01-05\"},";
  EXPECT_GT(expect_same_in_parts("[" + dates + "{}]", {0, 64, 999}), 1u);
}

TEST(parallel_transcode, below_min_bytes_or_one_thread_the_text_is_whole) {
  const std::string json = many_keys(100, 2, 3);
  transcoder t;
  transcode_parallelism p = in_parts(2, 0);
  p.min_bytes = json.size() + 1;
  t.set_parallelism(p);
  EXPECT_EQ(run(t, json, false).stats.parts, 1u);
  p.min_bytes = json.size();
  t.set_parallelism(p);
  EXPECT_EQ(run(t, json, false).stats.parts, 2u);
  p.threads = 1;
  t.set_parallelism(p);
  EXPECT_EQ(run(t, json, false).stats.parts, 1u);
  // Without an arena the parts run one after another on the caller.
  p.arena = nullptr;
  p.part_bytes = 100;
  t.set_parallelism(p);
  EXPECT_GT(run(t, json, false).stats.parts, 10u);
}

TEST(parallel_transcode, scratch_is_counted_and_freed) {
  const std::string json = many_keys(2000, 4, 5);
  transcoder t;
  t.set_parallelism(in_parts(3, 0));
  const std::size_t before = t.scratch_bytes();
  ASSERT_EQ(run(t, json, false).stats.parts, 3u);
  EXPECT_GT(t.scratch_bytes(), before + json.size());
  t.shrink_scratch(0);
  EXPECT_LE(t.scratch_bytes(), before);
  EXPECT_EQ(run(t, json, false).stats.parts, 3u);
}

}  // namespace
}  // namespace bfast::test
