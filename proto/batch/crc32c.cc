#include "proto/batch/crc32c.h"

#include <array>
#include <cstddef>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace runnel::batch {
namespace internal_crc32c {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78;  // Castagnoli, bit-reflected

// kTables[0] is the classic byte-at-a-time table; kTables[k][b] is the CRC
// contribution of byte b followed by k zero bytes, so eight bytes fold in with
// eight independent lookups (slicing-by-8).
using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables MakeTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kPolynomial : 0);
    t[0][i] = crc;
  }
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

constexpr Tables kTables = MakeTables();

// Little-endian load written byte by byte so it is correct on any host;
// compilers turn it into a single load on x86 and ARM.
inline uint32_t LoadLE32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, absl::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint32_t c = ~crc;
  const Tables& t = kTables;
  while (n >= 8) {
    const uint32_t lo = c ^ LoadLE32(p);
    const uint32_t hi = LoadLE32(p + 4);
    c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
        t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__)

bool HardwareAvailable() {
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
}

namespace {

// crc32q has a latency of three cycles but a throughput of one per cycle, so
// one dependent chain uses a third of the unit. Long inputs are therefore cut
// into three lanes of kLane bytes checksummed in parallel, then joined: the
// CRC register is linear, so reg(x, A || B) == Shift(reg(x, A), |B|) ^ reg(0, B),
// where Shift advances a register over |B| zero bytes.
constexpr size_t kLane = 4096;

// Shift over kLane zero bytes as a linear map of the 32-bit register: one
// lookup per register byte.
struct ShiftTable {
  uint32_t t[4][256];
  uint32_t Apply(uint32_t crc) const {
    return t[0][crc & 0xff] ^ t[1][(crc >> 8) & 0xff] ^ t[2][(crc >> 16) & 0xff] ^ t[3][crc >> 24];
  }
};

__attribute__((target("sse4.2"))) uint32_t ShiftSlowly(uint32_t crc, size_t zero_bytes) {
  uint64_t c = crc;
  for (size_t i = 0; i < zero_bytes / 8; ++i) c = _mm_crc32_u64(c, 0);
  return static_cast<uint32_t>(c);
}

const ShiftTable& LaneShift() {
  static const ShiftTable* table = [] {
    auto* t = new ShiftTable;
    uint32_t basis[32];
    for (int bit = 0; bit < 32; ++bit) basis[bit] = ShiftSlowly(uint32_t{1} << bit, kLane);
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int bit = 0; bit < 8; ++bit) {
          if (b & (1u << bit)) v ^= basis[8 * k + bit];
        }
        t->t[k][b] = v;
      }
    }
    return t;
  }();
  return *table;
}

uint64_t Load64(const char* p) {
  uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

}  // namespace

__attribute__((target("sse4.2"))) uint32_t ExtendHardware(uint32_t crc, absl::string_view data) {
  const char* p = data.data();
  size_t n = data.size();
  uint64_t c = ~crc;
  if (n >= 3 * kLane) {
    const ShiftTable& shift = LaneShift();
    do {
      uint64_t c1 = 0;
      uint64_t c2 = 0;
      for (size_t i = 0; i < kLane; i += 8) {
        c = _mm_crc32_u64(c, Load64(p + i));
        c1 = _mm_crc32_u64(c1, Load64(p + kLane + i));
        c2 = _mm_crc32_u64(c2, Load64(p + 2 * kLane + i));
      }
      c = shift.Apply(static_cast<uint32_t>(c)) ^ c1;
      c = shift.Apply(static_cast<uint32_t>(c)) ^ c2;
      p += 3 * kLane;
      n -= 3 * kLane;
    } while (n >= 3 * kLane);
  }
  while (n >= 8) {
    c = _mm_crc32_u64(c, Load64(p));
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*p++));
  return ~c32;
}

#else  // no hardware path on this architecture yet

bool HardwareAvailable() { return false; }
uint32_t ExtendHardware(uint32_t crc, absl::string_view data) { return ExtendPortable(crc, data); }

#endif

}  // namespace internal_crc32c

uint32_t ExtendCrc32c(uint32_t crc, absl::string_view data) {
  static const auto impl = internal_crc32c::HardwareAvailable() ? &internal_crc32c::ExtendHardware
                                                                : &internal_crc32c::ExtendPortable;
  return impl(crc, data);
}

uint32_t Crc32c(absl::string_view data) { return ExtendCrc32c(0, data); }

}  // namespace runnel::batch
