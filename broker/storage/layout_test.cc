#include "broker/storage/layout.h"

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace runnel::storage::layout {
namespace {

TEST(LayoutTest, LogKeyHasDocumentedBytes) {
  const std::string key = LogKey({0x0102030405060708ULL, 0x0a0b0c0d}, 0x1112131415161718LL);
  const std::string want =
      "L\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d\x11\x12\x13\x14\x15\x16\x17\x18";
  EXPECT_EQ(key, want);
  EXPECT_EQ(key.size(), kLogKeySize);
}

TEST(LayoutTest, MetaAndEpochKeysHaveDocumentedBytes) {
  const PartitionId id{7, 3};
  EXPECT_EQ(MetaKey(id), std::string("M\0\0\0\0\0\0\0\x07\0\0\0\x03", 13));
  EXPECT_EQ(EpochKey(id, 258), std::string("E\0\0\0\0\0\0\0\x07\0\0\0\x03\0\0\x01\x02", 17));
}

TEST(LayoutTest, LogKeysSortByTopicThenPartitionThenOffset) {
  // Listed in the order the keys must sort; values chosen so that a
  // little-endian or signed encoding would sort differently.
  const std::vector<std::string> keys = {
      LogKey({1, 0}, 0),         LogKey({1, 0}, 255), LogKey({1, 0}, 256),
      LogKey({1, 0}, 1LL << 40), LogKey({1, 1}, 0),   LogKey({1, 256}, 0),
      LogKey({2, 0}, 0),         LogKey({256, 0}, 0), LogKey({1ULL << 63, 0}, 0),
  };
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, keys);
}

TEST(LayoutTest, OnePartitionsKeysFormOneRange) {
  const PartitionId id{5, 2};
  const std::string begin = PartitionPrefix(kLogTag, id);
  const std::string end = PrefixEnd(begin);
  EXPECT_LE(begin, LogKey(id, 0));
  EXPECT_LT(LogKey(id, std::numeric_limits<int64_t>::max()), end);
  // Neighbouring partitions fall outside.
  EXPECT_GE(LogKey({5, 3}, 0), end);
  EXPECT_LT(LogKey({5, 1}, std::numeric_limits<int64_t>::max()), begin);
  // Meta and epoch keys never fall inside a log range.
  EXPECT_FALSE(MetaKey(id) >= begin && MetaKey(id) < end);
  EXPECT_FALSE(EpochKey(id, 0) >= begin && EpochKey(id, 0) < end);
}

TEST(LayoutTest, PrefixEndIncrementsWithCarry) {
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\x01\xff", 3)), "a\x02");
}

TEST(LayoutTest, LogKeyRoundTrips) {
  const PartitionId id{0xfedcba9876543210ULL, 2147483647};
  PartitionId got;
  int64_t offset = 0;
  ASSERT_TRUE(DecodeLogKey(LogKey(id, 123456789012LL), &got, &offset));
  EXPECT_EQ(got, id);
  EXPECT_EQ(offset, 123456789012LL);
  EXPECT_FALSE(DecodeLogKey(MetaKey(id), &got, &offset));
  EXPECT_FALSE(DecodeLogKey(LogKey(id, 1).substr(0, kLogKeySize - 1), &got, &offset));
}

TEST(LayoutTest, EpochKeyRoundTrips) {
  const PartitionId id{9, 4};
  PartitionId got;
  int32_t epoch = 0;
  ASSERT_TRUE(DecodeEpochKey(EpochKey(id, 77), &got, &epoch));
  EXPECT_EQ(got, id);
  EXPECT_EQ(epoch, 77);
  EXPECT_FALSE(DecodeEpochKey(LogKey(id, 77), &got, &epoch));
}

TEST(LayoutTest, MetaRoundTripsAndToleratesLaterFields) {
  const std::string encoded = EncodeMeta({/*log_start_offset=*/987654321, /*size_bytes=*/4096});
  absl::StatusOr<PartitionMeta> meta = DecodeMeta(encoded);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->log_start_offset, 987654321);
  EXPECT_EQ(meta->size_bytes, 4096);

  // A later version may append fields; this reader ignores them.
  std::string extended = encoded + "more fields";
  extended[0] = 3;
  meta = DecodeMeta(extended);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->log_start_offset, 987654321);
  EXPECT_EQ(meta->size_bytes, 4096);
}

TEST(LayoutTest, VersionOneMetaHasNoSize) {
  std::string v1(1, '\x01');
  AppendBigEndian64(77, &v1);
  absl::StatusOr<PartitionMeta> meta = DecodeMeta(v1);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->log_start_offset, 77);
  EXPECT_EQ(meta->size_bytes, -1);
}

TEST(LayoutTest, MetaRejectsTruncatedOrUnversionedValues) {
  EXPECT_EQ(DecodeMeta("").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeMeta(std::string("\0\0\0\0\0\0\0\0\0", 9)).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeMeta(EncodeMeta({5}).substr(0, 5)).status().code(), absl::StatusCode::kDataLoss);
  // Version 2 without its size field.
  EXPECT_EQ(DecodeMeta(EncodeMeta({5, 6}).substr(0, 9)).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(LayoutTest, EpochStartRoundTrips) {
  absl::StatusOr<int64_t> start = DecodeEpochStart(EncodeEpochStart(1LL << 50));
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ(*start, 1LL << 50);
  EXPECT_FALSE(DecodeEpochStart("short").ok());
}

}  // namespace
}  // namespace runnel::storage::layout
