#include "tls_context.hpp"

#include <cstdint>

#include <boost/asio/ip/address.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace bfast::server {
namespace {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

// Idle connections give their read and write buffers back: 32 KiB each otherwise.
// A write retried after WANT_WRITE may come from another buffer with the same bytes (a body
// piece gathered again).
constexpr long common_modes = SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;

// What both sides share: TLS 1.3 at most and `min_version` at least, no compression, no
// renegotiation, and a peer that leaves without close_notify taken as an end of stream.
tls_context_ptr new_context(const SSL_METHOD* method, int min_version, std::uint64_t options) {
  SSL_CTX* c = SSL_CTX_new(method);
  if (!c) return {};
  SSL_CTX_set_min_proto_version(c, min_version);
  SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_options(c, options | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(c, common_modes);
  return tls_context_ptr(c, SSL_CTX_free);
}

// Offers what the proxy speaks: h2 first when enabled (preferred when the client offers both,
// as nginx does), then HTTP/1.1. A client that offers only other protocols is refused with
// no_application_protocol, as RFC 7301 asks; one that offers none is served HTTP/1.1.
constexpr unsigned char alpn_h2_and_http11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const bool h2 = arg != nullptr;
  const unsigned char* ours = h2 ? alpn_h2_and_http11 : alpn_http11;
  const unsigned ours_len = h2 ? sizeof alpn_h2_and_http11 : sizeof alpn_http11;
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, ours_len, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// A certificate chain and its key, each error naming `field` or `field`_key.
void load_certificate(SSL_CTX* c, const std::string& chain, const std::string& key,
                      const std::string& field, std::vector<std::string>& errors) {
  const std::string key_field = field + "_key";
  if (SSL_CTX_use_certificate_chain_file(c, chain.c_str()) != 1)
    errors.push_back(field + ": cannot load " + chain + " (" + openssl_error() + ")");
  else if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
    errors.push_back(key_field + ": cannot load " + key + " (" + openssl_error() + ")");
  else if (SSL_CTX_check_private_key(c) != 1)
    errors.push_back(key_field + ": does not match " + field + " (" + openssl_error() + ")");
}

void build_listener(const config::proxy_config& cfg, tls_contexts& out,
                    std::vector<std::string>& errors) {
  const config::listener_tls& t = cfg.tls;
  tls_context_ptr ctx =
      new_context(TLS_server_method(), t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION,
                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (!ctx) {
    errors.push_back("tls_certificate: " + openssl_error());
    return;
  }
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_cipher_list(c, t.ciphers.c_str()) != 1)
    errors.push_back("tls_ciphers: no cipher in \"" + t.ciphers + "\" is known (" +
                     openssl_error() + ")");
  load_certificate(c, t.certificate, t.certificate_key, "tls_certificate", errors);
  // Any non-null argument offers h2.
  SSL_CTX_set_alpn_select_cb(c, select_alpn,
                             cfg.http2 ? const_cast<unsigned char*>(alpn_h2_and_http11) : nullptr);
  out.listener = std::move(ctx);
}

void build_upstream(const config::proxy_config& cfg, tls_contexts& out,
                    std::vector<std::string>& errors) {
  const config::upstream_tls& t = cfg.upstream_tls_settings;
  tls_context_ptr ctx = new_context(TLS_client_method(), TLS1_2_VERSION, 0);
  if (!ctx) {
    errors.push_back("upstream: " + openssl_error());
    return;
  }
  SSL_CTX* c = ctx.get();
  if (t.verify) {
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    if (t.ca_file.empty()) {
      if (SSL_CTX_set_default_verify_paths(c) != 1)
        errors.push_back("upstream_tls_ca_file: the system's trust store cannot be read (" +
                         openssl_error() + ")");
    } else if (SSL_CTX_load_verify_locations(c, t.ca_file.c_str(), nullptr) != 1) {
      errors.push_back("upstream_tls_ca_file: cannot load " + t.ca_file + " (" + openssl_error() +
                       ")");
    }
  }
  if (!t.certificate.empty())
    load_certificate(c, t.certificate, t.certificate_key, "upstream_tls_certificate", errors);
  SSL_CTX_set_alpn_protos(c, alpn_http11, sizeof alpn_http11);
  out.upstream = std::move(ctx);
  out.upstream_name = t.server_name.empty() ? cfg.upstream_endpoint.host : t.server_name;
  out.upstream_verify = t.verify;
}

}  // namespace

tls_build build_tls(const config::proxy_config& cfg) {
  tls_build b;
  auto contexts = std::make_shared<tls_contexts>();
  if (cfg.tls.enabled()) build_listener(cfg, *contexts, b.errors);
  if (cfg.upstream_tls_settings.enabled) build_upstream(cfg, *contexts, b.errors);
  ERR_clear_error();
  if (b.errors.empty()) b.contexts = std::move(contexts);
  return b;
}

bool prepare_upstream_tls(SSL* ssl, const tls_contexts& contexts, bool verify) {
  const std::string& name = contexts.upstream_name;
  beast::error_code ec;
  (void)asio::ip::make_address(name, ec);
  const bool is_address = !ec;
  // RFC 6066: SNI carries host names only, never addresses.
  if (!is_address && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) return false;
  if (!verify) return true;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (is_address) return X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, name.c_str()) == 1;
}

std::string upstream_tls_failure(SSL* ssl, const beast::error_code& ec) {
  if (ssl) {
    const long verdict = SSL_get_verify_result(ssl);
    if (verdict != X509_V_OK)
      return std::string("upstream TLS certificate rejected: ") +
             X509_verify_cert_error_string(verdict);
  }
  return "upstream TLS handshake failed: " + ec.message();
}

std::string negotiated_alpn(SSL* ssl) {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data ? std::string(reinterpret_cast<const char*>(data), len) : std::string();
}

}  // namespace bfast::server
