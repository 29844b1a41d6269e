#include "proto/batch/crc32c.h"

#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace runnel::batch {
namespace {

using ExtendFn = std::function<uint32_t(uint32_t, absl::string_view)>;

std::string Bytes(int n, const std::function<char(int)>& at) {
  std::string s(n, '\0');
  for (int i = 0; i < n; ++i) s[i] = at(i);
  return s;
}

// Vectors from RFC 3720 (iSCSI) appendix B.4 plus the usual check value.
void ExpectKnownVectors(const ExtendFn& extend) {
  EXPECT_EQ(extend(0, ""), 0u);
  EXPECT_EQ(extend(0, "123456789"), 0xE3069283u);
  EXPECT_EQ(extend(0, std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(extend(0, std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(extend(0, Bytes(32, [](int i) { return static_cast<char>(i); })), 0x46DD794Eu);
  EXPECT_EQ(extend(0, Bytes(32, [](int i) { return static_cast<char>(31 - i); })), 0x113FDB5Cu);
}

TEST(Crc32cTest, PortableKnownVectors) { ExpectKnownVectors(internal_crc32c::ExtendPortable); }

TEST(Crc32cTest, HardwareKnownVectors) {
  if (!internal_crc32c::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  ExpectKnownVectors(internal_crc32c::ExtendHardware);
}

TEST(Crc32cTest, DispatchedKnownVectors) { ExpectKnownVectors(ExtendCrc32c); }

TEST(Crc32cTest, ExtendEqualsWholeAtEverySplit) {
  const std::string data = "The quick brown fox jumps over the lazy dog, twice or more.";
  const uint32_t whole = Crc32c(data);
  for (size_t split = 0; split <= data.size(); ++split) {
    const absl::string_view v(data);
    EXPECT_EQ(ExtendCrc32c(Crc32c(v.substr(0, split)), v.substr(split)), whole) << split;
  }
}

// The two paths must agree on every length and alignment (tails of 0-7 bytes,
// unaligned starts), not just the fixed vectors.
TEST(Crc32cTest, HardwareMatchesPortableOnRandomData) {
  if (!internal_crc32c::HardwareAvailable()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::mt19937 rng(42);
  std::string data(100000 + 16, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t start = 0; start < 8; ++start) {
    // Short tails, and around the 3 x 4 KiB parallel-lane threshold.
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096, 12287, 12288, 12289,
                       24576 + 13, 100000}) {
      const absl::string_view v = absl::string_view(data).substr(start, len);
      EXPECT_EQ(internal_crc32c::ExtendHardware(0x12345678, v),
                internal_crc32c::ExtendPortable(0x12345678, v))
          << "start " << start << " len " << len;
    }
  }
}

TEST(Crc32cTest, DetectsSingleBitFlip) {
  std::string data(1024, 'x');
  const uint32_t before = Crc32c(data);
  data[512] ^= 0x01;
  EXPECT_NE(Crc32c(data), before);
}

}  // namespace
}  // namespace runnel::batch
