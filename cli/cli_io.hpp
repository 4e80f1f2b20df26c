// Input and output for the bfast tool: whole files or stdin in, files or stdout out.
#pragma once
#include <string>
#include <string_view>

namespace bfast::cli {

// Reads FILE, or stdin for "-"; on failure returns false and sets `error`.
[[nodiscard]] bool read_input(const std::string& path, std::string& data, std::string& error);

// Writes to `path` ("-" = stdout). Binary output to a terminal is refused, as curl does.
[[nodiscard]] bool write_output(const std::string& path, std::string_view data, bool binary,
                                std::string& error);

[[nodiscard]] bool stdout_is_terminal();

}  // namespace bfast::cli
