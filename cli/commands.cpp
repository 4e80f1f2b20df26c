#include "commands.hpp"

#include <charconv>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "bfast/calibrate.hpp"
#include "bfast/compress_arena.hpp"
#include "bfast/decoder.hpp"
#include "bfast/encode.hpp"
#include "bfast/policy.hpp"
#include "bfast/transcoder.hpp"
#include "cli_io.hpp"
#include "diagnose.hpp"

namespace bfast::cli {
namespace {

struct parsed_args {
  std::string input = "-";
  std::string output = "-";
  std::string compress = "none";
  int threads = 0;  // 0: the hardware concurrency
  std::optional<double> rtt_ms;
  std::optional<double> downlink_mbps;
  bool accept_gzip = false;
  bool accept_zstd = false;
  bool apply_encoding = false;
  bool save_data = false;
  bool verbose = false;
  bool pack_floats = false;
  bool pretty = false;
  bool has_input = false;
};

bool parse_number(const std::string& text, double& v) {
  const char* end = text.data() + text.size();
  auto r = std::from_chars(text.data(), end, v);
  return r.ec == std::errc() && r.ptr == end && v >= 0;
}

// "--name VALUE" or "--name=VALUE": sets `value` and returns true when `a` is that flag.
bool flag_value(const std::vector<std::string>& args, std::size_t& i, std::string_view name,
                std::string& value, std::string& error) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) {
      error = std::string(name) + " needs a value";
      return true;
    }
    value = args[++i];
    return true;
  }
  if (a.size() > name.size() && a.compare(0, name.size(), name) == 0 && a[name.size()] == '=') {
    value = a.substr(name.size() + 1);
    return true;
  }
  return false;
}

// Parses the flags `allowed` names (encode: "cpov", decode: "yo", inspect: "");
// returns an empty string or the usage error.
std::string parse(const std::vector<std::string>& args, std::string_view allowed, parsed_args& out) {
  auto allows = [&](char c) { return allowed.find(c) != std::string_view::npos; };
  std::string value, error;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-o" && allows('o')) {
      if (i + 1 >= args.size()) return "-o needs a file name";
      out.output = args[++i];
    } else if (allows('c') && flag_value(args, i, "--compress", value, error)) {
      if (!error.empty()) return error;
      out.compress = value;
      if (value != "none" && value != "lz4" && value != "auto")
        return "unknown --compress value '" + value + "' (none, lz4 or auto)";
    } else if (allows('c') && flag_value(args, i, "--threads", value, error)) {
      if (!error.empty()) return error;
      double n = 0;
      if (!parse_number(value, n) || n < 1 || n > 1024 || n != static_cast<int>(n))
        return "--threads needs a whole number from 1 to 1024";
      out.threads = static_cast<int>(n);
    } else if (allows('c') && flag_value(args, i, "--rtt", value, error)) {
      if (!error.empty()) return error;
      double v = 0;
      if (!parse_number(value, v)) return "--rtt needs milliseconds (a number >= 0)";
      out.rtt_ms = v;
    } else if (allows('c') && flag_value(args, i, "--downlink", value, error)) {
      if (!error.empty()) return error;
      double v = 0;
      if (!parse_number(value, v) || v <= 0) return "--downlink needs Mbit/s (a number > 0)";
      out.downlink_mbps = v;
    } else if (allows('c') && flag_value(args, i, "--accept-encoding", value, error)) {
      if (!error.empty()) return error;
      std::string_view list = value;
      while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view token = list.substr(0, comma);
        while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
        while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
        if (token == "gzip") out.accept_gzip = true;
        else if (token == "zstd") out.accept_zstd = true;
        else if (!token.empty() && token != "identity")
          return "unknown encoding '" + std::string(token) + "' in --accept-encoding (gzip, zstd)";
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
      }
    } else if (a == "--apply-encoding" && allows('c')) {
      out.apply_encoding = true;
    } else if (a == "--save-data" && allows('c')) {
      out.save_data = true;
    } else if (a == "-v" && allows('v')) {
      out.verbose = true;
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
  if (out.compress != "auto" &&
      (out.rtt_ms || out.downlink_mbps || out.accept_gzip || out.accept_zstd || out.save_data ||
       out.apply_encoding))
    return "--rtt, --downlink, --accept-encoding, --save-data and --apply-encoding need --compress=auto";
  return {};
}

int bad_input(const std::string& message) {
  std::fprintf(stderr, "bfast: %s\n", message.c_str());
  return exit_bad_input;
}

