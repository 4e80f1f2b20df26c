// Server speeds fixed for the policy's tables, so that they do not depend on the machine
// (calibrate() is tested on its own). Ratios are of each codec's own input: B-FAST's of the
// message (0.85 of the JSON), JSON's of the text.
#pragma once
#include "bfast/policy.hpp"

namespace bfast::test {

inline server_speeds fixed_speeds() {
  server_speeds s;
  s.lz4 = {600e6, 0.30};
  s.gzip = {60e6, 0.18};
  s.gzip_fast = {180e6, 0.23};
  s.zstd = {250e6, 0.20};
  s.json_gzip = {50e6, 0.20};
  s.json_gzip_fast = {150e6, 0.25};
  s.json_zstd = {200e6, 0.19};
  s.transcode_bytes_per_s = 600e6;
  s.message_ratio = 0.85;
  s.gzip_level = 6;
  s.gzip_fast_level = 1;
  s.zstd_level = 3;
  return s;
}

}  // namespace bfast::test
