// bfast: encode JSON to B-FAST, decode B-FAST to JSON, and inspect a message.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "commands.hpp"

namespace {

constexpr const char* usage_text =
    "usage: bfast encode [--compress=none|lz4|auto] [--threads N] [--pack-floats] [-v]\n"
    "                    [--rtt MS] [--downlink MBPS] [--save-data]\n"
    "                    [--accept-encoding gzip,zstd [--apply-encoding]] [-o FILE] [FILE|-]\n"
    "       bfast decode [--pretty] [-o FILE] [FILE|-]\n"
    "       bfast inspect [FILE|-]\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(usage_text, stderr);
    return bfast::cli::exit_usage;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  try {
    if (command == "encode") return bfast::cli::run_encode(args);
    if (command == "decode") return bfast::cli::run_decode(args);
    if (command == "inspect") return bfast::cli::run_inspect(args);
    if (command == "-h" || command == "--help" || command == "help") {
      std::fputs(usage_text, stdout);
      return bfast::cli::exit_ok;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bfast: %s\n", e.what());
    return bfast::cli::exit_bad_input;
  }
  std::fputs(usage_text, stderr);
  return bfast::cli::exit_usage;
}
