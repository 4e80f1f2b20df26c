#include <charconv>
#include <cstdlib>
#include <string>

#include "bfast/format.hpp"
#include "json_text.hpp"
#include "walkers.hpp"

namespace bfast::detail {
namespace {

namespace od = simdjson::ondemand;

std::string_view trim_right(std::string_view t) {
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' || t.back() == '\r'))
    t.remove_suffix(1);
  return t;
}

class ondemand_walker {
 public:
  explicit ondemand_walker(walk_context& ctx) : ctx_(ctx), w_(ctx.writer) {}

  simdjson::error_code json_error = simdjson::SUCCESS;

  transcode_error value(od::value v, int depth) {
    if (depth > max_depth) return transcode_error::too_deep;
    od::json_type type;
    if (fail(v.type().get(type))) return transcode_error::invalid_json;
    switch (type) {
      case od::json_type::object: return object(v, depth);
      case od::json_type::array: return array(v, depth);
      case od::json_type::string: {
        std::string_view s;
        if (fail(v.get_string().get(s))) return transcode_error::invalid_json;
        if (s.size() > UINT32_MAX) return transcode_error::too_large;
        if (starts_with_bom(s)) return transcode_error::leading_bom;
        w_.write_string(s);
        return transcode_error::ok;
      }
      case od::json_type::number: return number(v);
      case od::json_type::boolean: {
        bool b;
        if (fail(v.get_bool().get(b))) return transcode_error::invalid_json;
        w_.write_bool(b);
        return transcode_error::ok;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (fail(v.is_null().get(is_null)) || !is_null) {
          if (json_error == simdjson::SUCCESS) json_error = simdjson::N_ATOM_ERROR;
          return transcode_error::invalid_json;
        }
        w_.write_null();
        return transcode_error::ok;
      }
    }
    json_error = simdjson::TAPE_ERROR;
    return transcode_error::invalid_json;
  }

 private:
  bool fail(simdjson::error_code e) {
    if (e == simdjson::SUCCESS) return false;
    json_error = e;
    return true;
  }

  transcode_error object(od::value v, int depth) {
    od::object obj;
    if (fail(v.get_object().get(obj))) return transcode_error::invalid_json;
    w_.begin_object();
    std::uint32_t previous = key_table::no_previous;
    for (auto field_result : obj) {
      od::field field;
      if (fail(std::move(field_result).get(field))) return transcode_error::invalid_json;
      std::string_view key;
      if (fail(field.unescaped_key().get(key))) return transcode_error::invalid_json;
      std::uint32_t index = 0;
      if (auto err = ctx_.keys.intern_after(previous, key, index);
          err != transcode_error::ok)
        return err;
      previous = index;
      w_.write_key(index);
      if (auto err = value(field.value(), depth + 1); err != transcode_error::ok) return err;
    }
    w_.end_object();
    return transcode_error::ok;
  }

  transcode_error array(od::value v, int depth) {
    od::array arr;
    if (fail(v.get_array().get(arr))) return transcode_error::invalid_json;
    const std::size_t count_at = w_.begin_array();
    std::uint64_t count = 0;
    for (auto child_result : arr) {
      od::value child;
      if (fail(std::move(child_result).get(child))) return transcode_error::invalid_json;
      if (auto err = value(child, depth + 1); err != transcode_error::ok) return err;
      if (++count > UINT32_MAX) return transcode_error::too_large;
    }
    w_.end_array(count_at, static_cast<std::uint32_t>(count));
    return transcode_error::ok;
  }

  transcode_error number(od::value v) {
    const std::string_view token = trim_right(v.raw_json_token());
    bool is_integer = false;
    if (!json_number_syntax(token, is_integer)) {
      json_error = simdjson::NUMBER_ERROR;
      return transcode_error::invalid_json;
    }
    if (is_integer) {
      // JSON.parse gives -0, the TypeScript decoder +0 from any integer tag, and Python an int.
      if (token == "-0") return transcode_error::negative_zero;
      std::int64_t i;
      if (v.get_int64().get(i) == simdjson::SUCCESS) {
        w_.write_int(i);
      } else {
        // Beyond 64 bits: the exact digits, which Python reads as Decimal and JavaScript as
        // parseFloat, i.e. what json.loads and JSON.parse make of them.
        w_.write_text(tag::decimal, token);
      }
      return transcode_error::ok;
    }
    // Parsed from the token: correctly rounded for any mantissa length, and an overflow (1e400)
    // becomes the infinity that JSON parsers make of it.
    double d = 0;
    const auto parsed = std::from_chars(token.data(), token.data() + token.size(), d);
    if (parsed.ec == std::errc::result_out_of_range) {
      const std::string copy(token);
      d = std::strtod(copy.c_str(), nullptr);
    }
    w_.write_double(d);
    return transcode_error::ok;
  }

  walk_context& ctx_;
  body_writer& w_;
};

}  // namespace

ondemand_outcome walk_ondemand(od::parser& parser, simdjson::padded_string_view wrapped,
                               walk_context& ctx) {
  ondemand_outcome out;
  ondemand_walker walker(ctx);
  od::document doc;
  auto located = [&](transcode_error e) {
    out.error = e;
    out.json_error = walker.json_error;
    const char* at = nullptr;
    if (doc.current_location().get(at) == simdjson::SUCCESS && at != nullptr) {
      out.offset = static_cast<std::size_t>(at - wrapped.data());
    } else {
      out.offset = wrapped.size();
    }
    return out;
  };
  if (auto e = parser.iterate(wrapped).get(doc); e != simdjson::SUCCESS) {
    walker.json_error = e;
    out.error = transcode_error::invalid_json;
    out.json_error = e;
    return out;
  }
  od::array root;
  if (auto e = doc.get_array().get(root); e != simdjson::SUCCESS) {
    walker.json_error = e;
    return located(transcode_error::invalid_json);
  }
  std::size_t count = 0;
  for (auto child_result : root) {
    od::value child;
    if (auto e = std::move(child_result).get(child); e != simdjson::SUCCESS) {
      walker.json_error = e;
      return located(transcode_error::invalid_json);
    }
    if (++count > 1) {
      walker.json_error = simdjson::TAPE_ERROR;
      return located(transcode_error::invalid_json);
    }
    if (auto err = walker.value(child, 1); err != transcode_error::ok) return located(err);
  }
  // Past the root there must be nothing: a location that still resolves means trailing tokens.
  const char* after = nullptr;
  if (count != 1 || doc.current_location().get(after) == simdjson::SUCCESS) {
    walker.json_error = count == 0 ? simdjson::EMPTY : simdjson::TRAILING_CONTENT;
    return located(transcode_error::invalid_json);
  }
  return out;
}

}  // namespace bfast::detail
