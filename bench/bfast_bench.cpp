// bfast-bench: for every document of the real-world corpus, in one run, the throughput of
//   - simdjson DOM parse plus a walk that visits every value (the baseline),
//   - our transcode (JSON -> B-FAST), warm: one transcoder and one output buffer reused,
//   - our decode (B-FAST -> JSON), into one reused string,
//   - nlohmann/json parse,
// then a Markdown table of medians with the ratio transcode / (simdjson parse+walk) per file and
// its geometric mean. All rates count the bytes of the JSON document, so the columns compare
// directly. A benchmark, not a test: nothing here passes or fails on time.
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bfast/byte_buffer.hpp"
#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"

namespace {

namespace fs = std::filesystem;

struct document {
  std::string name;
  bfast::byte_buffer buffer;  // the JSON, followed by zeroed padding (not counted in size)
  bfast::padded_view text;    // the JSON in `buffer`
  std::size_t size = 0;
  bfast::byte_buffer message;  // the transcoded bytes, input of the decode benchmark
  std::string transcode_failure;

  [[nodiscard]] std::string_view json() const { return text.text(); }
};

fs::path corpus_dir() {
  const char* env = std::getenv("BFAST_SHARED_DIR");
  const fs::path shared = (env && *env) ? fs::path(env) : fs::path(BFAST_SHARED_DIR);
  return shared / "corpus" / "realworld";
}

bool load_corpus(std::vector<document>& docs) {
  const fs::path dir = corpus_dir();
  std::error_code ec;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") paths.push_back(entry.path());
  }
  if (ec || paths.empty()) {
    std::fprintf(stderr, "bfast-bench: no .json files in %s (set BFAST_SHARED_DIR)\n",
                 dir.c_str());
    return false;
  }
  std::sort(paths.begin(), paths.end());
  docs.reserve(paths.size());
  bfast::transcoder tc;
  for (const fs::path& p : paths) {
    document& d = docs.emplace_back();
    d.name = p.filename().string();
    d.size = static_cast<std::size_t>(fs::file_size(p, ec));
    std::memset(d.buffer.ensure(d.size + bfast::padded_view::padding), 0,
                d.size + bfast::padded_view::padding);
    std::ifstream in(p, std::ios::binary);
    if (ec || !in.read(reinterpret_cast<char*>(d.buffer.data()), static_cast<std::streamsize>(d.size))) {
      std::fprintf(stderr, "bfast-bench: cannot read %s\n", p.c_str());
      return false;
    }
    d.buffer.commit(d.size);
    d.text = bfast::padded_view::of(d.buffer);
    const bfast::transcode_result r = tc.transcode(d.text, d.message);
    if (!r.ok()) d.transcode_failure = std::string(bfast::reason_token(r.error));
  }
  return true;
}

// Visits every value, reading every string and number, so no part of the walk can be skipped.
std::uint64_t walk(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::OBJECT: {
      std::uint64_t sum = 1;
      const simdjson::dom::object obj = e.get_object().value_unsafe();
      for (simdjson::dom::key_value_pair kv : obj) {
        sum += kv.key.size() + walk(kv.value);
      }
      return sum;
    }
    case element_type::ARRAY: {
      std::uint64_t sum = 2;
      const simdjson::dom::array arr = e.get_array().value_unsafe();
      for (simdjson::dom::element child : arr) sum += walk(child);
      return sum;
    }
    case element_type::STRING: {
      const std::string_view s = e.get_string().value_unsafe();
      return s.size() + (s.empty() ? 0u : static_cast<unsigned char>(s.front()));
    }
    case element_type::INT64: return static_cast<std::uint64_t>(e.get_int64().value_unsafe());
    case element_type::UINT64: return e.get_uint64().value_unsafe();
    case element_type::DOUBLE: {
      const double v = e.get_double().value_unsafe();
      std::uint64_t bits;
      std::memcpy(&bits, &v, sizeof bits);
      return bits;
    }
    case element_type::BOOL: return e.get_bool().value_unsafe() ? 3u : 4u;
    case element_type::NULL_VALUE: return 5;
  }
  return 0;
}

