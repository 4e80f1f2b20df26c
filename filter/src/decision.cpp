#include "bfast/filter/decision.hpp"

#include <charconv>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

constexpr std::array<std::string_view, reason_count> reason_tokens{
    "transcoded", "json_chosen", "not_acceptable", "route_disabled", "status",        "not_json",
    "no_transform", "encoded",      "too_large",      "overloaded",    "invalid_json",
    "key_too_long", "too_many_keys", "too_deep",      "lone_surrogate", "proto_key",
    "leading_bom",  "negative_zero",
};

}  // namespace

std::string_view reason_token(reason r) noexcept {
  const auto i = static_cast<std::size_t>(r);
  return i < reason_tokens.size() ? reason_tokens[i] : "unknown";
}

reason reason_from(transcode_error e) noexcept {
  switch (e) {
    case transcode_error::ok: return reason::transcoded;
    case transcode_error::invalid_json: return reason::invalid_json;
    case transcode_error::key_too_long: return reason::key_too_long;
    case transcode_error::too_many_keys: return reason::too_many_keys;
    case transcode_error::too_deep: return reason::too_deep;
    case transcode_error::lone_surrogate: return reason::lone_surrogate;
    case transcode_error::proto_key: return reason::proto_key;
    case transcode_error::too_large: return reason::too_large;
    case transcode_error::leading_bom: return reason::leading_bom;
    case transcode_error::negative_zero: return reason::negative_zero;
  }
  return reason::invalid_json;
}

std::string media_type_of(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string out(trim_ows(content_type.substr(0, semi)));
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool is_json_media_type(std::string_view media_type) noexcept {
  if (media_type == "application/json") return true;
  // Structured syntax suffix (RFC 6839): application/problem+json, application/vnd.x+json.
  const auto slash = media_type.find('/');
  return slash != std::string_view::npos && media_type.size() > slash + 6 &&
         media_type.substr(0, slash) == "application" && media_type.ends_with("+json");
}

bool not_modified_may_vary(const http::fields& response) {
  // A 304 seldom names its type: only a type it does name can show its 200 was not JSON.
  const std::string_view type = response[http::field::content_type];
  if (!trim_ows(type).empty() && !is_json_media_type(media_type_of(type))) return false;
  const std::string coding = combined_value(response, http::field::content_encoding);
  if (!trim_ows(coding).empty() && !boost::beast::iequals(trim_ows(coding), "identity"))
    return false;
  return !list_contains(combined_value(response, http::field::cache_control), "no-transform");
}

header_decision decide_on_headers(unsigned status, const http::fields& response,
                                  const exchange_facts& facts) {
  header_decision d;
  d.status_header = facts.negotiated;
  auto pass = [&](reason r) {
    d.transform = false;
    d.why = r;
    return d;
  };
  if (!facts.route_enabled) return pass(reason::route_disabled);
  if (status == 304) {
    // RFC 9110 §15.4.5: a 304 carries the Vary its 200 would have carried.
    d.vary_accept = not_modified_may_vary(response);
    return pass(reason::status);
  }
  if (status != 200) return pass(reason::status);
  if (!is_json_media_type(media_type_of(response[http::field::content_type])))
    return pass(reason::not_json);
  const std::string coding = combined_value(response, http::field::content_encoding);
  if (!trim_ows(coding).empty() && !boost::beast::iequals(trim_ows(coding), "identity"))
    return pass(reason::encoded);
  if (list_contains(combined_value(response, http::field::cache_control), "no-transform"))
    return pass(reason::no_transform);

  // From here on the body is eligible: a B-FAST variant exists for clients that ask.
  d.vary_accept = true;
  d.status_header = true;
  const auto cl = response.find(http::field::content_length);
  if (cl != response.end()) {
    std::uint64_t n = 0;
    const std::string_view v = trim_ows(cl->value());
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && p == v.data() + v.size() && n > facts.size_limit)
      return pass(reason::too_large);
  }
  if (!facts.negotiated) return pass(reason::not_acceptable);
  d.transform = true;
  d.why = reason::transcoded;
  return d;
}

std::string format_upstream_error_status(std::string_view kind) {
  std::string s = "upstream_error; reason=";
  s += kind;
  return s;
}

std::string format_passthrough_status(reason why) {
  std::string s = "passthrough; reason=";
  s += reason_token(why);
  return s;
}

namespace {

std::string format_chosen(std::string_view head, std::string_view field, std::string_view coding,
                          std::size_t in, std::size_t out, std::string_view policy_reason) {
  std::string s(head);
  s += "; ";
  s += field;
  s += '=';
  s += coding;
  s += "; in=" + std::to_string(in);
  s += "; out=" + std::to_string(out);
  s += "; reason=";
  s += policy_reason;
  return s;
}

}  // namespace

std::string format_transcoded_status(std::string_view compress, std::size_t in, std::size_t out,
                                     std::string_view policy_reason) {
  return format_chosen("transcoded", "compress", compress, in, out, policy_reason);
}

std::string format_json_status(std::string_view coding, std::size_t in, std::size_t out,
                               std::string_view policy_reason) {
  return format_chosen("json", "coding", coding, in, out, policy_reason);
}

}  // namespace bfast::filter
