#include "bfast/filter/exchange.hpp"

#include "bfast/filter/accept.hpp"

namespace bfast::filter {

void exchange_filter::on_request(const request_facts& request, const route_facts& route) {
  route_ = route;
  const accepted_types t = accepted_representations(request.accept, request.has_accept);
  negotiated_ = route.enabled &&
                (route.rule == negotiation::fastest ? t.bfast : t.bfast_preferred);
  // Under prefer_bfast a client that prefers JSON is served JSON as before.
  json_acceptable_ = t.json;
  chooses_ = negotiated_ || (route.enabled && route.compress_json && t.json &&
                             request.coding_accepted);
  holds_variant_ = false;
  if (negotiated_ && !request.if_none_match.empty()) {
    const auto mapped = map_if_none_match(request.if_none_match);
    holds_variant_ = mapped && *mapped != "*";
  }
}

header_decision exchange_filter::on_response_header(unsigned status, http::fields& response) {
  exchange_facts facts;
  facts.negotiated = chooses_;
  facts.route_enabled = route_.enabled;
  facts.size_limit = route_.max_body_bytes;
  header_ = decide_on_headers(status, response, facts);
  if (!header_.transform) {
    rewrite_passthrough_response(response, header_, header_.why);
    // The upstream's 304 answers the mapped validators: it describes the variant.
    if (negotiated_ && status == 304 && (holds_variant_ || !json_acceptable_))
      rewrite_not_modified_for_variant(response);
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
  policy_reason_ = body.policy_reason;
  decide(outcome::transcoded, reason::transcoded);
}

void exchange_filter::json_chosen(http::fields& response, const json_body& body) {
  rewrite_json_response(response, body);
  policy_reason_ = body.policy_reason;
  decide(outcome::json, reason::json_chosen);
}

void exchange_filter::decide(outcome o, reason r) noexcept {
  if (outcome_ != outcome::undecided) return;  // one decision per exchange
  outcome_ = o;
  why_ = r;
}

std::string_view exchange_filter::decision_token() const noexcept {
  switch (outcome_) {
    case outcome::transcoded: return "transcoded";
    case outcome::json: return "json";
    default: return "passthrough";
  }
}

std::string_view exchange_filter::reason_token() const noexcept {
  if (outcome_ == outcome::undecided) return {};
  if (!policy_reason_.empty()) return policy_reason_;
  return filter::reason_token(why_);
}

}  // namespace bfast::filter
