#include "commands.hpp"

#include <cstdio>
#include <span>
#include <string>

#include "bfast/decoder.hpp"
#include "bfast/transcoder.hpp"
#include "cli_io.hpp"

namespace bfast::cli {
namespace {

struct parsed_args {
  std::string input = "-";
  std::string output = "-";
  std::string compress = "none";
  bool pack_floats = false;
  bool pretty = false;
  bool has_input = false;
};

// Parses the flags `allowed` names (encode: "cpo", decode: "yo", inspect: "");
// returns an empty string or the usage error.
std::string parse(const std::vector<std::string>& args, std::string_view allowed, parsed_args& out) {
  auto allows = [&](char c) { return allowed.find(c) != std::string_view::npos; };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" && allows('o')) {
      if (i + 1 >= args.size()) return "-o needs a file name";
      out.output = args[++i];
    } else if (a.rfind("--compress=", 0) == 0 && allows('c')) {
      out.compress = a.substr(11);
      if (out.compress == "lz4" || out.compress == "auto")
        return "--compress=" + out.compress + " is not available in this build; use --compress=none";
      if (out.compress != "none") return "unknown --compress value '" + out.compress + "'";
    } else if ((a == "--threads" || a.rfind("--threads=", 0) == 0) && allows('c')) {
      return "--threads is not available in this build (no compression)";
    } else if (a == "--pack-floats" && allows('p')) {
      out.pack_floats = true;
    } else if (a == "--pretty" && allows('y')) {
      out.pretty = true;
    } else if (a == "-" || a.empty() || a[0] != '-') {
      if (out.has_input) return "more than one input file";
      out.input = a;
      out.has_input = true;
    } else {
      return "unknown option '" + a + "'";
    }
  }
  return {};
}

int bad_input(const std::string& message) {
  std::fprintf(stderr, "bfast: %s\n", message.c_str());
  return exit_bad_input;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

int usage_error(const std::string& message) {
  std::fprintf(stderr, "bfast: %s\n(run 'bfast --help' for usage)\n", message.c_str());
  return exit_usage;
}

int run_encode(const std::vector<std::string>& args) {
  parsed_args a;
  if (std::string err = parse(args, "cpo", a); !err.empty()) return usage_error(err);
  if (a.output == "-" && stdout_is_terminal())
    return usage_error("refusing to write binary output to a terminal; use -o FILE or redirect stdout");
  std::string json, error;
  if (!read_input(a.input, json, error)) return bad_input(error);

  transcode_options options;
  options.pack_float_arrays = a.pack_floats;
  transcoder t(options);
  byte_buffer out;
  const transcode_result r = t.transcode(json, out);
  if (r.error == transcode_error::invalid_json) {
    return bad_input("invalid JSON at byte " + std::to_string(r.offset) + ": " +
                     std::string(r.detail));
  }
  if (!r.ok()) {
    return bad_input("not representable in B-FAST: " + std::string(reason_token(r.error)));
  }
  if (!write_output(a.output, out.view(), true, error)) return bad_input(error);
  return exit_ok;
}

int run_decode(const std::vector<std::string>& args) {
  parsed_args a;
  if (std::string err = parse(args, "yo", a); !err.empty()) return usage_error(err);
  std::string message, error, json;
  if (!read_input(a.input, message, error)) return bad_input(error);
  decode_options options;
  options.pretty = a.pretty;
  const decode_result r = decode_to_json(bytes_of(message), json, options);
  if (!r.ok()) {
    return bad_input("malformed B-FAST at byte " + std::to_string(r.offset) + ": " +
                     std::string(reason_token(r.error)));
  }
  json += '\n';
  if (!write_output(a.output, json, false, error)) return bad_input(error);
  return exit_ok;
}

int run_inspect(const std::vector<std::string>& args) {
  parsed_args a;
  if (std::string err = parse(args, "", a); !err.empty()) return usage_error(err);
  std::string message, error;
  if (!read_input(a.input, message, error)) return bad_input(error);
  message_info info;
  const decode_result r = inspect_message(bytes_of(message), info);
  if (!r.ok()) {
    return bad_input("malformed B-FAST at byte " + std::to_string(r.offset) + ": " +
                     std::string(reason_token(r.error)));
  }
  static constexpr const char* layouts[] = {"uncompressed", "lz4 single block", "lz4 parallel chunks"};
  std::printf("layout:          %s\n", layouts[static_cast<int>(info.layout)]);
  std::printf("wire bytes:      %zu\n", info.wire_bytes);
  std::printf("message bytes:   %zu\n", info.message_bytes);
  if (info.chunks > 0) std::printf("chunks:          %zu\n", info.chunks);
  std::printf("string table:    %zu entries (%zu fillers), %zu bytes with header\n",
              info.table_entries, info.table_fillers, info.table_bytes);
  std::printf("root:            %s, %zu bytes\n", std::string(tag_name(info.root_tag)).c_str(),
              info.root_bytes);
  std::printf("trailing bytes:  %zu\n", info.trailing_bytes);
  std::printf("max depth:       %d\n", info.max_depth);
  std::printf("values:          %zu\n", info.values);
  for (std::size_t t = 0; t < info.tag_counts.size(); ++t) {
    if (info.tag_counts[t] == 0) continue;
    std::printf("  0x%02zX %-14s %zu\n", t,
                std::string(tag_name(static_cast<std::uint8_t>(t))).c_str(), info.tag_counts[t]);
  }
  return exit_ok;
}

}  // namespace bfast::cli
