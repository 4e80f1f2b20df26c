#include "wire_format.hpp"

#include <cstdio>

namespace bfast::server {
namespace {

void append_version(head_string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10 % 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields(head_string& out, const http::fields& fields) {
  for (const auto& f : fields) {
    out += f.name_string();
    out += ": ";
    out += f.value();
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

void append_head(head_string& out, const http::response_header<>& h) {
  append_version(out, h.version());
  const unsigned code = h.result_int();
  out += ' ';
  out += static_cast<char>('0' + code / 100 % 10);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  const std::string_view reason = h.reason();
  out += reason.empty() ? std::string_view(http::obsolete_reason(h.result())) : reason;
  out += "\r\n";
  append_fields(out, h);
}

void append_head(head_string& out, const http::request_header<>& h) {
  out += h.method_string();
  out += ' ';
  out += h.target();
  out += ' ';
  append_version(out, h.version());
  out += "\r\n";
  append_fields(out, h);
}

body_piece::body_piece(std::string_view head, std::string_view data, bool chunked, bool last) {
  static constexpr std::string_view crlf = "\r\n";
  static constexpr std::string_view last_chunk = "0\r\n\r\n";
  namespace asio = boost::asio;
  buffers_[0] = asio::buffer(head.data(), head.size());
  if (chunked && !data.empty()) {
    const int n = std::snprintf(size_line_.data(), size_line_.size(), "%zx\r\n", data.size());
    buffers_[1] = asio::buffer(size_line_.data(), static_cast<std::size_t>(n));
    buffers_[3] = asio::buffer(crlf.data(), crlf.size());
  }
  buffers_[2] = asio::buffer(data.data(), data.size());
  if (chunked && last) buffers_[4] = asio::buffer(last_chunk.data(), last_chunk.size());
}

}  // namespace bfast::server
