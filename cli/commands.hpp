// The bfast subcommands. Each returns the process exit code: 0 ok, 1 bad input, 2 usage.
#pragma once
#include <string>
#include <vector>

namespace bfast::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_bad_input = 1;
inline constexpr int exit_usage = 2;

int run_encode(const std::vector<std::string>& args);
int run_decode(const std::vector<std::string>& args);
int run_inspect(const std::vector<std::string>& args);
int usage_error(const std::string& message);

}  // namespace bfast::cli
