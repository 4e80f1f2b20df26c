#include <gtest/gtest.h>

#include <map>

#include "bfast/config/config.hpp"

namespace bfast::config {
namespace {

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

bool has_error_naming(const load_result& r, std::string_view field) {
  for (const auto& e : r.errors)
    if (e.find(field) != std::string::npos) return true;
  return false;
}

TEST(config, defaults_are_valid) {
  const auto r = load({}, env_of({}));
  EXPECT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config.listen.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(r.config.max_header_bytes, 61440u);
  EXPECT_EQ(r.config.route_for("/x").max_body_bytes, 16ull << 20);
}

TEST(config, flags_beat_env_beat_file) {
  const std::string path = ::testing::TempDir() + "/bfast-config-test.json";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"threads": 3, "upstream_connect_timeout_ms": 111, "access_log": false,
                  "listen": "0.0.0.0:1"})", f);
    std::fclose(f);
  }
  const std::string_view args[] = {"--config", path, "--threads=5"};
  const auto r = load(args, env_of({{"BFAST_PROXY_THREADS", "4"},
                                    {"BFAST_PROXY_UPSTREAM_CONNECT_TIMEOUT_MS", "222"}}));
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config.threads, 5u);                         // flag
  EXPECT_EQ(r.config.upstream_connect_timeout_ms, 222u);  // env over file
  EXPECT_FALSE(r.config.access_log);                       // file
  EXPECT_EQ(r.config.listen.to_string(), "0.0.0.0:1");

  const auto e = load({}, env_of({{"BFAST_PROXY_CONFIG", path}}));
  EXPECT_EQ(e.config.threads, 3u);
  std::remove(path.c_str());
}

TEST(config, errors_name_the_field) {
  const auto r = load_json_text(R"({"threads": "many", "listen": "nowhere", "bogus": 1,
      "routes": [{"prefix": "api", "compress": "sometimes", "max_body_bytes": 0, "extra": 1}],
      "trusted_proxies": ["10.0.0.0/33"], "max_header_bytes": 10})");
  EXPECT_TRUE(has_error_naming(r, "threads: expected an unsigned integer"));
  EXPECT_TRUE(has_error_naming(r, "listen: expected HOST:PORT"));
  EXPECT_TRUE(has_error_naming(r, "bogus: unknown field"));
  EXPECT_TRUE(has_error_naming(r, "routes[0].prefix"));
  EXPECT_TRUE(has_error_naming(r, "routes[0].compress"));
  EXPECT_TRUE(has_error_naming(r, "routes[0].max_body_bytes"));
  EXPECT_TRUE(has_error_naming(r, "routes[0].extra: unknown field"));
  EXPECT_TRUE(has_error_naming(r, "trusted_proxies"));
  EXPECT_TRUE(has_error_naming(r, "max_header_bytes: must be between"));
  EXPECT_TRUE(has_error_naming(load_json_text("{"), "not valid JSON"));

  const std::string_view args[] = {"--upstream", "ftp://x:1", "--nope"};
  const auto f = load(args, env_of({{"BFAST_PROXY_THREADS", "x"}}));
  EXPECT_TRUE(has_error_naming(f, "upstream: expected http://HOST:PORT"));
  EXPECT_TRUE(has_error_naming(f, "--nope: unknown option"));
  EXPECT_TRUE(has_error_naming(f, "(from BFAST_PROXY_THREADS)"));
}

TEST(config, routes_longest_prefix) {
  const auto r = load_json_text(R"({"routes": [
      {"prefix": "/", "enabled": true},
      {"prefix": "/api/", "max_body_bytes": 100, "compress": "never", "pack_floats": true},
      {"prefix": "/api/private", "enabled": false}]})");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config.route_for("/api/x?y=/api/private").max_body_bytes, 100u);
  EXPECT_EQ(r.config.route_for("/api/x").compress, route_mode::never);
  EXPECT_TRUE(r.config.route_for("/api/x").pack_floats);
  EXPECT_FALSE(r.config.route_for("/api/private/1").enabled);
  EXPECT_TRUE(r.config.route_for("/other").enabled);
  const auto none = load_json_text(R"({"routes": [{"prefix": "/api/"}]})");
  EXPECT_FALSE(none.config.route_for("/other").enabled);
}

