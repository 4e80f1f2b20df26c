// The built-in demo JSON API behind `bfast-proxy --demo`: deterministic documents generated in
// code, so the README's curl lines work with nothing else installed.
#pragma once
#include <cstddef>
#include <string>

#include "simple_http.hpp"

namespace bfast::server {

// n user records: ids, names, emails, booleans, float scores, ISO dates, tags.
[[nodiscard]] std::string demo_users_json(std::size_t n);
// A product catalog whose attribute keys are mostly distinct (a large key table).
[[nodiscard]] std::string demo_catalog_json();
[[nodiscard]] std::string demo_small_json();

// GET /api/users?n=N, /api/catalog, /api/small, / (an index); ETag and If-None-Match supported.
[[nodiscard]] simple_response demo_api(const simple_request& req);

}  // namespace bfast::server
