#include "proto/batch/varint.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"

namespace runnel::batch {
namespace {

TEST(VarintTest, ZigZagByteLayoutMatchesKafka) {
  // Kafka/protobuf zigzag: 0->00, -1->01, 1->02, -2->03, 63->7e, -64->7f,
  // 64->80 01, 300->d8 04.
  struct Case {
    int32_t value;
    std::string bytes;
  };
  for (const Case& c :
       {Case{0, std::string(1, '\x00')}, Case{-1, "\x01"}, Case{1, "\x02"}, Case{-2, "\x03"},
        Case{63, "\x7e"}, Case{-64, "\x7f"}, Case{64, "\x80\x01"}, Case{300, "\xd8\x04"}}) {
    std::string out;
    AppendVarint32(c.value, &out);
    EXPECT_EQ(out, c.bytes) << c.value;
    EXPECT_EQ(Varint32Size(c.value), c.bytes.size()) << c.value;
  }
  std::string out;
  AppendVarint32(std::numeric_limits<int32_t>::min(), &out);
  EXPECT_EQ(out, "\xff\xff\xff\xff\x0f");
}

TEST(VarintTest, RoundTrip32) {
  for (int32_t v : {0, 1, -1, 63, -64, 64, -65, 8191, -8192, 1 << 20, -(1 << 20),
                    std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
    std::string buf;
    AppendVarint32(v, &buf);
    EXPECT_EQ(buf.size(), Varint32Size(v));
    EXPECT_LE(buf.size(), kMaxVarint32Bytes);
    absl::string_view in(buf);
    int32_t got = 0;
    ASSERT_TRUE(ReadVarint32(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(VarintTest, RoundTrip64) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{1} << 35, -(int64_t{1} << 35),
                    int64_t{1700000000000}, std::numeric_limits<int64_t>::max(),
                    std::numeric_limits<int64_t>::min()}) {
    std::string buf;
    AppendVarint64(v, &buf);
    EXPECT_EQ(buf.size(), Varint64Size(v));
    EXPECT_LE(buf.size(), kMaxVarint64Bytes);
    absl::string_view in(buf);
    int64_t got = 0;
    ASSERT_TRUE(ReadVarint64(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

TEST(VarintTest, ConsecutiveValuesDecodeInOrder) {
  std::string buf;
  AppendVarint32(5, &buf);
  AppendVarint64(-123456789012, &buf);
  AppendVarint32(-7, &buf);
  absl::string_view in(buf);
  int32_t a = 0, c = 0;
  int64_t b = 0;
  ASSERT_TRUE(ReadVarint32(&in, &a));
  ASSERT_TRUE(ReadVarint64(&in, &b));
  ASSERT_TRUE(ReadVarint32(&in, &c));
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, -123456789012);
  EXPECT_EQ(c, -7);
}

TEST(VarintTest, TruncatedInputFailsAndConsumesNothing) {
  std::string buf;
  AppendVarint64(std::numeric_limits<int64_t>::min(), &buf);  // 10 bytes
  for (size_t len = 0; len < buf.size(); ++len) {
    absl::string_view in(buf.data(), len);
    int64_t got = 99;
    EXPECT_FALSE(ReadVarint64(&in, &got)) << len;
    EXPECT_EQ(in.size(), len);
    EXPECT_EQ(got, 99);
  }
  absl::string_view in("\x80\x80", 2);
  int32_t got32 = 0;
  EXPECT_FALSE(ReadVarint32(&in, &got32));
}

TEST(VarintTest, OverlongInputFails) {
  const std::string six = std::string(5, '\x80') + "\x01";  // byte 5 still continues
  absl::string_view in32(six);
  int32_t v32 = 0;
  EXPECT_FALSE(ReadVarint32(&in32, &v32));

  const std::string eleven = std::string(10, '\x80') + "\x01";
  absl::string_view in64(eleven);
  int64_t v64 = 0;
  EXPECT_FALSE(ReadVarint64(&in64, &v64));
}

TEST(VarintTest, PointerDecoderRespectsEnd) {
  const std::string buf = "\x80\x01";  // unsigned 128, zigzag-decoded 64
  const char* p = buf.data();
  int32_t v = 0;
  EXPECT_FALSE(DecodeVarint32(&p, buf.data() + 1, &v));
  EXPECT_EQ(p, buf.data());
  EXPECT_TRUE(DecodeVarint32(&p, buf.data() + 2, &v));
  EXPECT_EQ(v, 64);
  EXPECT_EQ(p, buf.data() + 2);
}

}  // namespace
}  // namespace runnel::batch