TEST(config, tunnels) {
  const auto r = load_json_text(R"({"max_tunnels": 2, "tunnel_idle_timeout_ms": 500,
      "routes": [{"prefix": "/"}, {"prefix": "/plain/", "upgrades": false}]})");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(r.config.max_tunnels, 2u);
  EXPECT_EQ(r.config.tunnel_idle_timeout_ms, 500u);
  EXPECT_TRUE(r.config.route_for("/ws").upgrades);
  EXPECT_FALSE(r.config.route_for("/plain/ws").upgrades);
  const auto bad = load_json_text(R"({"tunnel_idle_timeout_ms": 0,
      "routes": [{"prefix": "/", "upgrades": "yes"}]})");
  EXPECT_TRUE(has_error_naming(bad, "tunnel_idle_timeout_ms: must be between"));
  EXPECT_TRUE(has_error_naming(bad, "routes[0].upgrades: expected true or false"));
}

TEST(config, request_decoding_per_route) {
  const auto r = load_json_text(R"({"routes": [{"prefix": "/"}, {"prefix": "/up/",
      "decode_requests": true, "max_request_message_bytes": 1000,
      "max_decoded_request_bytes": 2000}]})");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_FALSE(r.config.route_for("/x").decode_requests);
  EXPECT_EQ(r.config.route_for("/x").max_request_message_bytes, 16u << 20);
  EXPECT_EQ(r.config.route_for("/x").max_decoded_request_bytes, 32u << 20);
  EXPECT_TRUE(r.config.route_for("/up/x").decode_requests);
  EXPECT_EQ(r.config.route_for("/up/x").max_request_message_bytes, 1000u);
  EXPECT_EQ(r.config.route_for("/up/x").max_decoded_request_bytes, 2000u);
  const auto bad = load_json_text(R"({"routes": [{"prefix": "/", "decode_requests": 1,
      "max_decoded_request_bytes": 0}]})");
  EXPECT_TRUE(has_error_naming(bad, "routes[0].decode_requests: expected true or false"));
  EXPECT_TRUE(has_error_naming(bad, "routes[0].max_decoded_request_bytes: expected an unsigned"));
}

TEST(config, routes_set_their_clients_speeds) {
  const auto r = load_json_text(R"({"routes": [
      {"prefix": "/"},
      {"prefix": "/mobile/", "client_decode_bytes_per_s": 4e6, "client_lz4_bytes_per_s": 20000000,
       "client_gzip_bytes_per_s": 1e8, "client_zstd_bytes_per_s": 2e8}]})");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const client_speeds& mobile = r.config.route_for("/mobile/feed").client;
  EXPECT_EQ(mobile.decode_bytes_per_s, 4e6);
  EXPECT_EQ(mobile.lz4_bytes_per_s, 2e7);
  EXPECT_EQ(mobile.gzip_bytes_per_s, 1e8);
  EXPECT_EQ(mobile.zstd_bytes_per_s, 2e8);
  // Routes that say nothing keep the policy's defaults.
  const client_speeds defaults;
  EXPECT_EQ(r.config.route_for("/api").client.decode_bytes_per_s, defaults.decode_bytes_per_s);
  EXPECT_EQ(r.config.route_for("/api").client.zstd_bytes_per_s, defaults.zstd_bytes_per_s);
}

TEST(config, client_speeds_must_be_plausible_numbers) {
  for (const char* bad : {R"("fast")", "0", "-5", "999", "1e13", "true"}) {
    const std::string text = std::string(R"({"routes": [{"prefix": "/", "client_lz4_bytes_per_s": )") +
                             bad + "}]}";
    const auto r = load_json_text(text);
    EXPECT_TRUE(has_error_naming(r, "routes[0].client_lz4_bytes_per_s: expected bytes per second"))
        << bad;
  }
  const auto typo = load_json_text(R"({"routes": [{"prefix": "/", "client_decode_bytes": 1e6}]})");
  EXPECT_TRUE(has_error_naming(typo, "routes[0].client_decode_bytes: unknown field"));
}

