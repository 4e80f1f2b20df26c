#include "bfast/filter/exchange.hpp"

#include "bfast/filter/accept.hpp"

namespace bfast::filter {

void exchange_filter::on_request(std::string_view accept, const route_facts& route) {
  route_ = route;
  negotiated_ = route.enabled && accept_prefers_bfast(accept);
}

header_decision exchange_filter::on_response_header(unsigned status, http::fields& response) {
  exchange_facts facts;
  facts.negotiated = negotiated_;
  facts.route_enabled = route_.enabled;
  facts.size_limit = route_.max_body_bytes;
  header_ = decide_on_headers(status, response, facts);
  if (!header_.transform) {
    rewrite_passthrough_response(response, header_, header_.why);
    // The upstream's 304 answers the mapped validators: it describes the variant.
    if (negotiated_ && status == 304) rewrite_not_modified_for_variant(response);
    decide(outcome::passthrough, header_.why);
  }
  return header_;
}

void exchange_filter::pass_body(reason why, http::fields& response) {
  rewrite_passthrough_response(response, header_, why);
  decide(outcome::passthrough, why);
}

void exchange_filter::transformed(http::fields& response, const transformed_body& body) {
  rewrite_transformed_response(response, body);
  decide(outcome::transcoded, reason::transcoded);
}

void exchange_filter::decide(outcome o, reason r) noexcept {
  if (outcome_ != outcome::undecided) return;  // one count per exchange
  outcome_ = o;
  why_ = r;
  sink_.count(r);
}

std::string_view exchange_filter::decision_token() const noexcept {
  return outcome_ == outcome::transcoded ? "transcoded" : "passthrough";
}

std::string_view exchange_filter::reason_token() const noexcept {
  return outcome_ == outcome::undecided ? std::string_view{} : filter::reason_token(why_);
}

}  // namespace bfast::filter
