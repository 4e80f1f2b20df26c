// The request direction: a B-FAST body read whole, converted to JSON under the route's bounds and
// the transform memory budget, and the proxy's answer when it will not convert it.
#include <algorithm>
#include <new>

#include "bfast/filter/rewrite.hpp"
#include "bfast/request_decode.hpp"
#include "client_session.hpp"
#include "wire_format.hpp"

namespace bfast::server {
namespace {

// Every buffer the conversion allocates is leased from the transform memory budget first.
class lease_gate final : public memory_gate {
 public:
  explicit lease_gate(budget_lease& lease) : lease_(lease) {}
  [[nodiscard]] bool reserve(std::size_t bytes) noexcept override { return lease_.grow(bytes); }

 private:
  budget_lease& lease_;
};

http::status status_for(const request_decode_result& r) {
  if (r.refusal == request_refusal::over_budget) return http::status::service_unavailable;
  return r.too_large() ? http::status::payload_too_large : http::status::bad_request;
}

}  // namespace

task<std::optional<bool>> proxy_session::convert_request_body(
    http::request<http::empty_body>& ureq, const filter::request_body_decision& plan,
    const config::route_rule& route, bool expect_continue, budget_lease& lease,
    std::string& json) {
  const std::uint64_t limit =
      std::min<std::uint64_t>(cfg_->max_request_body_bytes, route.max_request_message_bytes);
  // Refused before 100 Continue, so the client never sends what would be thrown away.
  if (const auto cl = req_header_->content_length(); cl && *cl > limit)
    co_return co_await refuse_request_body(http::status::payload_too_large, "body_too_large", false);
  byte_buffer body;
  switch (co_await read_request_body(expect_continue, limit, body, lease)) {
    case request_outcome::sent:
      break;
    case request_outcome::client_gone:
      ex_.status = 499;
      ex_.decision = "error";
      ex_.reason = "client_closed";
      co_return false;
    case request_outcome::bad_body:
      co_return co_await reject(http::status::bad_request, reject_kind::bad_chunked);
    case request_outcome::body_too_large:
      co_return co_await refuse_request_body(http::status::payload_too_large, "body_too_large",
                                             false);
    case request_outcome::overloaded:
    case request_outcome::upstream_failed:  // nothing was sent up yet
      co_return co_await refuse_request_body(http::status::service_unavailable, "overloaded",
                                             false);
  }
  ex_.request_in = body.size();

  request_decode_limits limits;
  limits.max_message_bytes = route.max_request_message_bytes;
  limits.max_json_bytes = route.max_decoded_request_bytes;
  lease_gate gate(lease);
  request_decode_result r;
  try {
    co_await s_.transforms.run_job(body.size(), [&] {
      r = decode_request_body(plan.coding, body.span(), limits, json, &gate);
    });
  } catch (const std::bad_alloc&) {
    json = std::string();
    r = {};
    r.refusal = request_refusal::over_budget;
  }
  // The body was read whole: the connection can carry the next request.
  if (!r.ok()) co_return co_await refuse_request_body(status_for(r), r.reason(), client_keep_alive());

  filter::rewrite_decoded_request(ureq, body.size(), json.size());
  ex_.request_body = "decoded";
  ex_.request_out = json.size();
  s_.stats.requests_decoded.fetch_add(1, std::memory_order_relaxed);
  s_.stats.request_decode_in_bytes.fetch_add(body.size(), std::memory_order_relaxed);
  s_.stats.request_decode_out_bytes.fetch_add(json.size(), std::memory_order_relaxed);
  co_return std::nullopt;
}

task<request_outcome> proxy_session::send_converted_body(std::string_view json) {
  const body_piece piece({}, json, false, true);
  if (!co_await up_.send_body(piece)) co_return request_outcome::upstream_failed;
  up_.body_sent();
  co_return request_outcome::sent;
}

task<bool> proxy_session::refuse_request_body(http::status status, std::string_view reason,
                                              bool keep) {
  s_.stats.count_request_refused(reason);
  ex_.decision = "request_refused";
  ex_.reason = reason;
  ex_.request_body = "refused";
  co_return co_await send_simple(status, std::string(reason) + "\n", keep,
                                 filter::format_request_refused(reason));
}

}  // namespace bfast::server
