#include "bfast/filter/rewrite.hpp"

#include <algorithm>
#include <vector>

#include <boost/beast/core/string.hpp>

#include "bfast/filter/accept.hpp"
#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

constexpr std::string_view variant_suffix = "-bfast";

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE. Returns the opaque part without quotes.
std::optional<std::string_view> opaque_tag(std::string_view tag, bool* weak = nullptr) {
  tag = trim_ows(tag);
  const bool w = tag.starts_with("W/");
  if (w) tag.remove_prefix(2);
  if (tag.size() < 2 || tag.front() != '"' || tag.back() != '"') return std::nullopt;
  const std::string_view opaque = tag.substr(1, tag.size() - 2);
  if (opaque.find('"') != std::string_view::npos) return std::nullopt;
  if (weak) *weak = w;
  return opaque;
}

// Splits an If-None-Match list; commas may appear inside tags, so split on the quotes.
std::vector<std::string_view> split_tags(std::string_view value) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t' || value[i] == ',')) ++i;
    if (i >= value.size()) break;
    const std::size_t start = i;
    if (value.compare(i, 2, "W/") == 0) i += 2;
    if (i < value.size() && value[i] == '"') {
      const auto close = value.find('"', i + 1);
      i = close == std::string_view::npos ? value.size() : close + 1;
    } else {
      while (i < value.size() && value[i] != ',') ++i;
    }
    out.push_back(trim_ows(value.substr(start, i - start)));
  }
  return out;
}

}  // namespace

void rewrite_request_for_upstream(http::fields& fields, const forward_info& info) {
  const std::string host(fields[http::field::host]);
  strip_hop_by_hop(fields);
  fields.erase(http::field::expect);

  const std::string accept = combined_value(fields, http::field::accept);
  if (info.negotiated) {
    fields.set(http::field::accept, json_media_type);
    fields.set(http::field::accept_encoding, "identity");
    if (fields.count(http::field::if_none_match) > 0) {
      const auto mapped = map_if_none_match(combined_value(fields, http::field::if_none_match),
                                            info.json_acceptable);
      if (mapped) fields.set(http::field::if_none_match, *mapped);
      else fields.erase(http::field::if_none_match);
    }
  } else if (accept_mentions_bfast(accept)) {
    const std::string rest = accept_without_bfast(accept);
    if (rest.empty()) fields.erase(http::field::accept);
    else fields.set(http::field::accept, rest);
  }

  // Behind a trusted ingress the chain it started is kept; otherwise the client could forge it.
  std::string xff;
  if (info.peer_trusted) xff = combined_value(fields, "X-Forwarded-For");
  if (!xff.empty()) xff += ", ";
  xff += info.client_address;
  fields.set("X-Forwarded-For", xff);
  if (!info.peer_trusted || fields.count("X-Forwarded-Proto") == 0)
    fields.set("X-Forwarded-Proto", info.proto);
  if (!info.peer_trusted || fields.count("X-Forwarded-Host") == 0) {
    if (host.empty()) fields.erase("X-Forwarded-Host");
    else fields.set("X-Forwarded-Host", host);
  }
}

void restore_upgrade_request(http::fields& fields, std::string_view protocols) {
  fields.set(http::field::connection, "upgrade");
  fields.set(http::field::upgrade, protocols);
}

bool valid_switching_response(const http::fields& fields) {
  if (combined_value(fields, http::field::upgrade).empty()) return false;
  if (fields.count(http::field::transfer_encoding) > 0) return false;
  auto range = fields.equal_range(http::field::content_length);
  for (auto it = range.first; it != range.second; ++it)
    if (trim_ows(it->value()) != "0") return false;
  return true;
}

void rewrite_switching_response(http::fields& fields) {
  const std::string protocols = combined_value(fields, http::field::upgrade);
  strip_hop_by_hop(fields);
  fields.erase(http::field::content_length);
  fields.set(http::field::connection, "upgrade");
  fields.set(http::field::upgrade, protocols);
}

void add_vary(http::fields& fields, std::string_view token) {
  const std::string vary = combined_value(fields, http::field::vary);
  if (list_contains(vary, "*") || list_contains(vary, token)) return;
  fields.set(http::field::vary, vary.empty() ? std::string(token) : vary + ", " + std::string(token));
}

void add_negotiation_vary(http::fields& fields) {
  add_vary(fields, "Accept");
  add_vary(fields, "Accept-Encoding");
}

