// The transform path's CPU work, kept off the I/O threads (small bodies aside): the choice of
// JSON or B-FAST, JSON -> B-FAST, then the coding the policy picks. Also the memory budget for
// transforms in flight.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include <boost/asio/thread_pool.hpp>

#include "bfast/byte_buffer.hpp"
#include "bfast/coding.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/padded_view.hpp"
#include "bfast/policy.hpp"
#include "bfast/representation.hpp"
#include "bfast/config/config.hpp"
#include "bfast/encode.hpp"
#include "bfast/filter/network_hints.hpp"
#include "bfast/status.hpp"
#include "bfast/transcoder.hpp"
#include "io_types.hpp"
#include "metrics.hpp"

namespace bfast::server {

struct transform_request {
  padded_view json;                    // parsed in place: the buffer keeps the parser's padding
  bool pack_floats = false;
  route_mode mode = route_mode::automatic;
  client_speeds client;                // the route's clients, or the client's BFast-Decoder
  filter::client_network network;
  bool accept_gzip = false;
  bool accept_zstd = false;
  bool accept_bfast = true;            // B-FAST is a candidate
  bool accept_json = false;            // JSON is a candidate
  negotiation rule = negotiation::fastest;
};

struct transform_outcome {
  representation chosen = representation::bfast;
  transcode_result transcode;          // not run when JSON was chosen first
  byte_buffer body;                    // the bytes to send; JSON as it is: empty, send the JSON
  std::size_t json_bytes = 0;          // the upstream's body
  std::size_t message_bytes = 0;       // the uncompressed B-FAST message
  compression_choice compress = compression_choice::none;  // B-FAST's coding, or JSON's
  std::string_view compress_token = "none";  // BFast-Status compress= (or coding= for JSON)
  std::string_view content_encoding;   // empty, gzip or zstd
  std::string_view policy_reason = "none";
  double transcode_seconds = 0;
  double compress_seconds = 0;
};

// Memory reserved for one transform; released when it goes out of scope.
class budget_lease {
 public:
  budget_lease() = default;
  budget_lease(std::atomic<std::int64_t>* pool, std::int64_t limit) : pool_(pool), limit_(limit) {}
  budget_lease(const budget_lease&) = delete;
  budget_lease& operator=(const budget_lease&) = delete;
  ~budget_lease() { release(); }

  // Adds n bytes to the lease; false (and nothing added) if the budget cannot cover them.
  [[nodiscard]] bool grow(std::uint64_t n) noexcept;
  void release() noexcept;
  [[nodiscard]] std::uint64_t held() const noexcept { return held_; }

 private:
  std::atomic<std::int64_t>* pool_ = nullptr;
  std::int64_t limit_ = 0;
  std::uint64_t held_ = 0;
};

class transform_service {
 public:
  // `threads` sizes both the transform pool and the compression arena; the server turns a
  // configured 0 into its CPU budget (cpu_budget.hpp) before it gets here.
  transform_service(unsigned threads, std::uint64_t memory_budget, std::uint64_t inline_max_bytes,
                    metrics& m);
  ~transform_service();

  [[nodiscard]] budget_lease lease() noexcept {
    return budget_lease(&m_.transform_memory_bytes,
                        static_cast<std::int64_t>(budget_.load(std::memory_order_relaxed)));
  }
  // A reload's new limits, for the transforms that start after it.
  void set_limits(std::uint64_t memory_budget, std::uint64_t inline_max_bytes) noexcept {
    budget_.store(memory_budget, std::memory_order_relaxed);
    inline_max_bytes_.store(inline_max_bytes, std::memory_order_relaxed);
  }

  // Bytes to lease, beyond the JSON's own buffer, before a transform of `json_bytes` bytes:
  // every byte it can allocate (parsers, message, coded copy; see transform_memory_bound).
  [[nodiscard]] std::uint64_t output_bytes_bound(std::size_t json_bytes) const noexcept;

  // Runs the transform on the transform threads and resumes the caller on its own executor;
  // a body up to the inline bound is transformed at once on the calling thread instead.
  task<void> run(const transform_request& req, transform_outcome& out);

  // Other CPU work on `bytes` of input (a request body's conversion), placed as run() places a
  // transform. An exception from `job` is rethrown to the caller, on its own executor.
  task<void> run_job(std::size_t bytes, const std::function<void()>& job);

  void stop();

  // The synchronous work, on the calling thread (one transcoder and compressor per thread).
  void transform_now(const transform_request& req, transform_outcome& out);

  // JSON chosen: applies its coding (none: the JSON goes as it is).
  void code_json(const transform_request& req, const representation_decision& d,
                 encode_scratch& scratch, transform_outcome& out);

  // Per-thread scratch beyond this is freed after a transform, so RSS returns after a large body.
  static constexpr std::size_t scratch_keep_bytes = std::size_t{4} << 20;

 private:
  // The most threads one transcode may use: the policy's per-response cap, within the arena.
  [[nodiscard]] int max_transcode_threads() const noexcept;

  std::atomic<std::uint64_t> budget_;
  std::atomic<std::uint64_t> inline_max_bytes_;
  metrics& m_;
  compress_arena arena_;
  server_speeds speeds_;   // measured at start-up
  policy_config policy_;
  boost::asio::thread_pool pool_;
};

}  // namespace bfast::server
