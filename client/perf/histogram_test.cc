#include "client/perf/histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace runnel::perf {
namespace {

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Percentile(0.5), 0);
  EXPECT_EQ(h.Percentile(0.99), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 100);
  EXPECT_EQ(h.Percentile(0.50), 50);
  EXPECT_EQ(h.Percentile(0.99), 99);
  EXPECT_EQ(h.Percentile(1.0), 100);
  EXPECT_EQ(h.max(), 100);
  EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(LatencyHistogramTest, LargeValuesWithinHalfAPercent) {
  LatencyHistogram h;
  // 1..100000 once each: the q-quantile is q * 100000.
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = q * 100000;
    EXPECT_NEAR(h.Percentile(q), expected, expected * 0.005) << q;
  }
  EXPECT_EQ(h.Percentile(1.0), 100000);
}

TEST(LatencyHistogramTest, TailIsSeparatedFromTheBulk) {
  LatencyHistogram h;
  for (int i = 0; i < 990; ++i) h.Record(2000);
  for (int i = 0; i < 10; ++i) h.Record(9000000);
  EXPECT_NEAR(h.Percentile(0.5), 2000, 10);
  EXPECT_NEAR(h.Percentile(0.99), 2000, 10);
  EXPECT_NEAR(h.Percentile(0.999), 9000000, 9000000 * 0.005);
  EXPECT_EQ(h.Percentile(0.999), h.max());  // clamped to the largest sample
}

TEST(LatencyHistogramTest, NegativeCountsAsZero) {
  LatencyHistogram h;
  h.Record(-5);
  EXPECT_EQ(h.Percentile(1.0), 0);
}

TEST(LatencyHistogramTest, HugeValues) {
  LatencyHistogram h;
  h.Record(INT64_MAX / 2);
  EXPECT_EQ(h.Percentile(1.0), INT64_MAX / 2);
}

}  // namespace
}  // namespace runnel::perf
