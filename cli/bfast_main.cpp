// bfast: encode JSON to B-FAST, decode B-FAST to JSON, and inspect a message.
#include <array>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "bfast/build_info.hpp"
#include "commands.hpp"

namespace {

struct command {
  std::string_view name;
  int (*run)(const std::vector<std::string>&);
  const char* usage;
};

constexpr std::array<command, 3> commands{{
    {"encode", bfast::cli::run_encode,
     "usage: bfast encode [--compress=none|lz4|auto] [--threads N] [--pack-floats] [-v]\n"
     "                    [--rtt MS] [--downlink MBPS] [--save-data]\n"
     "                    [--accept-encoding gzip,zstd [--apply-encoding]] [-o FILE] [FILE|-]\n"},
    {"decode", bfast::cli::run_decode, "usage: bfast decode [--pretty] [-o FILE] [FILE|-]\n"},
    {"inspect", bfast::cli::run_inspect, "usage: bfast inspect [FILE|-]\n"},
}};

constexpr const char* options_text =
    "\nFILE or - (the default) is stdin; -o FILE (default stdout) is the output.\n"
    "  --compress=none|lz4|auto  none (default), always LZ4, or the proxy's cost model\n"
    "  --threads N               LZ4 threads for large messages (default: one per core)\n"
    "  --pack-floats             write arrays of floats as f64 arrays (0x90)\n"
    "  -v                        explain the compression choice on stderr\n"
    "  --rtt MS, --downlink MBPS, --save-data, --accept-encoding gzip,zstd\n"
    "                            the client's network and codings, for --compress=auto\n"
    "  --apply-encoding          write the gzip or zstd the cost model chose\n"
    "  --pretty                  indent the JSON decode writes\n"
    "\n  bfast --version           the version and the commit it was built from\n"
    "Exit status: 0 done, 1 bad input, 2 usage error.\n";

void print_usage(std::FILE* to) {
  for (std::size_t i = 0; i < commands.size(); ++i) {
    std::string line = commands[i].usage;
    if (i > 0) line.replace(0, 6, "      ");  // one "usage:" heads the list
    std::fputs(line.c_str(), to);
  }
}

bool asks_for_help(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--") break;
    if (a == "-h" || a == "--help") return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return bfast::cli::exit_usage;
  }
  const std::string name = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (name == "-h" || name == "--help" || name == "help") {
    print_usage(stdout);
    std::fputs(options_text, stdout);
    return bfast::cli::exit_ok;
  }
  if (name == "--version" || name == "-V") {
    std::printf("bfast %.*s (commit %.*s)\n", static_cast<int>(bfast::build_info::version.size()),
                bfast::build_info::version.data(),
                static_cast<int>(bfast::build_info::commit.size()),
                bfast::build_info::commit.data());
    return bfast::cli::exit_ok;
  }
  for (const command& c : commands) {
    if (c.name != name) continue;
    if (asks_for_help(args)) {
      std::fputs(c.usage, stdout);
      std::fputs(options_text, stdout);
      return bfast::cli::exit_ok;
    }
    try {
      return c.run(args);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bfast: %s\n", e.what());
      return bfast::cli::exit_bad_input;
    }
  }
  return bfast::cli::usage_error("unknown command '" + name + "' (encode, decode or inspect)");
}
