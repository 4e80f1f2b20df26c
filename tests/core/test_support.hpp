// Shared helpers for the core tests: the shared reference data, files, the oracle decoders
// (Python and TypeScript) run as child processes, and a builder for hand-made B-FAST messages.
#pragma once
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "bfast/byte_buffer.hpp"
#include "bfast/status.hpp"

namespace bfast::test {

namespace fs = std::filesystem;

// ../shared beside the project root (BFAST_SHARED in the environment overrides).
[[nodiscard]] fs::path shared_dir();

[[nodiscard]] std::string read_file(const fs::path& p);
void write_file(const fs::path& p, std::string_view bytes);
void write_file(const fs::path& p, std::span<const std::uint8_t> bytes);

// Files directly in `dir` whose name ends with `suffix`, sorted by name.
[[nodiscard]] std::vector<fs::path> files_in(const fs::path& dir, std::string_view suffix);

// Every document of the shared corpus that a JSON parser accepts (JSONTestSuite: y_ and the i_
// numbers), plus the conformance documents, sorted.
[[nodiscard]] std::vector<fs::path> corpus_documents();

// The reason a corpus document must be refused with, or transcode_error::ok if it must be encoded.
[[nodiscard]] transcode_error expected_outcome(const fs::path& document);

// A GoogleTest parameter name for a corpus document: its folder and its stem.
[[nodiscard]] std::string corpus_test_name(const fs::path& document);

// A directory of this process's own for scratch files, removed at exit.
[[nodiscard]] const fs::path& scratch_dir();

// A name usable as a GoogleTest parameter name: letters, digits and '_' only.
[[nodiscard]] std::string test_name(std::string_view file_stem);

struct command_result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
[[nodiscard]] command_result run_command(const std::vector<std::string>& argv);

// Runs the deployed decoders on a JSON file and a B-FAST file: Python through
// tests/oracles/check_limits.py (check.py, or "skip" where json.loads cannot parse the JSON) and
// TypeScript through tests/oracles/check_strict.js (Object.is numbers, keys in order).
struct oracle_verdict {
  bool ran_ok = false;
  bool skipped = false;  // the JSON parser's limit: neither a pass nor a failure
  std::string message;
};
[[nodiscard]] oracle_verdict check_python(const fs::path& json, const fs::path& bfast);
[[nodiscard]] oracle_verdict check_node(const fs::path& json, const fs::path& bfast);

// Writes both to the scratch directory under `name` and asks both oracles; success only when
// each said "ok" (a Python "skip" is recorded as the test's property python_oracle_skipped). `python_only` is for messages the TypeScript client reads differently by design.
[[nodiscard]] ::testing::AssertionResult oracles_accept(std::string_view json,
                                                        std::span<const std::uint8_t> bfast,
                                                        std::string_view name,
                                                        bool python_only = false);

// Encodes with a fresh transcoder, as a std::vector for easy comparison.
struct encoded {
  transcode_result result;
  std::vector<std::uint8_t> bytes;
};
[[nodiscard]] encoded encode(std::string_view json, bool pack_floats = false,
                             std::size_t pack_min = 8);

// Decodes to JSON text; the error code is checked by the caller.
struct decoded {
  decode_result result;
  std::string json;
};
[[nodiscard]] decoded decode(std::span<const std::uint8_t> message);

// Hand-made messages: a key table and a body written byte by byte.
class message_builder {
 public:
  message_builder& key(std::string_view k);
  message_builder& u8(std::uint8_t b);
  message_builder& u32(std::uint32_t v);
  message_builder& i64(std::int64_t v);
  message_builder& f64(double d);
  message_builder& raw(std::string_view s);
  message_builder& sized(std::uint8_t tag, std::string_view payload);  // tag, u32 length, bytes
  [[nodiscard]] std::vector<std::uint8_t> build() const;

 private:
  std::vector<std::string> keys_;
  std::vector<std::uint8_t> body_;
};

// Where the table ends and the root value begins in a well-formed uncompressed message.
[[nodiscard]] std::size_t root_offset(std::span<const std::uint8_t> message);

// The key table of a well-formed uncompressed message.
[[nodiscard]] std::vector<std::string> key_table_of(std::span<const std::uint8_t> message);

}  // namespace bfast::test
