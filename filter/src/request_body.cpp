#include "bfast/filter/request_body.hpp"

#include <boost/beast/core/string.hpp>

#include "bfast/filter/accept.hpp"
#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

struct coding_name {
  std::string_view token;
  transport_codec codec;
};

// The Content-Encodings whose layer the proxy undoes before reading the message.
constexpr coding_name request_codings[] = {
    {"identity", transport_codec::identity},
    {"gzip", transport_codec::gzip},
    {"x-gzip", transport_codec::gzip},
    {"zstd", transport_codec::zstd},
};

}  // namespace

request_body_decision decide_request_body(const http::fields& req, bool has_body,
                                          bool route_decodes) {
  request_body_decision d;
  if (!has_body || !route_decodes || req.count(http::field::content_type) != 1) return d;
  std::string_view type = req[http::field::content_type];
  type = trim_ows(type.substr(0, type.find(';')));
  if (!boost::beast::iequals(type, bfast_media_type)) return d;
  if (req.count(http::field::content_encoding) == 0) {
    d.action = request_body_action::decode;
    return d;
  }
  const std::string coding = combined_value(req, http::field::content_encoding);
  for (const coding_name& c : request_codings) {
    if (boost::beast::iequals(trim_ows(coding), c.token)) {
      d.action = request_body_action::decode;
      d.coding = c.codec;
      return d;
    }
  }
  d.action = request_body_action::unsupported_encoding;
  return d;
}

void rewrite_decoded_request(http::fields& fields, std::size_t body_bytes, std::size_t json_bytes) {
  for (std::string_view name : dropped_on_transform_headers()) fields.erase(name);
  fields.erase(http::field::content_encoding);
  fields.erase(http::field::transfer_encoding);
  fields.set(http::field::content_type, "application/json");
  fields.set(http::field::content_length, std::to_string(json_bytes));
  fields.set(request_status_header_name, "decoded; in=" + std::to_string(body_bytes) +
                                             "; out=" + std::to_string(json_bytes));
}

std::string format_request_refused(std::string_view reason) {
  std::string s = "request_refused; reason=";
  s += reason;
  return s;
}

}  // namespace bfast::filter