// Runs `step` once per iteration; it returns false when the document fails, which stops the
// benchmark with `failure`. Rates count the bytes of the JSON document.
template <class Step>
void run_steps(benchmark::State& state, const document* d, const char* failure, Step step) {
  for (auto _ : state) {
    if (!step()) {
      state.SkipWithError(failure);
      break;
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(d->size));
}

bool skip_untranscoded(benchmark::State& state, const document* d) {
  if (d->transcode_failure.empty()) return false;
  state.SkipWithError(("not transcoded: " + d->transcode_failure).c_str());
  return true;
}

void bm_simdjson_walk(benchmark::State& state, const document* d) {
  simdjson::dom::parser parser;
  const auto* input = reinterpret_cast<const std::uint8_t*>(d->text.data());
  run_steps(state, d, "simdjson refuses the document", [&] {
    simdjson::dom::element root;
    if (parser.parse(input, d->size, false).get(root) != simdjson::SUCCESS) return false;
    std::uint64_t sum = walk(root);
    benchmark::DoNotOptimize(sum);
    return true;
  });
}

void bm_transcode(benchmark::State& state, const document* d) {
  if (skip_untranscoded(state, d)) return;
  bfast::transcoder tc;
  bfast::byte_buffer out;
  run_steps(state, d, "transcode failed", [&] {
    const bool ok = tc.transcode(d->text, out).ok();
    benchmark::DoNotOptimize(out.data());
    return ok;
  });
}

void bm_decode(benchmark::State& state, const document* d) {
  if (skip_untranscoded(state, d)) return;
  std::string out;
  run_steps(state, d, "decode failed", [&] {
    const bool ok = bfast::decode_to_json(d->message.span(), out).ok();
    benchmark::DoNotOptimize(out.data());
    return ok;
  });
}

void bm_nlohmann(benchmark::State& state, const document* d) {
  const std::string_view text = d->json();
  run_steps(state, d, "nlohmann refuses the document", [&] {
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    benchmark::DoNotOptimize(j);
    return !j.is_discarded();
  });
}

// One column of the table: a benchmark per document.
struct measure {
  std::string_view name;
  void (*run)(benchmark::State&, const document*);
};
constexpr measure simdjson_walk{"simdjson_parse_walk", bm_simdjson_walk};
constexpr measure transcode{"transcode", bm_transcode};
constexpr measure decode{"decode_to_json", bm_decode};
constexpr measure nlohmann_parse{"nlohmann_parse", bm_nlohmann};

std::string benchmark_name(const measure& m, const document& d) {
  return std::string(m.name) + "/" + d.name;
}

void register_benchmarks(const std::vector<document>& docs) {
  // File by file, so the four measures of one document run close together in time.
  for (const document& d : docs) {
    for (const measure& m : {simdjson_walk, transcode, decode, nlohmann_parse}) {
      benchmark::RegisterBenchmark(benchmark_name(m, d).c_str(), m.run, &d);
    }
  }
}

// The console output as usual, plus the bytes/second of every run kept for the summary table:
// the median aggregate when there are repetitions, else the median of the plain runs.
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  explicit collecting_reporter(OutputOptions options) : ConsoleReporter(options) {}

  bool ReportContext(const Context& context) override {
    num_cpus_ = context.cpu_info.num_cpus;
    mhz_ = context.cpu_info.cycles_per_second / 1e6;
    return ConsoleReporter::ReportContext(context);
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const auto rate = run.counters.find("bytes_per_second");
      if (rate == run.counters.end()) continue;
      entry& e = results_[run.run_name.function_name];
      repetitions_ = std::max<std::int64_t>(repetitions_, run.repetitions);
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") e.median = rate->second.value;
      } else {
        e.samples.push_back(rate->second.value);
      }
    }
  }

  // Bytes per second, or a negative number when the benchmark did not run or failed.
  [[nodiscard]] double rate(const std::string& name) const {
    const auto it = results_.find(name);
    if (it == results_.end()) return -1;
    if (it->second.median >= 0) return it->second.median;
    std::vector<double> s = it->second.samples;
    if (s.empty()) return -1;
    std::sort(s.begin(), s.end());
    const std::size_t n = s.size();
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  [[nodiscard]] int num_cpus() const { return num_cpus_; }
  [[nodiscard]] double mhz() const { return mhz_; }
  [[nodiscard]] std::int64_t repetitions() const { return repetitions_; }

 private:
  struct entry {
    double median = -1;
    std::vector<double> samples;
  };
  std::map<std::string, entry> results_;
  int num_cpus_ = 0;
  double mhz_ = 0;
  std::int64_t repetitions_ = 0;
};

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string mb_per_s(double bytes_per_second) {
  if (bytes_per_second < 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", bytes_per_second / 1e6);
  return buf;
}

void print_table(const std::vector<document>& docs, const collecting_reporter& rep) {
  const std::int64_t repetitions = std::max<std::int64_t>(rep.repetitions(), 1);
  char date[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));

  std::printf("\n### Throughput, %s\n\n", date);
  std::printf("%s, %d cores at %.0f MHz; simdjson %d.%d.%d (%s kernel). MB/s = 10^6 bytes of JSON "
              "text per second, median of %lld repetition%s.\n\n",
              cpu_model().c_str(), rep.num_cpus(), rep.mhz(),
              int{simdjson::SIMDJSON_VERSION_MAJOR}, int{simdjson::SIMDJSON_VERSION_MINOR},
              int{simdjson::SIMDJSON_VERSION_REVISION},
              simdjson::get_active_implementation()->name().c_str(),
              static_cast<long long>(repetitions),
              repetitions == 1 ? "" : "s");
  std::printf("| file | size (KB) | simdjson parse+walk | bfast transcode | bfast decode to JSON "
              "| nlohmann parse | transcode / simdjson |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");

  double log_sum = 0;
  int ratios = 0;
  double lowest = 0;
  std::string lowest_name;
  for (const document& d : docs) {
    const double base = rep.rate(benchmark_name(simdjson_walk, d));
    const double tc = rep.rate(benchmark_name(transcode, d));
    const double dec = rep.rate(benchmark_name(decode, d));
    const double nl = rep.rate(benchmark_name(nlohmann_parse, d));
    if (base < 0 && tc < 0 && dec < 0 && nl < 0) continue;  // filtered out
    std::string ratio = "n/a";
    if (base > 0 && tc > 0) {
      const double r = tc / base;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", r);
      ratio = buf;
      log_sum += std::log(r);
      ++ratios;
      if (lowest_name.empty() || r < lowest) {
        lowest = r;
        lowest_name = d.name;
      }
    }
    std::string tc_text = mb_per_s(tc);
    if (!d.transcode_failure.empty()) tc_text = "refused: " + d.transcode_failure;
    std::printf("| %s | %.0f | %s | %s | %s | %s | %s |\n", d.name.c_str(),
                static_cast<double>(d.size) / 1e3, mb_per_s(base).c_str(), tc_text.c_str(),
                mb_per_s(dec).c_str(), mb_per_s(nl).c_str(), ratio.c_str());
  }
  if (ratios > 0) {
    std::printf("| **geometric mean** | | | | | | **%.2f** |\n", std::exp(log_sum / ratios));
    std::printf("\nLowest ratio: %.2f (%s). Target: geometric mean >= 0.6, no file below 0.4.\n",
                lowest, lowest_name.c_str());
  }
}

