#include "test_support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "bfast/decoder.hpp"
#include "bfast/format.hpp"
#include "bfast/transcoder.hpp"

namespace bfast::test {

fs::path shared_dir() {
  if (const char* env = std::getenv("BFAST_SHARED"); env != nullptr && *env != '\0') return env;
  return BFAST_SHARED_DIR;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void write_file(const fs::path& p, std::span<const std::uint8_t> bytes) {
  write_file(p, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::vector<fs::path> files_in(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> corpus_documents() {
  const fs::path corpus = shared_dir() / "corpus";
  std::vector<fs::path> all = files_in(corpus / "realworld", ".json");
  for (const auto& p : files_in(corpus / "semantic", ".json")) all.push_back(p);
  for (const auto& p : files_in(corpus / "jsontestsuite", ".json")) {
    const std::string name = p.filename().string();
    if (name.rfind("y_", 0) == 0 || name.rfind("i_number_", 0) == 0) all.push_back(p);
  }
  for (const auto& p : files_in(shared_dir() / "conformance", ".json")) all.push_back(p);
  return all;
}

transcode_error expected_outcome(const fs::path& document) {
  const std::string stem = document.stem().string();
  // The integer -0, in the conformance set (whose reference bytes carry it as 0) and the suite.
  if (stem == "scalar_neg_zero_int" || stem == "y_number_minus_zero" ||
      stem == "y_number_negative_zero")
    return transcode_error::negative_zero;
  if (document.parent_path().filename() != "semantic") return transcode_error::ok;
  if (stem == "deep_200") return transcode_error::too_deep;
  if (stem == "key_256_bytes" || stem == "key_300_bytes_utf8") return transcode_error::key_too_long;
  if (stem == "keys_70000_distinct") return transcode_error::too_many_keys;
  if (stem == "lone_surrogate") return transcode_error::lone_surrogate;
  return transcode_error::ok;
}

namespace {
struct scratch_holder {
  fs::path dir;
  scratch_holder() {
    std::string templ = (fs::temp_directory_path() / "bfast-core-tests-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = templ;
  }
  ~scratch_holder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};
}  // namespace

const fs::path& scratch_dir() {
  static scratch_holder holder;
  return holder.dir;
}

std::string test_name(std::string_view stem) {
  std::string s;
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : stem) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '_') {
      s += c;
    } else {  // "n_number_+1" and "n_number_-1" must stay apart
      s += '_';
      s += hex[u >> 4];
      s += hex[u & 15];
    }
  }
  return s;
}

std::string corpus_test_name(const fs::path& document) {
  return test_name(document.parent_path().filename().string() + "_" + document.stem().string());
}

command_result run_command(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe(fds) != 0) return {};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(fds[1]);
  command_result r;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      r.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

namespace {
oracle_verdict verdict(const command_result& r) {
  oracle_verdict v;
  v.message = r.output;
  while (!v.message.empty() && (v.message.back() == '\n' || v.message.back() == '\r'))
    v.message.pop_back();
  v.ran_ok = r.exit_code == 0 && v.message == "ok";
  v.skipped = r.exit_code == 3 && v.message.starts_with("skip:");
  if (!v.ran_ok) v.message += " (exit " + std::to_string(r.exit_code) + ")";
  return v;
}
}  // namespace

oracle_verdict check_python(const fs::path& json, const fs::path& bfast) {
  return verdict(run_command({BFAST_PYTHON, BFAST_ORACLE_DIR "/check_limits.py", json.string(),
                              bfast.string()}));
}

oracle_verdict check_node(const fs::path& json, const fs::path& bfast) {
  return verdict(run_command({BFAST_NODE, BFAST_ORACLE_DIR "/check_strict.js", json.string(),
                              bfast.string()}));
}

::testing::AssertionResult oracles_accept(std::string_view json,
                                          std::span<const std::uint8_t> bfast,
                                          std::string_view name, bool python_only) {
  const fs::path j = scratch_dir() / (std::string(name) + ".json");
  const fs::path b = scratch_dir() / (std::string(name) + ".bfast");
  write_file(j, json);
  write_file(b, bfast);
  const oracle_verdict py = check_python(j, b);
  if (py.skipped) {
    ::testing::Test::RecordProperty("python_oracle_skipped", py.message);
  } else if (!py.ran_ok) {
    return ::testing::AssertionFailure() << "check.py: " << py.message;
  }
  if (!python_only) {
    const oracle_verdict js = check_node(j, b);
    if (!js.ran_ok) return ::testing::AssertionFailure() << "check_strict.js: " << js.message;
  }
  return ::testing::AssertionSuccess();
}

encoded encode(std::string_view json, bool pack_floats, std::size_t pack_min) {
  transcode_options opt;
  opt.pack_float_arrays = pack_floats;
  opt.pack_float_min = pack_min;
  transcoder t(opt);
  byte_buffer out;
  encoded e;
  e.result = t.transcode(json, out);
  e.bytes.assign(out.data(), out.data() + out.size());
  return e;
}

decoded decode(std::span<const std::uint8_t> message) {
  decoded d;
  d.result = decode_to_json(message, d.json);
  return d;
}

message_builder& message_builder::key(std::string_view k) {
  keys_.emplace_back(k);
  return *this;
}
message_builder& message_builder::u8(std::uint8_t b) {
  body_.push_back(b);
  return *this;
}
message_builder& message_builder::u32(std::uint32_t v) {
  for (int i = 0; i < 4; ++i) body_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  return *this;
}
message_builder& message_builder::i64(std::int64_t v) {
  std::uint8_t b[8];
  std::memcpy(b, &v, 8);
  body_.insert(body_.end(), b, b + 8);
  return *this;
}
message_builder& message_builder::f64(double d) {
  std::uint8_t b[8];
  std::memcpy(b, &d, 8);
  body_.insert(body_.end(), b, b + 8);
  return *this;
}
message_builder& message_builder::raw(std::string_view s) {
  body_.insert(body_.end(), s.begin(), s.end());
  return *this;
}
message_builder& message_builder::sized(std::uint8_t tag, std::string_view payload) {
  u8(tag);
  u32(static_cast<std::uint32_t>(payload.size()));
  return raw(payload);
}

std::vector<std::uint8_t> message_builder::build() const {
  std::vector<std::uint8_t> m = {magic_0, magic_1, 0, version,
                                 static_cast<std::uint8_t>(keys_.size()),
                                 static_cast<std::uint8_t>(keys_.size() >> 8)};
  for (const auto& k : keys_) {
    m.push_back(static_cast<std::uint8_t>(k.size()));
    m.insert(m.end(), k.begin(), k.end());
  }
  m.insert(m.end(), body_.begin(), body_.end());
  return m;
}

std::size_t root_offset(std::span<const std::uint8_t> m) {
  const std::size_t n = static_cast<std::size_t>(m[4]) | (static_cast<std::size_t>(m[5]) << 8);
  std::size_t p = header_size;
  for (std::size_t i = 0; i < n; ++i) p += 1 + m[p];
  return p;
}

std::vector<std::string> key_table_of(std::span<const std::uint8_t> m) {
  const std::size_t n = static_cast<std::size_t>(m[4]) | (static_cast<std::size_t>(m[5]) << 8);
  std::vector<std::string> keys;
  std::size_t p = header_size;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = m[p];
    keys.emplace_back(reinterpret_cast<const char*>(m.data() + p + 1), len);
    p += 1 + len;
  }
  return keys;
}

}  // namespace bfast::test
