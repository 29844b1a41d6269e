// The codecs a record batch's records section may use: none, LZ4 (frame
// format, independent 64 KiB blocks, as Kafka writes it) and zstd. Gzip and
// snappy are recognised from the attributes but rejected.
//
// Compress and Decompress work on whole buffers. Decompressor streams, so
// batch validation can walk a compressed batch in constant memory however far
// it decompresses.
//
// Thread-safety: free functions are thread-safe (each thread keeps its own
// spare zstd/lz4 contexts); a Decompressor is not.
#ifndef RUNNEL_PROTO_BATCH_COMPRESSION_H_
#define RUNNEL_PROTO_BATCH_COMPRESSION_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/batch/record_batch.h"

namespace runnel::batch {

// Zstd level used for batches: Kafka's default, a good speed/ratio balance.
inline constexpr int kZstdLevel = 3;

// "none", "gzip", "snappy", "lz4", "zstd", or "unknown(N)" for other values.
std::string CompressionName(Compression codec);

// OK for none, lz4 and zstd; InvalidArgument naming the codec otherwise.
absl::Status CheckSupported(Compression codec);

// Appends the compressed form of `input` to `*out` (kNone appends it as is).
absl::Status Compress(Compression codec, absl::string_view input, std::string* out);

// Decompresses the whole of `input`. InvalidArgument on corrupt or truncated
// data; ResourceExhausted if the output would exceed max_output_bytes.
absl::StatusOr<std::string> Decompress(Compression codec, absl::string_view input,
                                       size_t max_output_bytes);

// Pulls decompressed bytes out of one compressed buffer a chunk at a time.
// Trailing bytes after the last complete frame are an error, as is input that
// ends inside a frame.
class Decompressor {
 public:
  // `input` must outlive the decompressor.
  static absl::StatusOr<std::unique_ptr<Decompressor>> Create(Compression codec,
                                                              absl::string_view input);
  virtual ~Decompressor() = default;

  // Writes up to `size` (> 0) bytes to `buf` and returns how many; 0 means the
  // stream has ended cleanly.
  virtual absl::StatusOr<size_t> Read(char* buf, size_t size) = 0;
};

}  // namespace runnel::batch

#endif  // RUNNEL_PROTO_BATCH_COMPRESSION_H_