TEST(config, routes_choose_how_to_negotiate_and_for_which_decoder) {
  const auto r = load_json_text(R"({"routes": [
      {"prefix": "/"},
      {"prefix": "/py/", "client_decoder": "python", "client_json_bytes_per_s": 9e7,
       "negotiation": "prefer_bfast", "compress_json": true}]})");
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  const config::route_rule& py = r.config.route_for("/py/x");
  // The profile first, then the keys that override one of its speeds, in any order.
  EXPECT_EQ(py.client.decode_bytes_per_s, speeds_of(client_decoder::python).decode_bytes_per_s);
  EXPECT_EQ(py.client.json_bytes_per_s, 9e7);
  EXPECT_EQ(py.negotiation_rule, negotiation::prefer_bfast);
  EXPECT_TRUE(py.compress_json);
  const config::route_rule& plain = r.config.route_for("/x");
  EXPECT_EQ(plain.negotiation_rule, negotiation::fastest);
  EXPECT_FALSE(plain.compress_json);
  EXPECT_EQ(plain.client.json_bytes_per_s, client_speeds{}.json_bytes_per_s);

  const auto bad = load_json_text(R"({"routes": [{"prefix": "/", "client_decoder": "rust",
      "negotiation": "fast", "compress_json": "yes"}]})");
  EXPECT_TRUE(has_error_naming(bad, "routes[0].client_decoder: expected"));
  EXPECT_TRUE(has_error_naming(bad, "routes[0].negotiation: expected"));
  EXPECT_TRUE(has_error_naming(bad, "routes[0].compress_json: expected true or false"));
}

TEST(config, trusted_ranges) {
  const std::string_view args[] = {"--trusted-proxies", "10.0.0.0/8, ::1"};
  const auto r = load(args, env_of({}));
  ASSERT_TRUE(r.errors.empty());
  EXPECT_TRUE(any_contains(r.config.trusted_ranges, "10.2.3.4"));
  EXPECT_TRUE(any_contains(r.config.trusted_ranges, "::ffff:10.2.3.4"));
  EXPECT_TRUE(any_contains(r.config.trusted_ranges, "::1"));
  EXPECT_FALSE(any_contains(r.config.trusted_ranges, "11.0.0.1"));
  EXPECT_FALSE(any_contains(r.config.trusted_ranges, "::2"));
}

TEST(config, examples_are_valid) {
  for (const char* name : {"sidecar.json", "behind-ingress.json", "demo.json"}) {
    const std::string path = std::string(BFAST_CONFIG_EXAMPLES) + "/" + name;
    const std::string_view args[] = {"--config", path};
    const auto r = load(args, env_of({}));
    EXPECT_TRUE(r.errors.empty()) << name << ": " << (r.errors.empty() ? "" : r.errors.front());
  }
}

TEST(config, syntax_errors_give_line_and_column) {
  // The column is where the parser stopped: the end of the token that broke the syntax.
  const auto r = load_json_text("{\n  \"threads\": 2,\n  \"listen\" \"x\"\n}");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("not valid JSON at line 3, column 14"), std::string::npos)
      << r.errors[0];
}

TEST(config, duplicate_keys_are_errors_naming_key_and_place) {
  const auto r = load_json_text(R"({"threads": 2, "threads": 3,
      "routes": [{"prefix": "/"}, {"prefix": "/a", "enabled": true, "prefix": "/b"}]})");
  EXPECT_TRUE(has_error_naming(r, "duplicate key \"threads\" at the top level"));
  EXPECT_TRUE(has_error_naming(r, "duplicate key \"prefix\" in routes[1]"));
  EXPECT_EQ(r.errors.size(), 2u);
  EXPECT_TRUE(load_json_text(R"({"threads": 2, "routes": [{"prefix": "/"}, {"prefix": "/a"}]})")
                  .errors.empty());
}

TEST(config, a_nul_byte_is_refused_not_taken_for_the_end) {
  // What follows the NUL would otherwise go unread, with the file reported as loaded.
  const auto r = load_json_text(std::string("{\"threads\": 2}\0{\"threads\": \"x\"", 30));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("a NUL byte at line 1, column 15"), std::string::npos) << r.errors[0];
}

TEST(config, nesting_is_bounded) {
  // Each level keeps its path for duplicate-key messages: 100000 levels would take gigabytes.
  const std::size_t n = 100000;
  const auto r = load_json_text(std::string(n, '[') + std::string(n, ']'));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("nested deeper than 32 levels"), std::string::npos) << r.errors[0];
  EXPECT_TRUE(load_json_text(R"({"routes": [{"prefix": "/"}]})").errors.empty());
}

TEST(config, the_access_log_buffer_holds_the_longest_line) {
  // A line is at most ~31 KB (a 4096-byte target escaped six times, four 256-byte fields).
  EXPECT_TRUE(has_error_naming(load_json_text(R"({"access_log_buffer_bytes": 4096})"),
                               "access_log_buffer_bytes"));
  EXPECT_TRUE(load_json_text(R"({"access_log_buffer_bytes": 65536})").errors.empty());
}

