#include "proto/batch/compression.h"

#include <lz4frame.h>
#include <zstd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/batch/errors.h"

namespace runnel::batch {
namespace {

// Contexts are costly to create relative to decompressing a small batch (zstd
// also allocates its window on first use), so each thread keeps one spare per
// codec. Take() hands it out (or nothing), Give() returns it; a context in use
// is owned by exactly one object, so nesting is safe.
template <typename Ptr>
class SpareContext {
 public:
  static Ptr Take() { return std::move(Slot()); }
  static void Give(Ptr ctx) {
    if (!Slot()) Slot() = std::move(ctx);
  }

 private:
  static Ptr& Slot() {
    thread_local Ptr slot;
    return slot;
  }
};

struct ZstdCCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
struct Lz4DCtxFree {
  void operator()(LZ4F_dctx* c) const { LZ4F_freeDecompressionContext(c); }
};
using ZstdCCtxPtr = std::unique_ptr<ZSTD_CCtx, ZstdCCtxFree>;
using ZstdDCtxPtr = std::unique_ptr<ZSTD_DCtx, ZstdDCtxFree>;
using Lz4DCtxPtr = std::unique_ptr<LZ4F_dctx, Lz4DCtxFree>;

// Grows `out` by `bound` bytes, lets `write` fill a prefix of them and trims to
// what it wrote. `write` returns the bytes written or a codec error code.
template <typename Write>
size_t AppendWith(std::string* out, size_t bound, Write write) {
  const size_t old = out->size();
  out->resize(old + bound);
  const size_t written = write(&(*out)[old]);
  out->resize(old + (written <= bound ? written : 0));
  return written;
}

absl::Status CompressLz4(absl::string_view input, std::string* out) {
  // Kafka's LZ4 reader requires independent blocks and its writer uses 64 KiB
  // blocks without checksums (the batch CRC covers the data).
  LZ4F_preferences_t prefs;
  std::memset(&prefs, 0, sizeof(prefs));
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  const size_t bound = LZ4F_compressFrameBound(input.size(), &prefs);
  const size_t r = AppendWith(out, bound, [&](char* dst) {
    return LZ4F_compressFrame(dst, bound, input.data(), input.size(), &prefs);
  });
  if (LZ4F_isError(r)) return absl::InternalError(absl::StrCat("lz4: ", LZ4F_getErrorName(r)));
  return absl::OkStatus();
}

absl::Status CompressZstd(absl::string_view input, std::string* out) {
  ZstdCCtxPtr ctx = SpareContext<ZstdCCtxPtr>::Take();
  if (!ctx) ctx.reset(ZSTD_createCCtx());
  if (!ctx) return absl::ResourceExhaustedError("zstd: cannot allocate a compression context");
  const size_t bound = ZSTD_compressBound(input.size());
  const size_t r = AppendWith(out, bound, [&](char* dst) {
    return ZSTD_compressCCtx(ctx.get(), dst, bound, input.data(), input.size(), kZstdLevel);
  });
  SpareContext<ZstdCCtxPtr>::Give(std::move(ctx));
  if (ZSTD_isError(r)) return absl::InternalError(absl::StrCat("zstd: ", ZSTD_getErrorName(r)));
  return absl::OkStatus();
}

class PlainReader final : public Decompressor {
 public:
  explicit PlainReader(absl::string_view input) : rest_(input) {}
  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    const size_t n = std::min(size, rest_.size());
    std::memcpy(buf, rest_.data(), n);
    rest_.remove_prefix(n);
    return n;
  }

 private:
  absl::string_view rest_;
};

class ZstdReader final : public Decompressor {
 public:
  ZstdReader(ZstdDCtxPtr ctx, absl::string_view input)
      : ctx_(std::move(ctx)), in_{input.data(), input.size(), 0} {}
  ~ZstdReader() override { SpareContext<ZstdDCtxPtr>::Give(std::move(ctx_)); }

  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    ZSTD_outBuffer out{buf, size, 0};
    while (out.pos < out.size && !(frame_done_ && in_.pos == in_.size)) {
      const size_t r = ZSTD_decompressStream(ctx_.get(), &out, &in_);
      if (ZSTD_isError(r)) return Corrupt("zstd: ", ZSTD_getErrorName(r));
      frame_done_ = r == 0;
      // Output room left and no input left: zstd needs bytes that never come.
      if (!frame_done_ && in_.pos == in_.size && out.pos < out.size) {
        return Corrupt("zstd: data ends inside a frame");
      }
    }
    return out.pos;
  }

 private:
  ZstdDCtxPtr ctx_;
  ZSTD_inBuffer in_;
  bool frame_done_ = false;
};

