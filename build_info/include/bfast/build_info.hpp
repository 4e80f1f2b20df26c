#pragma once

#include <string_view>

// What was built: the project version (CMake's project()) and the git commit it was built from.
namespace bfast::build_info {

extern const std::string_view version;
extern const std::string_view commit;  // 12 hex digits, or "unknown" outside a git checkout

}  // namespace bfast::build_info