TEST(config, a_config_file_past_16_mib_is_refused_unread) {
  // /dev/zero never ends: read whole, it would take all memory.
  const std::string_view args[] = {"--config", "/dev/zero"};
  const auto r = load(args, env_of({}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0], "config: /dev/zero is larger than 16 MiB");
}

TEST(config, an_empty_config_flag_is_an_error_not_the_defaults) {
  const std::string_view separate[] = {"--config", ""};
  EXPECT_TRUE(has_error_naming(load(separate, env_of({})), "--config: needs a file name"));
  const std::string_view joined[] = {"--config="};
  EXPECT_TRUE(has_error_naming(load(joined, env_of({})), "--config: needs a file name"));
}

TEST(config, boolean_flags_take_a_value_or_a_no_prefix) {
  auto access_log = [](std::vector<std::string_view> args) {
    const auto r = load(args, env_of({}));
    EXPECT_TRUE(r.errors.empty()) << r.errors.front();
    return r.config.access_log;
  };
  EXPECT_FALSE(access_log({"--access-log", "false"}));
  EXPECT_FALSE(access_log({"--access-log=false"}));
  EXPECT_FALSE(access_log({"--no-access-log"}));
  EXPECT_TRUE(access_log({"--no-access-log", "--access-log"}));
  EXPECT_TRUE(access_log({"--access-log", "--threads", "2"}));
  EXPECT_TRUE(access_log({"--access-log", "true"}));
  const std::string_view bad[] = {"--no-access-log=true"};
  EXPECT_TRUE(has_error_naming(load(bad, env_of({})), "--no-access-log: takes no value"));
  const std::string_view not_boolean[] = {"--no-threads"};
  EXPECT_TRUE(has_error_naming(load(not_boolean, env_of({})), "--no-threads: unknown option"));
}

TEST(config, describe_names_each_value_and_its_source) {
  const std::string path = ::testing::TempDir() + "/bfast-describe-test.json";
  {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"({"threads": 3, "max_tunnels": 7, "routes": [{"prefix": "/api"}]})", f);
    std::fclose(f);
  }
  const std::string_view args[] = {"--config", path, "--threads=5", "--print-config"};
  const auto r = load(args, env_of({{"BFAST_PROXY_LISTEN", "0.0.0.0:1"}}));
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_TRUE(r.print_only);
  const std::string text = "\n" + describe(r);
  auto line_of = [&text](std::string_view key) {
    const auto at = text.find("\n" + std::string(key) + " = ");
    if (at == std::string::npos) return std::string();
    return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
  };
  EXPECT_EQ(line_of("threads").substr(0, 11), "threads = 5");
  EXPECT_NE(line_of("threads").find("# flag --threads"), std::string::npos);
  EXPECT_NE(line_of("listen").find("0.0.0.0:1"), std::string::npos);
  EXPECT_NE(line_of("listen").find("# env BFAST_PROXY_LISTEN"), std::string::npos);
  EXPECT_NE(line_of("max_tunnels").find("# file " + path), std::string::npos);
  EXPECT_NE(line_of("routes").find("/api"), std::string::npos);
  EXPECT_NE(line_of("drain_delay_ms").find("5000"), std::string::npos);
  EXPECT_NE(line_of("drain_delay_ms").find("# default"), std::string::npos);
  std::remove(path.c_str());
}

TEST(config, unknown_environment_variables_are_warned_about) {
  const std::string_view names[] = {"PATH", "BFAST_PROXY_THREADS", "BFAST_PROXY_CONFIG",
                                    "BFAST_PROXY_THRAEDS", "BFAST_PROXY_ZZZZZZZZZZZZZZZZZZ"};
  const auto w = unknown_env_warnings(names);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_NE(w[0].find("BFAST_PROXY_THRAEDS"), std::string::npos);
  EXPECT_NE(w[0].find("did you mean BFAST_PROXY_THREADS?"), std::string::npos);
  EXPECT_NE(w[1].find("BFAST_PROXY_ZZZZZZZZZZZZZZZZZZ"), std::string::npos);
  EXPECT_EQ(w[1].find("did you mean"), std::string::npos);
}

}  // namespace
}  // namespace bfast::config
