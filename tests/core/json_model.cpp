#include "json_model.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

namespace bfast::test {
namespace {

constexpr int nesting_limit = 4096;  // far beyond what B-FAST carries; keeps the stack bounded

class reader {
 public:
  explicit reader(std::string_view t) : t_(t) {}

  std::optional<json_value> document() {
    json_value v;
    ws();
    if (!value(v, 0)) return std::nullopt;
    ws();
    if (i_ != t_.size()) return std::nullopt;
    return v;
  }

 private:
  void ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view w) {
    if (t_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  bool value(json_value& v, int depth) {
    if (depth > nesting_limit || i_ >= t_.size()) return false;
    switch (t_[i_]) {
      case '{': return object(v, depth);
      case '[': return array(v, depth);
      case '"': v.type = json_value::kind::string; return string(v.text);
      case 't': v.type = json_value::kind::boolean; v.boolean = true; return literal("true");
      case 'f': v.type = json_value::kind::boolean; v.boolean = false; return literal("false");
      case 'n': v.type = json_value::kind::null_v; return literal("null");
      default: return number(v);
    }
  }

  bool object(json_value& v, int depth) {
    v.type = json_value::kind::object;
    std::unordered_map<std::string, std::size_t> index;
    ++i_;
    ws();
    if (eat('}')) return true;
    for (;;) {
      ws();
      std::string key;
      if (i_ >= t_.size() || t_[i_] != '"' || !string(key)) return false;
      ws();
      if (!eat(':')) return false;
      ws();
      json_value child;
      if (!value(child, depth + 1)) return false;
      // json.loads keeps a repeated key at its first position with its last value.
      const auto [at, fresh] = index.try_emplace(key, v.members.size());
      if (fresh) {
        v.members.push_back(json_member{std::move(key), std::move(child)});
      } else {
        v.members[at->second].value = std::move(child);
      }
      ws();
      if (eat('}')) return true;
      if (!eat(',')) return false;
    }
  }

  bool array(json_value& v, int depth) {
    v.type = json_value::kind::array;
    ++i_;
    ws();
    if (eat(']')) return true;
    for (;;) {
      ws();
      json_value child;
      if (!value(child, depth + 1)) return false;
      v.items.push_back(std::move(child));
      ws();
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }

  bool hex4(std::uint32_t& out) {
    if (t_.size() - i_ < 4) return false;
    out = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = t_[i_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }

  bool string(std::string& out) {
    ++i_;
    for (;;) {
      if (i_ >= t_.size()) return false;
      const auto c = static_cast<unsigned char>(t_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= t_.size()) return false;
      const char e = t_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: return false;
      }
    }
  }

  bool digits() {
    const std::size_t start = i_;
    while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    return i_ > start;
  }

  bool number(json_value& v) {
    const std::size_t start = i_;
    eat('-');
    if (eat('0')) {
    } else if (i_ < t_.size() && t_[i_] >= '1' && t_[i_] <= '9') {
      digits();
    } else {
      return false;
    }
    bool integer = true;
    if (eat('.')) {
      integer = false;
      if (!digits()) return false;
    }
    if (eat('e') || eat('E')) {
      integer = false;
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    const std::string token(t_.substr(start, i_ - start));
    if (integer) {
      v.type = json_value::kind::integer;
      v.text = token == "-0" ? "0" : token;
    } else {
      v.type = json_value::kind::floating;
      v.number = std::strtod(token.c_str(), nullptr);  // glibc rounds correctly; overflow -> inf
    }
    return true;
  }

  std::string_view t_;
  std::size_t i_ = 0;
};

const char* kind_name(json_value::kind k) {
  switch (k) {
    case json_value::kind::null_v: return "null";
    case json_value::kind::boolean: return "bool";
    case json_value::kind::integer: return "int";
    case json_value::kind::floating: return "float";
    case json_value::kind::string: return "string";
    case json_value::kind::array: return "array";
    case json_value::kind::object: return "object";
  }
  return "?";
}

}  // namespace

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<json_value> parse_json_model(std::string_view text) { return reader(text).document(); }

std::string json_difference(const json_value& a, const json_value& b, const std::string& path) {
  if (a.type != b.type)
    return path + ": " + kind_name(a.type) + " vs " + kind_name(b.type);
  switch (a.type) {
    case json_value::kind::null_v: return {};
    case json_value::kind::boolean:
      return a.boolean == b.boolean ? std::string{} : path + ": bool differs";
    case json_value::kind::integer:
    case json_value::kind::string:
      return a.text == b.text ? std::string{}
                              : path + ": '" + a.text.substr(0, 60) + "' vs '" +
                                    b.text.substr(0, 60) + "'";
    case json_value::kind::floating: {
      std::uint64_t x = 0, y = 0;
      std::memcpy(&x, &a.number, 8);
      std::memcpy(&y, &b.number, 8);
      return x == y ? std::string{}
                    : path + ": " + std::to_string(a.number) + " vs " + std::to_string(b.number);
    }
    case json_value::kind::array: {
      if (a.items.size() != b.items.size())
        return path + ": length " + std::to_string(a.items.size()) + " vs " +
               std::to_string(b.items.size());
      for (std::size_t k = 0; k < a.items.size(); ++k) {
        std::string d = json_difference(a.items[k], b.items[k], path + "[" + std::to_string(k) + "]");
        if (!d.empty()) return d;
      }
      return {};
    }
    case json_value::kind::object: {
      if (a.members.size() != b.members.size())
        return path + ": " + std::to_string(a.members.size()) + " keys vs " +
               std::to_string(b.members.size());
      for (std::size_t k = 0; k < a.members.size(); ++k) {
        if (a.members[k].key != b.members[k].key)
          return path + ": key #" + std::to_string(k) + " '" + a.members[k].key + "' vs '" +
                 b.members[k].key + "'";
        std::string d = json_difference(a.members[k].value, b.members[k].value,
                                        path + "." + a.members[k].key);
        if (!d.empty()) return d;
      }
      return {};
    }
  }
  return {};
}

}  // namespace bfast::test
