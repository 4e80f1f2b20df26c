#include "walkers.hpp"

#include "bfast/format.hpp"

namespace bfast::detail {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

class dom_walker {
 public:
  explicit dom_walker(walk_context& ctx) : ctx_(ctx), w_(ctx.writer) {}

  transcode_error value(element e, int depth) {
    if (depth > max_depth) return transcode_error::too_deep;
    switch (e.type()) {
      case element_type::OBJECT: return object(e, depth);
      case element_type::ARRAY: return array(e, depth);
      case element_type::STRING: {
        std::string_view s = e.get_string().value_unsafe();
        if (s.size() > UINT32_MAX) return transcode_error::too_large;
        if (starts_with_bom(s)) return transcode_error::leading_bom;
        w_.write_string(s);
        return transcode_error::ok;
      }
      case element_type::INT64: {
        const std::int64_t i = e.get_int64().value_unsafe();
        if (i == 0) ctx_.zero_integer = true;
        w_.write_int(i);
        return transcode_error::ok;
      }
      case element_type::UINT64: {
        // The DOM only types an integer as UINT64 when it does not fit an int64.
        w_.write_big_uint(e.get_uint64().value_unsafe());
        return transcode_error::ok;
      }
      case element_type::DOUBLE: w_.write_double(e.get_double().value_unsafe()); return transcode_error::ok;
      case element_type::BOOL: w_.write_bool(e.get_bool().value_unsafe()); return transcode_error::ok;
      case element_type::NULL_VALUE: w_.write_null(); return transcode_error::ok;
    }
    return transcode_error::invalid_json;
  }

 private:
  transcode_error object(element e, int depth) {
    simdjson::dom::object obj = e.get_object().value_unsafe();
    w_.begin_object();
    std::uint32_t previous = key_table::no_previous;
    for (simdjson::dom::key_value_pair kv : obj) {
      std::uint32_t index = 0;
      if (auto err = ctx_.keys.intern_after(previous, kv.key, index);
          err != transcode_error::ok)
        return err;
      previous = index;
      w_.write_key(index);
      if (auto err = value(kv.value, depth + 1); err != transcode_error::ok) return err;
    }
    w_.end_object();
    return transcode_error::ok;
  }

  transcode_error array(element e, int depth) {
    simdjson::dom::array arr = e.get_array().value_unsafe();
    const std::size_t count = element_count(arr);
    if (count > UINT32_MAX) return transcode_error::too_large;
    // An empty array has no floats to pack, whatever the minimum says.
    if (ctx_.options.pack_float_arrays && count > 0 && count >= ctx_.options.pack_float_min &&
        all_doubles(arr)) {
      // One 0x90 value at `depth`: its doubles are payload, not values one deeper.
      w_.begin_float_array(static_cast<std::uint32_t>(count));
      for (element child : arr) w_.write_packed_double(child.get_double().value_unsafe());
      return transcode_error::ok;
    }
    w_.write_array_header(static_cast<std::uint32_t>(count));
    for (element child : arr) {
      if (auto err = value(child, depth + 1); err != transcode_error::ok) return err;
    }
    return transcode_error::ok;
  }

  // The tape saturates counts at 0xFFFFFF; past that the elements must be counted.
  static std::size_t element_count(simdjson::dom::array arr) {
    const std::size_t saturated = arr.size();
    if (saturated < simdjson::internal::JSON_COUNT_MASK) return saturated;
    std::size_t n = 0;
    for ([[maybe_unused]] element child : arr) ++n;
    return n;
  }

  static bool all_doubles(simdjson::dom::array arr) {
    for (element child : arr) {
      if (child.type() != element_type::DOUBLE) return false;
    }
    return true;
  }

  walk_context& ctx_;
  body_writer& w_;
};

}  // namespace

transcode_error walk_dom(element root, walk_context& ctx) {
  return dom_walker(ctx).value(root, 1);
}

transcode_error walk_dom_elements(simdjson::dom::array root, walk_context& ctx, std::size_t& count) {
  dom_walker walker(ctx);
  count = 0;
  for (element child : root) {
    // Depth 2, as below a root array walked whole.
    if (auto err = walker.value(child, 2); err != transcode_error::ok) return err;
    ++count;
  }
  return transcode_error::ok;
}

}  // namespace bfast::detail
