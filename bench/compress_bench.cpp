// Compression benchmarks, side by side in one run:
//   lz4/threads:N          LZ4 parallel chunks on the 50k-record message (8 MB+) at N threads
//   transport/...          gzip 1 and 6, zstd 1 and 3, on JSON and on B-FAST: time and size
//   seed/encode/N          50,000 records from JSON text to the compressed message, N threads
//                          (transcoded in parts at once from 2 threads)
//   encode/FILE            transcode + encode (LZ4 parallel chunks) on the real-world corpus
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bfast/calibrate.hpp"
#include "bfast/compress.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/encode.hpp"
#include "bfast/transcoder.hpp"
#include "bfast/transport.hpp"

namespace {

namespace fs = std::filesystem;

fs::path shared_dir() {
  if (const char* env = std::getenv("BFAST_SHARED_DIR")) return env;
  return BFAST_SHARED_DIR;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string& records_json() {
  static const std::string json = bfast::sample_records_json(50'000);
  return json;
}

const bfast::byte_buffer& records_message() {
  static const bfast::byte_buffer message = [] {
    bfast::byte_buffer m;
    bfast::transcoder t;
    if (!t.transcode(records_json(), m).ok()) std::abort();
    return m;
  }();
  return message;
}

bfast::compress_arena& arena() {
  static bfast::compress_arena a(std::max(2, static_cast<int>(std::thread::hardware_concurrency())));
  return a;
}

void lz4_threads(benchmark::State& state) {
  const auto& m = records_message();
  bfast::lz4_options o;
  o.layout = bfast::message_layout::lz4_parallel;
  bfast::lz4_compressor c(&arena(), o);
  bfast::byte_buffer out;
  const int threads = static_cast<int>(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(c.compress(m.span(), out, threads));
  }
  bfast::lz4_options single;
  single.layout = bfast::message_layout::lz4_single;
  bfast::lz4_compressor s(nullptr, single);
  bfast::byte_buffer one;
  (void)s.compress(m.span(), one);
  state.counters["message_bytes"] = static_cast<double>(m.size());
  state.counters["wire_bytes"] = static_cast<double>(out.size());
  state.counters["vs_single_block"] = static_cast<double>(out.size()) / static_cast<double>(one.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * m.size()));
}

void transport(benchmark::State& state, bfast::transport_codec codec, int level, bool on_json) {
  const std::string& json = records_json();
  const auto& m = records_message();
  std::span<const std::uint8_t> in =
      on_json ? std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(json.data()), json.size())
              : m.span();
  bfast::transport_encoder enc;
  bfast::byte_buffer out;
  for (auto _ : state) {
    if (!enc.encode(codec, level, in, out)) state.SkipWithError("encode failed");
  }
  state.counters["input_bytes"] = static_cast<double>(in.size());
  state.counters["wire_bytes"] = static_cast<double>(out.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * in.size()));
}

// JSON -> the bytes to send, as the proxy does it: transcode, then encode() with the route
// forcing LZ4 (parallel chunks from `parallel_threshold` bytes on).
void encode_case(benchmark::State& state, const std::string& json, int threads,
                 std::size_t parallel_threshold) {
  bfast::transcoder t;
  bfast::transcode_parallelism parallel;
  parallel.arena = &arena();
  parallel.threads = threads;
  t.set_parallelism(parallel);
  bfast::encode_scratch scratch(&arena());
  bfast::policy_config config;
  config.max_threads = threads;
  config.sizes.parallel_threshold = parallel_threshold;
  bfast::server_speeds speeds;
  speeds.lz4 = {1, 1};  // known, so the model picks the thread count
  bfast::policy_input in;
  in.mode = bfast::route_mode::always;
  std::size_t wire = 0;
  for (auto _ : state) {
    bfast::byte_buffer message;
    if (!t.transcode(json, message).ok()) state.SkipWithError("transcode failed");
    in.load = arena().load();
    const bfast::encoded e = bfast::encode(std::move(message), in, speeds, config, scratch);
    wire = e.body.size();
  }
  state.counters["json_bytes"] = static_cast<double>(json.size());
  state.counters["wire_bytes"] = static_cast<double>(wire);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}

void seed_case(benchmark::State& state) {
  encode_case(state, records_json(), static_cast<int>(state.range(0)), 1'000'000);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("lz4/threads", lz4_threads)
      ->DenseRange(1, std::max(2, static_cast<int>(std::thread::hardware_concurrency())))
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (const bool on_json : {true, false}) {
    const std::string what = on_json ? "json" : "bfast";
    benchmark::RegisterBenchmark(("transport/gzip1/" + what).c_str(), transport,
                                 bfast::transport_codec::gzip, 1, on_json)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("transport/gzip6/" + what).c_str(), transport,
                                 bfast::transport_codec::gzip, 6, on_json)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("transport/zstd1/" + what).c_str(), transport,
                                 bfast::transport_codec::zstd, 1, on_json)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("transport/zstd3/" + what).c_str(), transport,
                                 bfast::transport_codec::zstd, 3, on_json)->Unit(benchmark::kMillisecond);
  }
  benchmark::RegisterBenchmark("seed/encode", seed_case)
      ->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

  static std::vector<std::pair<std::string, std::string>> corpus;
  for (const auto& e : fs::directory_iterator(shared_dir() / "corpus" / "realworld")) {
    if (e.path().extension() == ".json") corpus.emplace_back(e.path().stem().string(), read_file(e.path()));
  }
  std::sort(corpus.begin(), corpus.end());
  for (const auto& [name, json] : corpus) {
    // Parallel chunks whatever the size: the corpus is mostly below 1 MB.
    benchmark::RegisterBenchmark(("encode/" + name).c_str(), encode_case, json, 2, 0)
        ->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
