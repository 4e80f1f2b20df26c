// The TLS contexts a configuration asks for: the data listener's (certificate, versions,
// ciphers, ALPN) and the upstream's (trust, client certificate). Built at start and again at
// each reload, so a reload re-reads the certificate files; connections made before keep the
// context they were made from.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bfast/config/config.hpp"
#include "byte_stream.hpp"

namespace bfast::server {

struct tls_contexts {
  tls_context_ptr listener;  // null: the listener is cleartext
  tls_context_ptr upstream;  // null: the upstream is http://
  std::string upstream_name;  // SNI and the name its certificate must carry
  bool upstream_verify = true;
};
using tls_snapshot = std::shared_ptr<const tls_contexts>;

struct tls_build {
  tls_snapshot contexts;
  std::vector<std::string> errors;  // each names the configuration field
};

[[nodiscard]] tls_build build_tls(const config::proxy_config& cfg);

// Gives an upstream connection its SNI and the name (or address) to check, per `contexts`.
[[nodiscard]] bool prepare_upstream_tls(SSL* ssl, const tls_contexts& contexts, bool verify);

// Why an upstream's handshake failed, for the 502's body and the log: the certificate check's
// verdict when there is one, else the TLS error.
[[nodiscard]] std::string upstream_tls_failure(SSL* ssl, const beast::error_code& ec);

// The ALPN protocol the client and the proxy agreed on, or empty.
[[nodiscard]] std::string negotiated_alpn(SSL* ssl);

}  // namespace bfast::server
