// Start-up measurement of this machine's compression speeds and ratios on a built-in sample, so
// the policy's figures are measured rather than typed into the code.
#pragma once
#include <cstddef>
#include <string>

#include "bfast/policy.hpp"

namespace bfast {

// A deterministic JSON array of `count` user records in the style of the seed's benchmark
// (about 170 bytes of JSON each; 50,000 make about 8.5 MB).
[[nodiscard]] std::string sample_records_json(std::size_t count);

struct calibration_options {
  std::size_t sample_records = 3000;  // about 0.5 MB of JSON
  int gzip_level = 6;
  int gzip_fast_level = 1;
  int zstd_level = 3;
  int lz4_hc_level = 0;
  int rounds = 3;                     // the fastest round counts
};

// Times the transcoder on the sample, LZ4 (one thread, 256 KiB chunks), gzip at both levels and
// zstd on its B-FAST message, and gzip and zstd on the JSON text itself.
[[nodiscard]] server_speeds calibrate(const calibration_options& options = {});

}  // namespace bfast