std::optional<std::string> variant_etag(std::string_view upstream_etag) {
  const auto opaque = opaque_tag(upstream_etag);
  if (!opaque) return std::nullopt;
  std::string out = "W/\"";
  out += *opaque;
  out += variant_suffix;
  out += '"';
  return out;
}

std::optional<std::string> upstream_etag_of(std::string_view variant) {
  bool weak = false;
  const auto opaque = opaque_tag(variant, &weak);
  if (!opaque || !weak || !opaque->ends_with(variant_suffix)) return std::nullopt;
  std::string out = "\"";
  out += opaque->substr(0, opaque->size() - variant_suffix.size());
  out += '"';
  return out;
}

std::optional<std::string> map_if_none_match(std::string_view value, bool keep_other_tags) {
  if (trim_ows(value) == "*") return std::string("*");
  std::string out;
  for (std::string_view tag : split_tags(value)) {
    const auto up = upstream_etag_of(tag);
    if (!up && !keep_other_tags) continue;
    if (!out.empty()) out += ", ";
    out += up ? std::string_view(*up) : tag;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string merged_accept_ch(std::string_view upstream) {
  std::vector<std::string_view> tokens;
  auto add = [&](std::string_view list) {
    std::size_t start = 0;
    while (start <= list.size()) {
      const std::size_t comma = std::min(list.find(',', start), list.size());
      const std::string_view token = trim_ows(list.substr(start, comma - start));
      start = comma + 1;
      if (token.empty()) continue;
      bool seen = false;
      for (std::string_view t : tokens) seen = seen || boost::beast::iequals(t, token);
      if (!seen) tokens.push_back(token);
    }
  };
  add(upstream);
  add(accept_ch_value);
  std::string out;
  for (std::string_view t : tokens) {
    if (!out.empty()) out += ", ";
    out += t;
  }
  return out;
}

void merge_accept_ch(http::fields& fields) {
  const std::string upstream = combined_value(fields, "Accept-CH");
  fields.set("Accept-CH", merged_accept_ch(upstream));
}

void rewrite_passthrough_response(http::fields& fields, const header_decision& d, reason why) {
  strip_hop_by_hop(fields);
  if (d.vary_accept) add_negotiation_vary(fields);
  if (d.status_header) {
    fields.set(status_header_name, format_passthrough_status(why));
    merge_accept_ch(fields);
  } else {
    // The header is this proxy's word: an upstream's own 502 must not pass for the proxy's.
    fields.erase(status_header_name);
  }
}

void rewrite_transformed_response(http::fields& fields, const transformed_body& body) {
  strip_hop_by_hop(fields);
  for (std::string_view name : dropped_on_transform_headers()) fields.erase(name);
  fields.set(http::field::content_type, bfast_media_type);
  fields.set(http::field::content_length, std::to_string(body.body_bytes));
  add_negotiation_vary(fields);
  if (body.content_encoding.empty()) fields.erase(http::field::content_encoding);
  else fields.set(http::field::content_encoding, body.content_encoding);
  if (fields.count(http::field::etag) > 0) {
    const auto v = variant_etag(fields[http::field::etag]);
    if (v) fields.set(http::field::etag, *v);
    else fields.erase(http::field::etag);
  }
  fields.set(status_header_name,
             format_transcoded_status(body.compress, body.json_bytes, body.body_bytes,
                                      body.policy_reason));
  merge_accept_ch(fields);
}

void rewrite_json_response(http::fields& fields, const json_body& body) {
  strip_hop_by_hop(fields);
  fields.set(http::field::content_length, std::to_string(body.body_bytes));
  add_negotiation_vary(fields);
  if (body.coding != "identity") {
    fields.set(http::field::content_encoding, body.coding);
    if (fields.count(http::field::etag) > 0) {
      const std::string_view tag = trim_ows(fields[http::field::etag]);
      if (!tag.starts_with("W/")) fields.set(http::field::etag, "W/" + std::string(tag));
    }
  }
  fields.set(status_header_name,
             format_json_status(body.coding, body.json_bytes, body.body_bytes, body.policy_reason));
  merge_accept_ch(fields);
}

void rewrite_not_modified_for_variant(http::fields& fields) {
  strip_hop_by_hop(fields);
  if (fields.count(http::field::etag) > 0) {
    const auto v = variant_etag(fields[http::field::etag]);
    if (v) fields.set(http::field::etag, *v);
    else fields.erase(http::field::etag);
  }
  add_negotiation_vary(fields);
}

}  // namespace bfast::filter
