#include "client/partitioner.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace runnel::client {
namespace {

// Apache Kafka's UtilsTest.testMurmur2 vectors (signed Java ints).
TEST(Murmur2Test, MatchesKafkaUtilsTest) {
  EXPECT_EQ(Murmur2("21"), -973932308);
  EXPECT_EQ(Murmur2("foobar"), -790332482);
  EXPECT_EQ(Murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(Murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(Murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(Murmur2("abc"), 479470107);
}

// More values of Kafka's murmur2, covering every tail length (0-3 bytes).
TEST(Murmur2Test, MatchesKafkaForEveryTailLength) {
  EXPECT_EQ(Murmur2(""), 275646681);
  EXPECT_EQ(Murmur2("1"), -1993445489);
  EXPECT_EQ(Murmur2("12"), 126087238);
  EXPECT_EQ(Murmur2("123"), -267702483);
  EXPECT_EQ(Murmur2("1234"), -1614185708);
  EXPECT_EQ(Murmur2("12345"), -1188365604);
}

TEST(Murmur2Test, HandlesHighBytes) {
  // Bytes >= 0x80 must be treated as unsigned, as Kafka's `& 0xff` does.
  std::string high = "\xff\xfe\x80\x81\x90";
  EXPECT_NE(Murmur2(high), Murmur2("\x7f\x7e\x00\x01\x10"));
  EXPECT_EQ(Murmur2(high), Murmur2(high));
}

TEST(PartitionForKeyTest, ToPositiveModulo) {
  // toPositive(-790332482) = 1357151166; 1357151166 % 50 = 16.
  EXPECT_EQ(ToPositive(-790332482), 1357151166);
  EXPECT_EQ(PartitionForKey("foobar", 50), 16);
  EXPECT_EQ(PartitionForKey("foobar", 1), 0);
  // A hash with the sign bit set still maps into range.
  EXPECT_EQ(PartitionForKey("21", 7), ToPositive(-973932308) % 7);
}

TEST(StickyPartitionerTest, SticksUntilTheBatchIsSealedThenRotates) {
  StickyPartitioner sticky(/*seed=*/42);
  const int32_t first = sticky.Partition("t", 3);
  EXPECT_EQ(sticky.Partition("t", 3), first);
  sticky.OnBatchSealed("t", (first + 1) % 3, 3);  // another partition's batch
  EXPECT_EQ(sticky.Partition("t", 3), first);
  std::set<int32_t> seen;
  for (int i = 0; i < 3; ++i) {
    int32_t p = sticky.Partition("t", 3);
    EXPECT_EQ(p, (first + i) % 3);
    seen.insert(p);
    sticky.OnBatchSealed("t", p, 3);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(StickyPartitionerTest, StaysInRangeWhenPartitionCountShrinks) {
  StickyPartitioner sticky(7);
  for (int i = 0; i < 10; ++i) {
    int32_t p = sticky.Partition("t", 10);
    sticky.OnBatchSealed("t", p, 10);
  }
  int32_t p = sticky.Partition("t", 2);
  EXPECT_GE(p, 0);
  EXPECT_LT(p, 2);
}

}  // namespace
}  // namespace runnel::client
