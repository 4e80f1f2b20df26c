// The per-exchange filter, in the shape of Envoy's compressor filter: one object per exchange
// sees the request's headers, then the response's, then the body phases, and returns each
// decision with its reason. Each exchange is decided exactly once (the first decision stands);
// the server counts it with the rest of the exchange. The object never touches a socket.
#pragma once
#include <cstdint>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "bfast/filter/decision.hpp"
#include "bfast/representation.hpp"
#include "bfast/filter/rewrite.hpp"

namespace bfast::filter {

struct route_facts {
  bool enabled = true;
  std::uint64_t max_body_bytes = 16ull << 20;
  negotiation rule = negotiation::fastest;
  bool compress_json = false;  // the proxy may gzip/zstd JSON for clients that accept only JSON
};

// What the client's request says about the representations it takes.
struct request_facts {
  std::string_view accept;
  bool has_accept = false;
  bool coding_accepted = false;   // Accept-Encoding admits gzip or zstd
  std::string_view if_none_match;
};

class exchange_filter {
 public:
  enum class outcome : std::uint8_t { undecided, passthrough, transcoded, json };

  // Request phase: which representations are candidates on this route.
  void on_request(const request_facts& request, const route_facts& route);
  // B-FAST is a candidate: under `fastest` whenever the client lists it with q > 0, under
  // `prefer_bfast` when it is at least as preferred as JSON.
  [[nodiscard]] bool negotiated() const noexcept { return negotiated_; }
  // JSON is a candidate too (or the only one).
  [[nodiscard]] bool json_acceptable() const noexcept { return json_acceptable_; }
  // The proxy chooses this exchange's representation or coding, so an eligible body is buffered.
  [[nodiscard]] bool chooses() const noexcept { return chooses_; }
  [[nodiscard]] negotiation rule() const noexcept { return route_.rule; }

  // Response header phase. When the decision is to pass the response through, `response` is
  // rewritten for it and the exchange decided; when it is to transform, it is decided later.
  [[nodiscard]] header_decision on_response_header(unsigned status, http::fields& response);

  // Body phase, the body goes out as the upstream sent it after all: too large or over the
  // budget while buffering, or invalid or not representable when transcoded.
  void pass_body(reason why, http::fields& response);
  // Body phase, transcoded.
  void transformed(http::fields& response, const transformed_body& body);
  // Body phase, JSON was the faster choice (perhaps coded by the proxy).
  void json_chosen(http::fields& response, const json_body& body);

  [[nodiscard]] outcome result() const noexcept { return outcome_; }
  [[nodiscard]] reason why() const noexcept { return why_; }
  // For the access log: "transcoded", "json" or "passthrough", and the reason token (the
  // policy's when it chose).
  [[nodiscard]] std::string_view decision_token() const noexcept;
  [[nodiscard]] std::string_view reason_token() const noexcept;

 private:
  void decide(outcome o, reason r) noexcept;

  route_facts route_;
  bool negotiated_ = false;
  bool json_acceptable_ = false;
  bool chooses_ = false;
  bool holds_variant_ = false;  // If-None-Match names a B-FAST variant tag
  std::string_view policy_reason_;
  header_decision header_;
  outcome outcome_ = outcome::undecided;
  reason why_ = reason::transcoded;
};

}  // namespace bfast::filter