// The decoder's reason, and what the bytes are instead when they are a common mistake.
int malformed(const decode_result& r, const std::string& message) {
  std::string text = "malformed B-FAST at byte " + std::to_string(r.offset) + ": " +
                     std::string(reason_token(r.error));
  const std::string why =
      explain_not_bfast({reinterpret_cast<const std::uint8_t*>(message.data()), message.size()});
  if (!why.empty()) text += "; " + why;
  return bad_input(text);
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

int usage_error(const std::string& message) {
  std::fprintf(stderr, "bfast: %s\n(run 'bfast --help' for usage)\n", message.c_str());
  return exit_usage;
}

namespace {

// One arena for the process, as large as asked for (never smaller than the machine).
compress_arena& arena_for(int threads) {
  static std::unique_ptr<compress_arena> arena;
  if (!arena) {
    const int hw = static_cast<int>(std::thread::hardware_concurrency());
    arena = std::make_unique<compress_arena>(threads > hw ? threads : 0);
  }
  return *arena;
}

void print_decision(const compression_decision& d, std::size_t payload) {
  std::fprintf(stderr, "bfast: compression %s", std::string(choice_name(d.choice)).c_str());
  if (d.choice == compression_choice::lz4_parallel) std::fprintf(stderr, "(%d)", d.threads);
  if (d.level > 0) std::fprintf(stderr, " level %d", d.level);
  std::fprintf(stderr, ", reason %s, payload %zu bytes\n", std::string(d.reason).c_str(), payload);
  for (std::size_t i = 0; i < d.candidate_count; ++i) {
    const policy_estimate& e = d.candidates[i];
    std::string name(choice_name(e.choice));
    if (e.level > 0) name.append("-").append(std::to_string(e.level));
    std::fprintf(stderr,
                 "bfast:   %-12s wire %10.0f B  server %8.3f ms  transfer %9.3f ms  client %8.3f ms"
                 "  total %9.3f ms\n",
                 name.c_str(), e.wire_bytes, e.server_s * 1e3,
                 e.transfer_s * 1e3, e.client_s * 1e3, e.total_s() * 1e3);
  }
}

}  // namespace

int run_encode(const std::vector<std::string>& args) {
  parsed_args a;
  if (std::string err = parse(args, "cpov", a); !err.empty()) return usage_error(err);
  if (a.output == "-" && stdout_is_terminal())
    return usage_error("refusing to write binary output to a terminal; use -o FILE or redirect stdout");
  std::string json, error;
  if (!read_input(a.input, json, error)) return bad_input(error);

  transcode_options options;
  options.pack_float_arrays = a.pack_floats;
  transcoder t(options);
  compress_arena& arena = arena_for(a.threads);
  t.set_parallelism({.arena = &arena, .threads = a.threads > 0 ? a.threads : arena.concurrency()});
  byte_buffer message;
  const transcode_result r = t.transcode(json, message);
  if (r.error == transcode_error::invalid_json) {
    return bad_input("invalid JSON at byte " + std::to_string(r.offset) + ": " +
                     std::string(r.detail));
  }
  if (!r.ok()) {
    return bad_input("not representable in B-FAST: " + std::string(reason_token(r.error)));
  }

  // --compress none and lz4 are the route modes never and always; auto asks the cost model.
  policy_input in;
  in.mode = a.compress == "auto" ? route_mode::automatic
            : a.compress == "lz4" ? route_mode::always
                                  : route_mode::never;
  if (a.rtt_ms) in.rtt_s = *a.rtt_ms / 1e3;
  if (a.downlink_mbps) in.bandwidth_bytes_per_s = *a.downlink_mbps * 1e6 / 8;
  in.save_data = a.save_data;
  in.accept_gzip = a.accept_gzip;
  in.accept_zstd = a.accept_zstd;
  in.load = arena.load();
  policy_config config;
  config.max_threads = a.threads;
  // Only the cost model needs the measured speeds; a known ratio makes LZ4 a candidate.
  server_speeds speeds;
  if (in.mode == route_mode::automatic) speeds = calibrate();
  else speeds.lz4 = {1, 1};
  encode_scratch scratch(&arena);
  const encoded e = encode(std::move(message), in, speeds, config, scratch, a.apply_encoding);
  const compression_decision& d = e.decision;
  if (a.verbose && in.mode == route_mode::automatic) print_decision(d, e.message_bytes);

  if (d.choice == compression_choice::lz4 || d.choice == compression_choice::lz4_parallel) {
    if (!e.lz4.ok()) return bad_input("compression failed: " + std::string(reason_token(e.lz4.error)));
    if (a.verbose) {
      std::fprintf(stderr, "bfast: lz4 %s, %zu -> %zu bytes%s\n",
                   e.lz4.layout == message_layout::lz4_parallel ? "parallel chunks" : "single block",
                   e.message_bytes, e.body.size(), e.lz4.collision_padded ? " (collision byte added)" : "");
    }
  } else if (d.choice == compression_choice::gzip || d.choice == compression_choice::zstd) {
    std::fprintf(stderr, "bfast: apply Content-Encoding: %s (level %d)%s\n",
                 std::string(choice_name(d.choice)).c_str(), d.level,
                 a.apply_encoding ? "" : "; writing uncompressed B-FAST (use --apply-encoding)");
    if (a.apply_encoding && e.content_encoding.empty()) return bad_input("encoding failed");
  } else if (a.verbose && in.mode == route_mode::always) {
    std::fprintf(stderr, "bfast: %zu bytes: too small to compress\n", e.message_bytes);
  }
  const std::string_view bytes = e.body.view();
  if (!write_output(a.output, bytes, true, error)) return bad_input(error);
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
  if (!r.ok()) return malformed(r, message);
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
  if (!r.ok()) return malformed(r, message);
  static constexpr const char* layouts[] = {"uncompressed", "lz4 single block", "lz4 parallel chunks"};
  std::printf("layout:          %s\n", layouts[static_cast<int>(info.layout)]);
  std::printf("wire bytes:      %zu\n", info.wire_bytes);
  std::printf("message bytes:   %zu\n", info.message_bytes);
  if (info.chunks > 0) {
    std::printf("chunks:          %zu\n", info.chunks);
    std::size_t at = 8;
    for (std::size_t i = 0; i < info.chunk_list.size(); ++i) {
      const lz4_chunk_info& c = info.chunk_list[i];
      std::printf("  chunk %-4zu at %-10zu %8zu -> %8zu bytes\n", i, at, c.wire_bytes,
                  c.message_bytes);
      at += 4 + c.wire_bytes;
    }
  }
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
