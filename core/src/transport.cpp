#include "bfast/transport.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>

namespace bfast {

std::string_view content_coding(transport_codec c) noexcept {
  switch (c) {
    case transport_codec::identity: return "identity";
    case transport_codec::gzip: return "gzip";
    case transport_codec::zstd: return "zstd";
  }
  return "identity";
}

struct transport_encoder::impl {
  z_stream deflater{};
  int deflate_level = -1;  // -1: not initialised
  ZSTD_CCtx* zstd = nullptr;

  ~impl() {
    if (deflate_level >= 0) deflateEnd(&deflater);
    ZSTD_freeCCtx(zstd);
  }

  bool gzip(int level, std::span<const std::uint8_t> in, byte_buffer& out) {
    level = std::clamp(level, 1, 9);
    if (deflate_level < 0) {
      // windowBits 15 + 16: a gzip member (header and trailer), not a zlib stream.
      if (deflateInit2(&deflater, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
      deflate_level = level;
    } else if (deflateReset(&deflater) != Z_OK) {
      return false;
    }
    if (level != deflate_level) {
      if (deflateParams(&deflater, level, Z_DEFAULT_STRATEGY) != Z_OK) return false;
      deflate_level = level;
    }
    if (in.size() > UINT_MAX) return false;
    const uLong bound = deflateBound(&deflater, static_cast<uLong>(in.size()));
    out.clear();
    std::uint8_t* dst = out.ensure(bound);
    deflater.next_in = const_cast<Bytef*>(in.data());
    deflater.avail_in = static_cast<uInt>(in.size());
    deflater.next_out = dst;
    deflater.avail_out = static_cast<uInt>(bound);
    if (deflate(&deflater, Z_FINISH) != Z_STREAM_END) return false;
    out.commit(bound - deflater.avail_out);
    return true;
  }

  bool zstd_encode(int level, int workers, std::span<const std::uint8_t> in, byte_buffer& out) {
    if (zstd == nullptr && (zstd = ZSTD_createCCtx()) == nullptr) return false;
    ZSTD_CCtx_reset(zstd, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(ZSTD_CCtx_setParameter(zstd, ZSTD_c_compressionLevel,
                                            std::clamp(level, 1, ZSTD_maxCLevel()))))
      return false;
    // Ignored (an error we do not need) when libzstd was built without threads.
    if (workers > 0) (void)ZSTD_CCtx_setParameter(zstd, ZSTD_c_nbWorkers, workers);
    const std::size_t bound = ZSTD_compressBound(in.size());
    out.clear();
    const std::size_t n = ZSTD_compress2(zstd, out.ensure(bound), bound, in.data(), in.size());
    if (ZSTD_isError(n)) return false;
    out.commit(n);
    return true;
  }
};

transport_encoder::transport_encoder() : impl_(std::make_unique<impl>()) {}
transport_encoder::~transport_encoder() = default;
transport_encoder::transport_encoder(transport_encoder&&) noexcept = default;
transport_encoder& transport_encoder::operator=(transport_encoder&&) noexcept = default;

bool transport_encoder::encode(transport_codec codec, int level, std::span<const std::uint8_t> in,
                               byte_buffer& out, int zstd_workers) {
  bool ok = false;
  switch (codec) {
    case transport_codec::identity:
      out.clear();
      out.append(in);
      return true;
    case transport_codec::gzip: ok = impl_->gzip(level, in, out); break;
    case transport_codec::zstd: ok = impl_->zstd_encode(level, zstd_workers, in, out); break;
  }
  if (!ok) out.clear();
  return ok;
}

namespace {

bool gunzip(std::span<const std::uint8_t> in, byte_buffer& out, std::size_t max_out,
            bool& at_limit) {
  if (in.size() > UINT_MAX) return false;
  z_stream s{};
  if (inflateInit2(&s, 15 + 16) != Z_OK) return false;
  s.next_in = const_cast<Bytef*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= max_out) {
      at_limit = true;
      break;
    }
    const std::size_t room = std::min<std::size_t>({max_out - out.size(), std::size_t{1} << 20});
    s.next_out = out.ensure(room);
    s.avail_out = static_cast<uInt>(room);
    rc = inflate(&s, Z_NO_FLUSH);
    out.commit(room - s.avail_out);
  }
  const bool ok = rc == Z_STREAM_END && s.avail_in == 0;
  inflateEnd(&s);
  return ok;
}

bool unzstd(std::span<const std::uint8_t> in, byte_buffer& out, std::size_t max_out,
            bool& at_limit) {
  ZSTD_DStream* d = ZSTD_createDStream();
  if (d == nullptr) return false;
  ZSTD_inBuffer src{in.data(), in.size(), 0};
  std::size_t rc = 1;
  while (src.pos < src.size || rc != 0) {
    if (out.size() >= max_out) {
      at_limit = true;
      break;
    }
    const std::size_t room = std::min<std::size_t>(max_out - out.size(), std::size_t{1} << 20);
    ZSTD_outBuffer dst{out.ensure(room), room, 0};
    rc = ZSTD_decompressStream(d, &dst, &src);
    out.commit(dst.pos);
    if (ZSTD_isError(rc)) break;
    if (dst.pos == 0 && src.pos == src.size && rc != 0) break;  // truncated frame
  }
  ZSTD_freeDStream(d);
  return !ZSTD_isError(rc) && rc == 0 && src.pos == src.size;
}

}  // namespace

bool transport_encoder::decode(transport_codec codec, std::span<const std::uint8_t> in,
                               byte_buffer& out, std::size_t max_out, bool* at_limit) {
  out.clear();
  bool ok = false;
  bool limit_hit = false;
  switch (codec) {
    case transport_codec::identity:
      ok = in.size() <= max_out;
      limit_hit = !ok;
      if (ok) out.append(in);
      break;
    case transport_codec::gzip: ok = gunzip(in, out, max_out, limit_hit); break;
    case transport_codec::zstd: ok = unzstd(in, out, max_out, limit_hit); break;
  }
  if (!ok) out.clear();
  if (at_limit != nullptr) *at_limit = !ok && limit_hit;
  return ok;
}

}  // namespace bfast
