#include "transform.hpp"

#include <chrono>
#include <exception>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "bfast/calibrate.hpp"
#include "bfast/compress.hpp"
#include "bfast/transcoder.hpp"
#include "bfast/transport.hpp"

namespace bfast::server {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

route_mode route_mode_of(config::compress_mode m) {
  switch (m) {
    case config::compress_mode::automatic: return route_mode::automatic;
    case config::compress_mode::always: return route_mode::always;
    case config::compress_mode::never: return route_mode::never;
  }
  return route_mode::automatic;
}

policy_input policy_input_of(const transform_request& req, std::size_t payload, arena_load load) {
  policy_input in;
  in.payload_bytes = payload;
  const filter::client_network& net = req.network;
  if (net.rtt_ms) in.rtt_s = *net.rtt_ms / 1000.0;
  else if (net.ect_rtt_ms) in.rtt_s = *net.ect_rtt_ms / 1000.0;
  if (net.downlink_kbps) in.bandwidth_bytes_per_s = static_cast<double>(*net.downlink_kbps) * 125.0;
  if (net.window_bytes) in.window_bytes = static_cast<double>(*net.window_bytes);
  in.save_data = net.save_data;
  in.load = load;
  in.mode = route_mode_of(req.mode);
  in.accept_gzip = req.accept_gzip;
  in.accept_zstd = req.accept_zstd;
  return in;
}

// The compression step: the one place that picks and applies an encoding to a B-FAST message.
// `message` holds the uncompressed message; on return `out.body` holds the bytes to send.
void apply_compression(const transform_request& req, byte_buffer& message,
                              compress_arena& arena, const server_speeds& speeds,
                              const policy_config& policy, transform_outcome& out) {
  thread_local lz4_compressor lz4(&arena);
  thread_local transport_encoder transport;
  out.message_bytes = message.size();
  const compression_decision d =
      choose_compression(policy_input_of(req, message.size(), arena.load()), speeds, policy);
  out.policy_reason = d.reason;
  auto send_uncompressed = [&] {
    out.compress = compress_kind::none;
    out.compress_token = "none";
    out.content_encoding = {};
    out.body = std::move(message);
  };
  switch (d.choice) {
    case compression_choice::none:
      send_uncompressed();
      return;
    case compression_choice::lz4:
    case compression_choice::lz4_parallel: {
      const bool parallel = d.choice == compression_choice::lz4_parallel;
      lz4_options o = lz4.options();
      o.layout = parallel ? lz4_layout_choice::parallel : lz4_layout_choice::single;
      o.chunk_bytes = policy.chunk_bytes;
      lz4.set_options(o);
      byte_buffer compressed;
      const compress_result r = lz4.compress(message.span(), compressed, parallel ? d.threads : 1);
      if (!r.ok()) {
        send_uncompressed();
        return;
      }
      out.compress = parallel ? compress_kind::lz4_parallel : compress_kind::lz4;
      out.compress_token = parallel ? "lz4-parallel" : "lz4";
      out.body = std::move(compressed);
      return;
    }
    case compression_choice::gzip:
    case compression_choice::zstd: {
      const bool gz = d.choice == compression_choice::gzip;
      byte_buffer encoded;
      if (!transport.encode(gz ? transport_codec::gzip : transport_codec::zstd,
                            d.level ? d.level : (gz ? default_gzip_level : default_zstd_level),
                            message.span(), encoded)) {
        send_uncompressed();
        return;
      }
      out.compress = gz ? compress_kind::gzip : compress_kind::zstd;
      out.compress_token = "none";  // inside B-FAST nothing is compressed; the coding is HTTP's
      out.content_encoding = content_coding(gz ? transport_codec::gzip : transport_codec::zstd);
      out.body = std::move(encoded);
      return;
    }
  }
  send_uncompressed();
}

}  // namespace

bool budget_lease::grow(std::uint64_t n) noexcept {
  if (!pool_) return false;
  const auto add = static_cast<std::int64_t>(n);
  const std::int64_t before = pool_->fetch_add(add, std::memory_order_relaxed);
  if (before + add > limit_) {
    pool_->fetch_sub(add, std::memory_order_relaxed);
    return false;
  }
  held_ += n;
  return true;
}

void budget_lease::release() noexcept {
  if (pool_ && held_ > 0) pool_->fetch_sub(static_cast<std::int64_t>(held_), std::memory_order_relaxed);
  held_ = 0;
}

void transform_service::transform_now(const transform_request& req, transform_outcome& out) {
  thread_local transcoder tc;
  thread_local byte_buffer message;
  transcode_options opts = tc.options();
  opts.pack_float_arrays = req.pack_floats;
  tc.set_options(opts);

  const auto t0 = clock_type::now();
  out.transcode = tc.transcode(req.json, message);
  out.transcode_seconds = seconds_since(t0);
  if (!out.transcode.ok()) return;
  const auto t1 = clock_type::now();
  apply_compression(req, message, arena_, speeds_, policy_, out);
  out.compress_seconds = seconds_since(t1);
}

transform_service::transform_service(unsigned threads, std::uint64_t memory_budget, metrics& m)
    : budget_(memory_budget),
      m_(m),
      arena_(static_cast<int>(threads)),
      speeds_(calibrate()),
      pool_(threads ? threads : std::max(1u, std::thread::hardware_concurrency())) {}

transform_service::~transform_service() { stop(); }

void transform_service::stop() {
  pool_.stop();
  pool_.join();
}

boost::asio::awaitable<void> transform_service::run(const transform_request& req,
                                                    transform_outcome& out) {
  std::exception_ptr failure;
  co_await boost::asio::co_spawn(
      pool_.get_executor(),
      [&]() -> boost::asio::awaitable<void> {
        try {
          transform_now(req, out);
        } catch (...) {
          failure = std::current_exception();
        }
        co_return;
      },
      boost::asio::use_awaitable);
  if (failure) {
    // Out of memory in the transform: the client gets the original bytes, as for too_large.
    out.transcode.error = transcode_error::too_large;
    out.body = byte_buffer{};
  }
}

}  // namespace bfast::server
