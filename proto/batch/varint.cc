#include "proto/batch/varint.h"

namespace runnel::batch {
namespace {

// Zigzag maps signed to unsigned so that -1 encodes as 1, 1 as 2, and so on.
// Shifts are done on unsigned values to stay clear of signed-overflow UB.
uint32_t ZigZag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
uint64_t ZigZag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

size_t UnsignedVarintSize(uint64_t u) {
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    ++n;
  }
  return n;
}

char* EncodeUnsigned(uint64_t u, char* p) {
  while (u >= 0x80) {
    *p++ = static_cast<char>(static_cast<uint8_t>(u) | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(u);
  return p;
}

}  // namespace

size_t Varint32Size(int32_t value) { return UnsignedVarintSize(ZigZag32(value)); }
size_t Varint64Size(int64_t value) { return UnsignedVarintSize(ZigZag64(value)); }

char* EncodeVarint32(int32_t value, char* p) { return EncodeUnsigned(ZigZag32(value), p); }
char* EncodeVarint64(int64_t value, char* p) { return EncodeUnsigned(ZigZag64(value), p); }

void AppendVarint32(int32_t value, std::string* out) {
  char buf[kMaxVarint32Bytes];
  out->append(buf, EncodeVarint32(value, buf) - buf);
}

void AppendVarint64(int64_t value, std::string* out) {
  char buf[kMaxVarint64Bytes];
  out->append(buf, EncodeVarint64(value, buf) - buf);
}

bool ReadVarint32(absl::string_view* in, int32_t* value) {
  const char* p = in->data();
  if (!DecodeVarint32(&p, in->data() + in->size(), value)) return false;
  in->remove_prefix(p - in->data());
  return true;
}

bool ReadVarint64(absl::string_view* in, int64_t* value) {
  const char* p = in->data();
  if (!DecodeVarint64(&p, in->data() + in->size(), value)) return false;
  in->remove_prefix(p - in->data());
  return true;
}

}  // namespace runnel::batch
