#include "bfast/filter/accept.hpp"

#include <algorithm>
#include <optional>

#include "bfast/filter/headers.hpp"

namespace bfast::filter {
namespace {

// RFC 9110 token characters.
constexpr bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Splits a list on the commas that are outside quoted strings.
std::vector<std::string_view> split_list(std::string_view value, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == sep) {
      out.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(value.substr(std::min(start, value.size())));
  return out;
}

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
std::optional<qvalue> parse_qvalue(std::string_view s) {
  if (s.empty() || (s[0] != '0' && s[0] != '1')) return std::nullopt;
  const bool one = s[0] == '1';
  if (s.size() == 1) return one ? q_max : 0;
  if (s[1] != '.' || s.size() > 5) return std::nullopt;
  unsigned frac = 0;
  std::size_t digits = 0;
  for (std::size_t i = 2; i < s.size(); ++i, ++digits) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    frac = frac * 10 + static_cast<unsigned>(s[i] - '0');
  }
  for (; digits < 3; ++digits) frac *= 10;
  if (one) return frac == 0 ? std::optional<qvalue>(q_max) : std::nullopt;
  return static_cast<qvalue>(frac);
}

// Parses ";name=value" parameters after the first element. Returns false when malformed.
// Sets q when a weight is found; counts the other parameters.
bool parse_parameters(const std::vector<std::string_view>& parts, qvalue& q, bool& others) {
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::string_view p = trim_ows(parts[i]);
    const auto eq = p.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view name = trim_ows(p.substr(0, eq));
    const std::string_view val = trim_ows(p.substr(eq + 1));
    if (!is_token(name) || val.empty()) return false;
    if (iequals(name, "q")) {
      const auto parsed = parse_qvalue(val);
      if (!parsed) return false;
      q = *parsed;
      // Parameters after the weight are accept-ext; they do not make the range more specific.
      return true;
    }
    if (val.front() == '"') {
      if (val.size() < 2 || val.back() != '"') return false;
    } else if (!is_token(val)) {
      return false;
    }
    others = true;
  }
  return true;
}

}  // namespace

std::vector<media_range> parse_accept(std::string_view value) {
  std::vector<media_range> out;
  for (std::string_view element : split_list(value, ',')) {
    element = trim_ows(element);
    if (element.empty()) continue;  // "#rule" allows empty list elements
    const auto parts = split_list(element, ';');
    const std::string_view range = trim_ows(parts[0]);
    const auto slash = range.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string_view type = range.substr(0, slash);
    const std::string_view subtype = range.substr(slash + 1);
    if (!is_token(type) || !is_token(subtype)) continue;
    if (type == "*" && subtype != "*") continue;  // "*/json" is not a media range
    media_range m;
    m.type = lower(type);
    m.subtype = lower(subtype);
    if (!parse_parameters(parts, m.q, m.has_parameters)) continue;
    out.push_back(std::move(m));
  }
  return out;
}

qvalue quality_of(const std::vector<media_range>& ranges, std::string_view type,
                  std::string_view subtype, bool allow_wildcards) {
  // Specificity: exact type with parameters > exact type > type/* > */*.
  int best = -1;
  qvalue q = 0;
  for (const media_range& m : ranges) {
    int rank = -1;
    if (m.type == type && m.subtype == subtype) {
      rank = m.has_parameters ? 3 : 2;
    } else if (allow_wildcards && m.type == type && m.subtype == "*") {
      rank = 1;
    } else if (allow_wildcards && m.type == "*") {
      rank = 0;
    }
    // Among equally specific ranges the first one listed wins.
    if (rank > best) {
      best = rank;
      q = m.q;
    }
  }
  return q;
}

accepted_types accepted_representations(std::string_view accept_value, bool has_header) {
  accepted_types t;
  if (!has_header) {
    t.json = true;
    return t;
  }
  const auto ranges = parse_accept(accept_value);
  const qvalue q_bfast = quality_of(ranges, "application", "x-bfast", /*allow_wildcards=*/false);
  const qvalue q_json = quality_of(ranges, "application", "json");
  t.bfast = q_bfast > 0;
  t.json = q_json > 0;
  t.bfast_preferred = t.bfast && q_bfast >= q_json;
  return t;
}

bool accept_prefers_bfast(std::string_view accept_value) {
  return accepted_representations(accept_value, true).bfast_preferred;
}

bool accept_mentions_bfast(std::string_view accept_value) {
  for (const media_range& m : parse_accept(accept_value))
    if (m.type == "application" && m.subtype == "x-bfast") return true;
  return false;
}

std::string accept_without_bfast(std::string_view accept_value) {
  std::string out;
  for (std::string_view element : split_list(accept_value, ',')) {
    element = trim_ows(element);
    if (element.empty()) continue;
    const std::string_view range = trim_ows(split_list(element, ';')[0]);
    if (iequals(range, bfast_media_type)) continue;
    if (!out.empty()) out += ", ";
    out += element;
  }
  return out;
}

std::vector<coding_preference> parse_accept_encoding(std::string_view value) {
  std::vector<coding_preference> out;
  for (std::string_view element : split_list(value, ',')) {
    element = trim_ows(element);
    if (element.empty()) continue;
    const auto parts = split_list(element, ';');
    const std::string_view coding = trim_ows(parts[0]);
    if (!is_token(coding)) continue;
    coding_preference c;
    c.coding = lower(coding);
    bool others = false;
    if (!parse_parameters(parts, c.q, others)) continue;
    out.push_back(std::move(c));
  }
  return out;
}

bool coding_acceptable(std::string_view accept_encoding, bool has_header, std::string_view coding) {
  if (!has_header) return false;
  const auto prefs = parse_accept_encoding(accept_encoding);
  std::optional<qvalue> exact, wildcard;
  for (const coding_preference& c : prefs) {
    if (c.coding == coding && !exact) exact = c.q;
    if (c.coding == "*" && !wildcard) wildcard = c.q;
  }
  if (exact) return *exact > 0;
  if (wildcard) return *wildcard > 0;
  return false;
}

}  // namespace bfast::filter
