#include "broker/replication/throttle.h"

#include "gtest/gtest.h"

namespace runnel::replication {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

TEST(TokenBucketTest, StartsWithAQuarterSecondOfTokens) {
  TokenBucket bucket(4000, kStart);
  EXPECT_EQ(bucket.Allowance(kStart), 1000);
  EXPECT_EQ(bucket.ReadyAt(kStart), kStart);
}

TEST(TokenBucketTest, RefillsAtTheRateUpToTheCapacity) {
  TokenBucket bucket(4000, kStart);
  bucket.Consume(1000);
  EXPECT_EQ(bucket.Allowance(kStart), 0);
  EXPECT_EQ(bucket.Allowance(kStart + absl::Milliseconds(100)), 400);
  EXPECT_EQ(bucket.Allowance(kStart + absl::Seconds(10)), 1000) << "idle time is not banked";
}

TEST(TokenBucketTest, DebtDelaysTheNextFetchSoTheRateHolds) {
  TokenBucket bucket(1000, kStart);  // 250 bytes of capacity
  ASSERT_EQ(bucket.Allowance(kStart), 250);
  bucket.Consume(2250);  // a whole batch, larger than allowed: 2000 in debt
  EXPECT_EQ(bucket.Allowance(kStart), 0);
  EXPECT_EQ(bucket.ReadyAt(kStart), kStart + absl::Milliseconds(2001));
  EXPECT_EQ(bucket.Allowance(kStart + absl::Seconds(2)), 0);
  EXPECT_EQ(bucket.Allowance(kStart + absl::Milliseconds(2500)), 250) << "capped";
}

TEST(TokenBucketTest, CopyingForAMinuteStaysUnderTheLimit) {
  // A fetcher loop: fetch whenever allowed, each answer a few batches of
  // 3000 bytes (often more than allowed), time jumping to ReadyAt.
  const int64_t rate = 100000;
  TokenBucket bucket(rate, kStart);
  absl::Time now = kStart;
  int64_t copied = 0;
  while (now < kStart + absl::Seconds(60)) {
    const int64_t allowed = bucket.Allowance(now);
    if (allowed == 0) {
      now = bucket.ReadyAt(now);
      continue;
    }
    const int64_t got = ((allowed + 2999) / 3000) * 3000;
    bucket.Consume(got);
    copied += got;
    now += absl::Milliseconds(1);
  }
  EXPECT_LE(copied, rate * 60 + rate / 4 + 3000);
  EXPECT_GE(copied, rate * 59) << "and uses the limit";
}

TEST(TokenBucketTest, SetRateKeepsTokensUpToTheNewCapacity) {
  TokenBucket bucket(4000, kStart);
  bucket.SetRate(400, kStart);
  EXPECT_EQ(bucket.rate(), 400);
  EXPECT_EQ(bucket.Allowance(kStart), 100);
  bucket.SetRate(40000, kStart);
  EXPECT_EQ(bucket.Allowance(kStart), 100) << "a higher limit does not grant tokens at once";
  EXPECT_EQ(bucket.Allowance(kStart + absl::Milliseconds(10)), 500);
}

}  // namespace
}  // namespace runnel::replication
