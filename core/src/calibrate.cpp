#include "bfast/calibrate.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "bfast/compress.hpp"
#include "bfast/transcoder.hpp"
#include "bfast/transport.hpp"

namespace bfast {

std::string sample_records_json(std::size_t count) {
  static constexpr const char* cities[] = {"Lisbon", "Osaka", "Nairobi", "Lima", "Oslo",
                                           "Quebec", "Hanoi", "Perth"};
  static constexpr const char* roles[] = {"admin", "editor", "viewer", "owner"};
  std::uint64_t state = 0x2545F4914F6CDD1Dull;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  std::string json;
  json.reserve(count * 180 + 2);
  json += '[';
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t r = next();
    if (i > 0) json += ',';
    json += "{\"id\":" + std::to_string(i + 1);
    json += ",\"name\":\"User " + std::to_string(i + 1) + "\"";
    json += ",\"email\":\"user" + std::to_string(i + 1) + "@example.com\"";
    json += ",\"age\":" + std::to_string(18 + r % 60);
    json += ",\"active\":";
    json += (r >> 8) % 3 != 0 ? "true" : "false";
    json += ",\"score\":" + std::to_string((r >> 16) % 10000) + "." +
            std::to_string((r >> 32) % 100 + 100).substr(1);
    json += ",\"city\":\"";
    json += cities[(r >> 40) % 8];
    json += "\",\"role\":\"";
    json += roles[(r >> 44) % 4];
    json += "\",\"created\":\"2024-" + std::to_string(10 + (r >> 48) % 3) + "-" +
            std::to_string(10 + (r >> 52) % 18) + "T12:00:00Z\"";
    json += ",\"tags\":[\"t" + std::to_string((r >> 56) % 20) + "\",\"t" +
            std::to_string((r >> 60) % 20) + "\"]}";
  }
  json += ']';
  return json;
}

namespace {

template <class F>
double fastest_seconds(int rounds, F&& f) {
  double best = 1e30;
  for (int i = 0; i < std::max(rounds, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return std::max(best, 1e-9);
}

codec_speed speed_of(double bytes, double seconds, std::size_t wire) {
  return {bytes / seconds, static_cast<double>(wire) / bytes};
}

}  // namespace

server_speeds calibrate(const calibration_options& options) {
  server_speeds s;
  s.gzip_level = options.gzip_level;
  s.zstd_level = options.zstd_level;
  const std::string json = sample_records_json(options.sample_records);
  transcoder t;
  byte_buffer message, out;
  if (!t.transcode(json, message).ok() || message.size() <= never_compressed_bytes) return s;
  const double n = static_cast<double>(message.size());
  const double json_n = static_cast<double>(json.size());
  s.transcode_bytes_per_s =
      json_n / fastest_seconds(options.rounds, [&] { (void)t.transcode(json, message); });
  s.message_ratio = n / json_n;

  lz4_options lz;
  lz.layout = message_layout::lz4_parallel;  // the chunking of large responses, on one thread
  lz.hc_level = options.lz4_hc_level;
  lz4_compressor lz4(nullptr, lz);
  const double lz4_s = fastest_seconds(options.rounds, [&] { (void)lz4.compress(message.span(), out); });
  s.lz4 = speed_of(n, lz4_s, out.size());

  transport_encoder enc;
  const double gz_s = fastest_seconds(options.rounds, [&] {
    (void)enc.encode(transport_codec::gzip, options.gzip_level, message.span(), out);
  });
  s.gzip = speed_of(n, gz_s, out.size());
  s.gzip_fast_level = options.gzip_fast_level;
  const double gz_fast_s = fastest_seconds(options.rounds, [&] {
    (void)enc.encode(transport_codec::gzip, options.gzip_fast_level, message.span(), out);
  });
  s.gzip_fast = speed_of(n, gz_fast_s, out.size());
  const double zs_s = fastest_seconds(options.rounds, [&] {
    (void)enc.encode(transport_codec::zstd, options.zstd_level, message.span(), out);
  });
  s.zstd = speed_of(n, zs_s, out.size());

  // The JSON text itself, for clients that take JSON under a coding.
  const std::span<const std::uint8_t> text(reinterpret_cast<const std::uint8_t*>(json.data()),
                                           json.size());
  const auto time_codec = [&](transport_codec codec, int level) {
    const double secs =
        fastest_seconds(options.rounds, [&] { (void)enc.encode(codec, level, text, out); });
    return speed_of(json_n, secs, out.size());
  };
  s.json_gzip = time_codec(transport_codec::gzip, options.gzip_level);
  s.json_gzip_fast = time_codec(transport_codec::gzip, options.gzip_fast_level);
  s.json_zstd = time_codec(transport_codec::zstd, options.zstd_level);
  return s;
}

}  // namespace bfast
