// The per-exchange filter, in the shape of Envoy's compressor filter: one object per exchange
// sees the request's headers, then the response's, then the body phases, and returns each
// decision with its reason. Every exchange that reaches a response is counted exactly once,
// through decision_sink; the object never touches a socket.
#pragma once
#include <cstdint>
#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "bfast/filter/decision.hpp"
#include "bfast/filter/rewrite.hpp"

namespace bfast::filter {

// Where decisions are counted (the server's metrics, a test's tally).
class decision_sink {
 public:
  virtual ~decision_sink() = default;
  virtual void count(reason r) noexcept = 0;
};

struct route_facts {
  bool enabled = true;
  std::uint64_t max_body_bytes = 16ull << 20;
};

class exchange_filter {
 public:
  enum class outcome : std::uint8_t { undecided, passthrough, transcoded };

  explicit exchange_filter(decision_sink& sink) noexcept : sink_(sink) {}

  // Request phase: whether the client asked for B-FAST on a route that allows it.
  void on_request(std::string_view accept, const route_facts& route);
  [[nodiscard]] bool negotiated() const noexcept { return negotiated_; }

  // Response header phase. When the decision is to pass the response through, `response` is
  // rewritten for it and the decision counted; when it is to transform, nothing is counted yet.
  [[nodiscard]] header_decision on_response_header(unsigned status, http::fields& response);

  // Body phase, the body goes out as the upstream sent it after all: too large or over the
  // budget while buffering, or invalid or not representable when transcoded.
  void pass_body(reason why, http::fields& response);
  // Body phase, transcoded.
  void transformed(http::fields& response, const transformed_body& body);

  [[nodiscard]] outcome result() const noexcept { return outcome_; }
  [[nodiscard]] reason why() const noexcept { return why_; }
  // For the access log: "transcoded" or "passthrough", and the reason token.
  [[nodiscard]] std::string_view decision_token() const noexcept;
  [[nodiscard]] std::string_view reason_token() const noexcept;

 private:
  void decide(outcome o, reason r) noexcept;

  decision_sink& sink_;
  route_facts route_;
  bool negotiated_ = false;
  header_decision header_;
  outcome outcome_ = outcome::undecided;
  reason why_ = reason::transcoded;
};

}  // namespace bfast::filter