class Lz4Reader final : public Decompressor {
 public:
  Lz4Reader(Lz4DCtxPtr ctx, absl::string_view input) : ctx_(std::move(ctx)), input_(input) {}
  ~Lz4Reader() override { SpareContext<Lz4DCtxPtr>::Give(std::move(ctx_)); }

  absl::StatusOr<size_t> Read(char* buf, size_t size) override {
    size_t written = 0;
    while (written < size && !(frame_done_ && pos_ == input_.size())) {
      size_t dst_size = size - written;
      size_t src_size = input_.size() - pos_;
      const size_t hint = LZ4F_decompress(ctx_.get(), buf + written, &dst_size,
                                          input_.data() + pos_, &src_size, nullptr);
      if (LZ4F_isError(hint)) return Corrupt("lz4: ", LZ4F_getErrorName(hint));
      pos_ += src_size;
      written += dst_size;
      frame_done_ = hint == 0;
      if (!frame_done_ && dst_size == 0 && src_size == 0) {
        return Corrupt("lz4: data ends inside a frame");
      }
    }
    return written;
  }

 private:
  Lz4DCtxPtr ctx_;
  absl::string_view input_;
  size_t pos_ = 0;
  bool frame_done_ = false;
};

absl::StatusOr<std::unique_ptr<Decompressor>> NewZstdReader(absl::string_view input) {
  ZstdDCtxPtr ctx = SpareContext<ZstdDCtxPtr>::Take();
  if (ctx) {
    ZSTD_DCtx_reset(ctx.get(), ZSTD_reset_session_only);  // may hold a failed stream
  } else {
    ctx.reset(ZSTD_createDCtx());
    if (!ctx) return absl::ResourceExhaustedError("zstd: cannot allocate a context");
  }
  return std::make_unique<ZstdReader>(std::move(ctx), input);
}

absl::StatusOr<std::unique_ptr<Decompressor>> NewLz4Reader(absl::string_view input) {
  Lz4DCtxPtr ctx = SpareContext<Lz4DCtxPtr>::Take();
  if (ctx) {
    LZ4F_resetDecompressionContext(ctx.get());
  } else {
    LZ4F_dctx* raw = nullptr;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) {
      return absl::ResourceExhaustedError("lz4: cannot allocate a context");
    }
    ctx.reset(raw);
  }
  return std::make_unique<Lz4Reader>(std::move(ctx), input);
}

}  // namespace

std::string CompressionName(Compression codec) {
  switch (codec) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return absl::StrCat("unknown(", static_cast<int>(codec), ")");
}

absl::Status CheckSupported(Compression codec) {
  switch (codec) {
    case Compression::kNone:
    case Compression::kLz4:
    case Compression::kZstd:
      return absl::OkStatus();
    default:
      return Corrupt("compression ", CompressionName(codec),
                     " is not supported (supported: none, lz4, zstd)");
  }
}

absl::Status Compress(Compression codec, absl::string_view input, std::string* out) {
  if (absl::Status s = CheckSupported(codec); !s.ok()) return s;
  switch (codec) {
    case Compression::kLz4:
      return CompressLz4(input, out);
    case Compression::kZstd:
      return CompressZstd(input, out);
    default:
      out->append(input.data(), input.size());
      return absl::OkStatus();
  }
}

absl::StatusOr<std::unique_ptr<Decompressor>> Decompressor::Create(Compression codec,
                                                                   absl::string_view input) {
  if (absl::Status s = CheckSupported(codec); !s.ok()) return s;
  switch (codec) {
    case Compression::kLz4:
      return NewLz4Reader(input);
    case Compression::kZstd:
      return NewZstdReader(input);
    default:
      return std::make_unique<PlainReader>(input);
  }
}

absl::StatusOr<std::string> Decompress(Compression codec, absl::string_view input,
                                       size_t max_output_bytes) {
  absl::StatusOr<std::unique_ptr<Decompressor>> reader = Decompressor::Create(codec, input);
  if (!reader.ok()) return reader.status();
  // Read up to one byte past the limit so "exactly at the limit" still passes.
  constexpr size_t kMinChunk = 64 * 1024;
  const size_t read_limit = max_output_bytes == SIZE_MAX ? max_output_bytes : max_output_bytes + 1;
  std::string out;
  for (;;) {
    const size_t old = out.size();
    const size_t room = std::min(std::max(kMinChunk, old), read_limit - old);
    out.resize(old + room);
    absl::StatusOr<size_t> n = (*reader)->Read(&out[old], room);
    if (!n.ok()) return n.status();
    out.resize(old + *n);
    if (*n == 0) return out;
    if (out.size() > max_output_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          CompressionName(codec), " data decompresses to more than ", max_output_bytes, " bytes"));
    }
  }
}

}  // namespace runnel::batch
