#include "common/metrics/metrics.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runnel::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CountersAndGaugesRenderWithEscapedLabels) {
  Registry r;
  Family<Counter>* bytes = r.AddCounter("runnel_bytes_in_total", "Bytes in.", {"topic"});
  bytes->WithLabels({"orders"})->Increment(100);
  bytes->WithLabels({"orders"})->Increment(23);
  bytes->WithLabels({"we\"ird\\\n"})->Increment();
  Family<Gauge>* up = r.AddGauge("runnel_up", "Up.");
  up->WithLabels({})->Set(1);
  up->WithLabels({})->Add(-0.5);

  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("# HELP runnel_bytes_in_total Bytes in.\n"
                              "# TYPE runnel_bytes_in_total counter\n"));
  EXPECT_THAT(text, HasSubstr("runnel_bytes_in_total{topic=\"orders\"} 123\n"));
  EXPECT_THAT(text, HasSubstr("runnel_bytes_in_total{topic=\"we\\\"ird\\\\\\n\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE runnel_up gauge\nrunnel_up 0.5\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Registry r;
  Family<Histogram>* h = r.AddHistogram("lat_seconds", "Latency.", {"rpc"}, {0.1, 1, 0.01});
  Histogram* fetch = h->WithLabels({"Fetch"});
  for (double v : {0.005, 0.05, 0.05, 0.5, 5.0}) fetch->Observe(v);
  const std::string text = r.Render();
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Fetch\",le=\"0.01\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Fetch\",le=\"0.1\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Fetch\",le=\"1\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_bucket{rpc=\"Fetch\",le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_sum{rpc=\"Fetch\"} 5.605\n"));
  EXPECT_THAT(text, HasSubstr("lat_seconds_count{rpc=\"Fetch\"} 5\n"));
}

TEST(MetricsTest, ObservationOnABoundLandsInThatBucket) {
  Registry r;
  Histogram* h = r.AddHistogram("h", "H.", {}, {1, 2})->WithLabels({});
  h->Observe(1);
  EXPECT_EQ(h->cumulative_count(0), 1u);  // le="1" includes 1
}

TEST(MetricsTest, CollectorsRunAtRender) {
  Registry r;
  int calls = 0;
  r.AddCollector([&calls](SampleWriter& w) {
    ++calls;
    w.Begin("runnel_partition_log_end_offset", "Next offset.", "gauge");
    w.Sample("runnel_partition_log_end_offset", {"topic", "partition"}, {"t", "0"}, 42);
    w.Single("runnel_broker_partitions", "Partitions.", "gauge", 3);
  });
  EXPECT_THAT(r.Render(),
              HasSubstr("runnel_partition_log_end_offset{topic=\"t\",partition=\"0\"} 42\n"));
  EXPECT_THAT(r.Render(), HasSubstr("# HELP runnel_broker_partitions Partitions.\n"
                                    "# TYPE runnel_broker_partitions gauge\n"
                                    "runnel_broker_partitions 3\n"));
  EXPECT_EQ(calls, 2);
}

TEST(MetricsTest, ConcurrentIncrementsAreNotLost) {
  Registry r;
  Family<Counter>* c = r.AddCounter("c_total", "C.", {"k"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([c] {
      for (int i = 0; i < 10000; ++i) c->WithLabels({"x"})->Increment();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->WithLabels({"x"})->value(), 40000);
}

TEST(MetricsDeathTest, WrongLabelCountIsAProgrammingError) {
  Registry r;
  Family<Counter>* c = r.AddCounter("c_total", "C.", {"a", "b"});
  EXPECT_DEATH(c->WithLabels({"only-one"}), "1 label values for 2 labels");
}

}  // namespace
}  // namespace runnel::metrics