bool has_flag(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.substr(0, flag.size()) == flag &&
        (a.size() == flag.size() || a[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  // Medians of several repetitions by default, run in random order so that a burst of load on
  // the machine spreads over all benchmarks instead of skewing one. Flags given on the command
  // line win.
  std::vector<char*> args(argv, argv + argc);
  std::string default_repetitions = "--benchmark_repetitions=5";
  std::string default_interleaving = "--benchmark_enable_random_interleaving=true";
  std::string default_aggregates = "--benchmark_display_aggregates_only=true";
  if (!has_flag(argc, argv, "--benchmark_repetitions")) {
    args.insert(args.begin() + 1, default_repetitions.data());
  }
  if (!has_flag(argc, argv, "--benchmark_enable_random_interleaving")) {
    args.insert(args.begin() + 1, default_interleaving.data());
  }
  if (!has_flag(argc, argv, "--benchmark_display_aggregates_only") &&
      !has_flag(argc, argv, "--benchmark_report_aggregates_only")) {
    args.insert(args.begin() + 1, default_aggregates.data());
  }
  int args_count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 2;

  std::vector<document> docs;
  if (!load_corpus(docs)) return 1;
  for (const document& d : docs) {
    if (!d.transcode_failure.empty()) {
      std::fprintf(stderr, "bfast-bench: %s is not transcoded: %s\n", d.name.c_str(),
                   d.transcode_failure.c_str());
    }
  }
  register_benchmarks(docs);

  collecting_reporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                     : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::cout.flush();
  print_table(docs, reporter);
  std::fflush(stdout);
  benchmark::Shutdown();
  return 0;
}
