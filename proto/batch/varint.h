// Zigzag varints as Kafka writes them in record bodies (the same encoding as
// protobuf's sint32/sint64): small magnitudes, negative ones included, take few
// bytes. Decoders never read past `end` and reject varints longer than the
// maximum for their width, so they are safe on untrusted input.
//
// Thread-safety: stateless free functions.
#ifndef RUNNEL_PROTO_BATCH_VARINT_H_
#define RUNNEL_PROTO_BATCH_VARINT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace runnel::batch {

inline constexpr size_t kMaxVarint32Bytes = 5;
inline constexpr size_t kMaxVarint64Bytes = 10;

// Encoded sizes, for sizing a buffer before writing.
size_t Varint32Size(int32_t value);
size_t Varint64Size(int64_t value);

// Write at `p`, which must have room for the encoded size; return the byte
// after the last one written.
char* EncodeVarint32(int32_t value, char* p);
char* EncodeVarint64(int64_t value, char* p);

// Append to `out`.
void AppendVarint32(int32_t value, std::string* out);
void AppendVarint64(int64_t value, std::string* out);

// Decode from [*p, end). On success store the value, advance *p past it and
// return true. Return false (leaving *p and *value untouched) if the input
// ends inside the varint or it is longer than kMaxVarint32Bytes /
// kMaxVarint64Bytes. Like Kafka, a 32-bit varint keeps the low 32 bits of a
// 5-byte encoding. Inline (defined below) because the record walker decodes
// several per record.
inline bool DecodeVarint32(const char** p, const char* end, int32_t* value);
inline bool DecodeVarint64(const char** p, const char* end, int64_t* value);

// Convenience forms that consume from the front of `*in`.
bool ReadVarint32(absl::string_view* in, int32_t* value);
bool ReadVarint64(absl::string_view* in, int64_t* value);

namespace varint_internal {
// Reads at most max_bytes bytes. Bits beyond 64 (only possible in a 10th
// byte) are dropped, matching protobuf and Kafka.
inline bool DecodeUnsigned(const char** p, const char* end, size_t max_bytes, uint64_t* out) {
  const char* q = *p;
  uint64_t result = 0;
  for (size_t i = 0; i < max_bytes && q != end; ++i) {
    const auto b = static_cast<unsigned char>(*q++);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *p = q;
      *out = result;
      return true;
    }
  }
  return false;  // input ended, or continuation bit still set after max_bytes
}
}  // namespace varint_internal

inline bool DecodeVarint32(const char** p, const char* end, int32_t* value) {
  uint64_t u;
  if (!varint_internal::DecodeUnsigned(p, end, kMaxVarint32Bytes, &u)) return false;
  const auto u32 = static_cast<uint32_t>(u);
  *value = static_cast<int32_t>((u32 >> 1) ^ (~(u32 & 1) + 1));
  return true;
}

inline bool DecodeVarint64(const char** p, const char* end, int64_t* value) {
  uint64_t u;
  if (!varint_internal::DecodeUnsigned(p, end, kMaxVarint64Bytes, &u)) return false;
  *value = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

}  // namespace runnel::batch

#endif  // RUNNEL_PROTO_BATCH_VARINT_H_
