// HTTP/1.1 messages as they go on the wire: heads serialized into one buffer, and body pieces
// framed as chunks when the message is chunked.
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/message.hpp>

#include "recycling_allocator.hpp"

namespace bfast::server {

namespace http = boost::beast::http;

// Written here rather than by Beast's serializer, whose buffer sequence (one element per field
// name, separator and value) cost more than the rest of a small pass-through.
void append_head(head_string& out, const http::response_header<>& h);
void append_head(head_string& out, const http::request_header<>& h);

// One write's buffers: an optional head, then a body piece, framed as a chunk when the message
// is chunked, then the last chunk when the body ends here. Views only: `head` and `data` must
// outlive the write.
class body_piece {
 public:
  body_piece(std::string_view head, std::string_view data, bool chunked, bool last);
  body_piece(const body_piece&) = delete;  // the buffers point into size_line_
  body_piece& operator=(const body_piece&) = delete;

  [[nodiscard]] const std::array<boost::asio::const_buffer, 5>& buffers() const noexcept {
    return buffers_;
  }
  [[nodiscard]] bool empty() const noexcept { return boost::asio::buffer_size(buffers_) == 0; }

 private:
  std::array<boost::asio::const_buffer, 5> buffers_{};
  std::array<char, 20> size_line_{};
};

}  // namespace bfast::server
