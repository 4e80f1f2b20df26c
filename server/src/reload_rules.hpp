// What a reload may not change: the settings bound into the process at start (sockets, threads,
// the access log's writer). A new configuration keeps the running values of these.
#pragma once
#include <string>
#include <vector>

#include "bfast/config/config.hpp"

namespace bfast::server {

// Copies into `next` every fixed setting that differs from `running`, and returns one message
// per such setting, naming it with both values.
[[nodiscard]] std::vector<std::string> keep_fixed_settings(const config::proxy_config& running,
                                                           config::proxy_config& next);

}  // namespace bfast::server
