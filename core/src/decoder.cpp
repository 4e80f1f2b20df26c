#include "bfast/decoder.hpp"

#include "json_sink.hpp"
#include "message_reader.hpp"
#include "unpack.hpp"

namespace bfast {
namespace {

// Validates only.
struct check_sink {
  bool check_utf8(std::string_view s) { return detail::valid_utf8(s); }
  void count(std::uint8_t, int) {}
  void on_null() {}
  void on_bool(bool) {}
  void on_int(std::int64_t) {}
  void on_double(double) {}
  void on_text(std::uint8_t, std::string_view) {}
  void on_bytes(std::string_view) {}
  void begin_array(std::uint32_t, int) {}
  void element(std::uint32_t, int) {}
  void end_array(std::uint32_t, int) {}
  void begin_object(int) {}
  void key(std::size_t, std::string_view, int) {}
  void end_object(std::size_t, int) {}
};

// Counts values by tag and the deepest level reached.
struct stats_sink : check_sink {
  explicit stats_sink(message_info& info) : info_(info) {}
  void count(std::uint8_t t, int depth) {
    ++info_.tag_counts[t];
    ++info_.values;
    if (depth > info_.max_depth) info_.max_depth = depth;
  }
  message_info& info_;
};

template <class Sink>
decode_result read_with(std::span<const std::uint8_t> message, Sink& sink,
                        const decode_options& options, detail::unpacked& scratch) {
  std::span<const std::uint8_t> plain;
  if (decode_result r = detail::unpack(message, options, scratch, plain); !r.ok()) return r;
  detail::message_reader<Sink> reader(plain, sink, options.max_depth);
  return reader.read();
}

}  // namespace

decode_result decode_to_json(std::span<const std::uint8_t> message, std::string& out,
                             const decode_options& options) {
  out.clear();
  detail::json_sink sink(out, options.pretty);
  detail::unpacked scratch;
  decode_result r = read_with(message, sink, options, scratch);
  if (!r.ok()) out.clear();
  return r;
}

decode_result validate_message(std::span<const std::uint8_t> message,
                               const decode_options& options) {
  check_sink sink;
  detail::unpacked scratch;
  return read_with(message, sink, options, scratch);
}

decode_result inspect_message(std::span<const std::uint8_t> message, message_info& info,
                              const decode_options& options) {
  info = {};
  info.wire_bytes = message.size();
  detail::unpacked scratch;
  std::span<const std::uint8_t> plain;
  if (decode_result r = detail::unpack(message, options, scratch, plain); !r.ok()) return r;
  info.layout = scratch.layout;
  info.chunks = scratch.chunks;
  info.chunk_list = scratch.chunk_list;
  info.message_bytes = plain.size();
  stats_sink sink(info);
  detail::message_reader<stats_sink> reader(plain, sink, options.max_depth);
  decode_result r = reader.read();
  if (!r.ok()) return r;
  info.table_entries = reader.keys().size();
  info.table_fillers = reader.fillers();
  info.table_bytes = reader.table_end();
  info.root_bytes = reader.offset() - reader.table_end();
  info.trailing_bytes = plain.size() - reader.offset();
  info.root_tag = plain[reader.table_end()];
  return r;
}

std::string_view tag_name(std::uint8_t t) noexcept {
  switch (t) {
    case tag::null_v: return "null";
    case tag::false_v: return "false";
    case tag::true_v: return "true";
    case tag::int64: return "int64";
    case tag::float64: return "float64";
    case tag::string: return "string";
    case tag::array: return "array";
    case tag::object: return "object";
    case tag::bytes: return "bytes";
    case tag::float64_array: return "float64-array";
    case tag::datetime: return "datetime";
    case tag::date: return "date";
    case tag::time: return "time";
    case tag::uuid: return "uuid";
    case tag::decimal: return "decimal";
    default: break;
  }
  if (t >= 0x30 && t <= 0x3F) return "small-int";
  return "unknown";
}

}  // namespace bfast
