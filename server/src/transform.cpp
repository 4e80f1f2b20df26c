#include "transform.hpp"

#include <chrono>
#include <exception>

#include <boost/asio/co_spawn.hpp>

#include "bfast/calibrate.hpp"
#include "bfast/encode.hpp"
#include "bfast/transcoder.hpp"

namespace bfast::server {
namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

policy_input policy_input_of(const transform_request& req, arena_load load) {
  policy_input in;
  const filter::client_network& net = req.network;
  if (net.rtt_ms) in.rtt_s = *net.rtt_ms / 1000.0;
  else if (net.ect_rtt_ms) in.rtt_s = *net.ect_rtt_ms / 1000.0;
  if (net.downlink_kbps) in.bandwidth_bytes_per_s = static_cast<double>(*net.downlink_kbps) * 125.0;
  if (net.window_bytes) in.window_bytes = static_cast<double>(*net.window_bytes);
  in.save_data = net.save_data;
  in.load = load;
  in.mode = req.mode;
  in.accept_gzip = req.accept_gzip;
  in.accept_zstd = req.accept_zstd;
  return in;
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

void transform_service::code_json(const transform_request& req, const representation_decision& d,
                                  encode_scratch& scratch, transform_outcome& out) {
  out.chosen = representation::json;
  out.policy_reason = d.reason;
  out.compress = compression_choice::none;
  out.compress_token = "identity";
  out.body = byte_buffer{};
  if (d.json_coding == compression_choice::none) return;
  const auto t0 = clock_type::now();
  const std::span<const std::uint8_t> text(reinterpret_cast<const std::uint8_t*>(req.json.data()),
                                           req.json.size());
  // A codec that fails leaves the JSON as it is.
  if (encode_text(text, d.json_coding, d.json_level, scratch, out.body)) {
    out.compress = d.json_coding;
    out.compress_token = choice_name(d.json_coding);
    out.content_encoding = out.compress_token;
  }
  out.compress_seconds = seconds_since(t0);
}

void transform_service::transform_now(const transform_request& req, transform_outcome& out) {
  thread_local transcoder tc;
  thread_local encode_scratch scratch(&arena_);
  out.json_bytes = req.json.size();
  policy_config policy = policy_;
  policy.client = req.client;
  representation_input choice;
  choice.link = policy_input_of(req, arena_.load());
  choice.json_bytes = req.json.size();
  choice.accept_json = req.accept_json;
  choice.accept_bfast = req.accept_bfast;
  choice.rule = req.rule;
  if (req.accept_json) {
    // JSON that wins before the body is transcoded costs no transcode at all.
    const representation_decision first = choose_representation(choice, speeds_, policy);
    if (first.chosen == representation::json) {
      code_json(req, first, scratch, out);
      scratch.shrink(scratch_keep_bytes);
      return;
    }
  }

  transcode_options opts = tc.options();
  opts.pack_float_arrays = req.pack_floats;
  tc.set_options(opts);
  // A large root array goes in parts to the arena's idle threads; on a busy arena it stays whole.
  transcode_parallelism parallel;
  parallel.arena = &arena_;
  parallel.threads = std::min(max_transcode_threads(), arena_.load().idle());
  tc.set_parallelism(parallel);

  // The message is the outcome's own: it becomes the body when nothing is applied.
  byte_buffer message;
  const auto t0 = clock_type::now();
  out.transcode = tc.transcode(req.json, message);
  out.transcode_seconds = seconds_since(t0);
  // A large body's parser pages go back before the compressed copy is made: a lower peak.
  tc.shrink_scratch(scratch_keep_bytes);
  if (out.transcode.ok()) {
    // With the message's real size the choice is made again; its transcode is spent now.
    choice.link.load = arena_.load();
    choice.message_bytes = message.size();
    const representation_decision d = choose_representation(choice, speeds_, policy);
    if (d.chosen == representation::json) {
      message = byte_buffer{};
      code_json(req, d, scratch, out);
    } else {
      const auto t1 = clock_type::now();
      encoded e = encode_as(std::move(message), d.bfast, policy, scratch);
      out.compress_seconds = seconds_since(t1);
      out.chosen = representation::bfast;
      out.body = std::move(e.body);
      out.message_bytes = e.message_bytes;
      out.compress = e.coding;
      out.compress_token = e.compress_token;
      out.content_encoding = e.content_encoding;
      out.policy_reason = e.policy_reason;
    }
  }
  scratch.shrink(scratch_keep_bytes);
}

std::uint64_t transform_service::output_bytes_bound(std::size_t json_bytes) const noexcept {
  transcode_parallelism most;  // the parts' memory depends on their number, not on the arena
  most.threads = max_transcode_threads();
  return transform_memory_bound(json_bytes, policy_, speeds_, true, most);
}

int transform_service::max_transcode_threads() const noexcept {
  return policy_.max_threads > 0 ? std::min(policy_.max_threads, arena_.concurrency())
                                 : arena_.concurrency();
}

transform_service::transform_service(unsigned threads, std::uint64_t memory_budget,
                                     std::uint64_t inline_max_bytes, metrics& m)
    : budget_(memory_budget),
      inline_max_bytes_(inline_max_bytes),
      m_(m),
      arena_(static_cast<int>(std::max(1u, threads))),
      speeds_(calibrate()),
      pool_(std::max(1u, threads)) {}

transform_service::~transform_service() { stop(); }

void transform_service::stop() {
  pool_.stop();
  pool_.join();
}

task<void> transform_service::run_job(std::size_t bytes, const std::function<void()>& job) {
  std::exception_ptr failure;
  if (bytes <= inline_max_bytes_.load(std::memory_order_relaxed)) {
    job();
    co_return;
  }
  co_await asio::co_spawn(
      pool_.get_executor(),
      [&]() -> asio::awaitable<void, asio::thread_pool::executor_type> {
        try {
          job();
        } catch (...) {
          failure = std::current_exception();
        }
        co_return;
      },
      asio::use_awaitable_t<executor>{});
  if (failure) std::rethrow_exception(failure);
}

task<void> transform_service::run(const transform_request& req, transform_outcome& out) {
  std::exception_ptr failure;
  if (req.json.size() <= inline_max_bytes_.load(std::memory_order_relaxed)) {
    try {
      transform_now(req, out);
    } catch (...) {
      failure = std::current_exception();
    }
  } else {
    co_await asio::co_spawn(
        pool_.get_executor(),
        [&]() -> asio::awaitable<void, asio::thread_pool::executor_type> {
          try {
            transform_now(req, out);
          } catch (...) {
            failure = std::current_exception();
          }
          co_return;
        },
        asio::use_awaitable_t<executor>{});
  }
  if (failure) {
    // Out of memory in the transform: the client gets the original bytes, as for too_large.
    out.transcode.error = transcode_error::too_large;
    out.body = byte_buffer{};
  }
}

}  // namespace bfast::server
