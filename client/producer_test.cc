#include "client/producer.h"

#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/errors.h"
#include "client/partitioner.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;
namespace v1 = runnel::v1;

// Collects delivery outcomes, indexed in Send order (callbacks of different
// partitions may come in any order). Callbacks run on the producer's sender
// thread while the test thread may still be sending, hence the lock; read
// the results after Flush.
struct Outcomes {
  absl::Mutex mu;
  std::deque<absl::StatusOr<RecordMetadata>> results;
  int calls = 0;
  DeliveryCallback Callback() {
    absl::MutexLock lock(&mu);
    size_t index = results.size();
    results.emplace_back(absl::UnknownError("not delivered"));
    return [this, index](const absl::StatusOr<RecordMetadata>& r) {
      absl::MutexLock lock(&mu);
      results[index] = r;
      ++calls;
    };
  }
};

ProducerOptions Options(const FakeCluster& cluster) {
  ProducerOptions o;
  o.client = cluster.Options();
  return o;
}

// For tests that count requests or batches: nothing is sent before a batch
// fills or Flush is called, however slowly the test runs.
ProducerOptions NoLinger(const FakeCluster& cluster) {
  ProducerOptions o = Options(cluster);
  o.linger = absl::Hours(1);
  return o;
}

// Waits (up to 10 s) for `done` to hold, for effects of the sender thread.
template <typename F>
bool Eventually(F done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

ProducerRecord Keyed(const std::string& topic, const std::string& key, const std::string& value) {
  ProducerRecord r;
  r.topic = topic;
  r.key = key;
  r.value = value;
  return r;
}

ProducerRecord Unkeyed(const std::string& topic, const std::string& value) {
  ProducerRecord r;
  r.topic = topic;
  r.value = value;
  return r;
}

TEST(ProducerTest, KeyedRecordsGoToTheKafkaPartitionWithSequentialOffsets) {
  FakeCluster cluster(3);
  cluster.CreateTopic("orders", 5);
  Producer producer(NoLinger(cluster));
  Outcomes out;
  std::map<int32_t, int64_t> next_offset;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(producer.Send(Keyed("orders", "key" + std::to_string(i), "v"), out.Callback())
                    .ok());
  }
  EXPECT_EQ(producer.pending_records(), 50u);
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(producer.pending_records(), 0u);
  ASSERT_EQ(out.calls, 50);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(out.results[i].ok()) << out.results[i].status();
    const RecordMetadata& m = *out.results[i];
    EXPECT_EQ(m.topic, "orders");
    EXPECT_EQ(m.partition, PartitionForKey("key" + std::to_string(i), 5));
    EXPECT_EQ(m.offset, next_offset[m.partition]++);
  }
  // One Produce per leader broker, not per record.
  EXPECT_EQ(cluster.produce_calls(), 3);
  int total = 0;
  for (int p = 0; p < 5; ++p) total += static_cast<int>(cluster.Records("orders", p).size());
  EXPECT_EQ(total, 50);
}

TEST(ProducerTest, RecordsArriveIntact) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(Options(cluster));
  ProducerRecord r = Keyed("t", "k", "value");
  r.headers = {{"trace", std::string("abc")}, {"empty", std::nullopt}};
  r.timestamp_ms = 1234;
  ASSERT_TRUE(producer.Send(r).ok());
  ProducerRecord tombstone;
  tombstone.topic = "t";
  tombstone.key = "k";
  ASSERT_TRUE(producer.Send(tombstone).ok());
  ASSERT_TRUE(producer.Flush().ok());
  std::vector<runnel::batch::Record> log = cluster.Records("t", 0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].key, "k");
  EXPECT_EQ(log[0].value, "value");
  EXPECT_EQ(log[0].timestamp, 1234);
  EXPECT_EQ(log[0].headers, r.headers);
  EXPECT_FALSE(log[1].value.has_value());
  EXPECT_GT(log[1].timestamp, 1600000000000);  // defaulted to now
}

TEST(ProducerTest, UnkeyedRecordsStickToAPartitionPerBatch) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 3);
  ProducerOptions options = NoLinger(cluster);
  options.batch_bytes = 1000;
  Producer producer(options);
  Outcomes out;
  const std::string value(90, 'x');
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(producer.Send(Unkeyed("t", value), out.Callback()).ok());
  ASSERT_TRUE(producer.Flush().ok());
  ASSERT_EQ(out.calls, 60);
  // Consecutive records share a partition until a batch fills; the partition
  // then changes, and every partition gets some.
  int switches = 0;
  std::map<int32_t, int> per_partition;
  for (size_t i = 0; i < out.results.size(); ++i) {
    per_partition[out.results[i]->partition]++;
    if (i > 0 && out.results[i]->partition != out.results[i - 1]->partition) ++switches;
  }
  EXPECT_EQ(per_partition.size(), 3u);
  EXPECT_GE(switches, 3);
  EXPECT_LE(switches, 10);  // about one per ~8-record batch, not per record
}

TEST(ProducerTest, FullBatchesAreSentBeforeFlush) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = NoLinger(cluster);
  options.batch_bytes = 500;
  Producer producer(options);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(producer.Send(Keyed("t", "k", std::string(100, 'v'))).ok());
  // The sender thread delivers full batches without waiting for Flush.
  EXPECT_TRUE(Eventually([&] { return cluster.HighWatermark("t", 0) > 0; }));
  EXPECT_GT(cluster.produce_calls(), 0);
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(cluster.HighWatermark("t", 0), 20);
  EXPECT_GT(cluster.BatchCount("t", 0), 1);
}

TEST(ProducerTest, ExplicitPartition) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 3);
  Producer producer(Options(cluster));
  ProducerRecord r = Keyed("t", "foobar", "v");
  r.partition = 2;
  ASSERT_TRUE(producer.Send(r).ok());
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(cluster.HighWatermark("t", 2), 1);
}

TEST(ProducerTest, ImmediateErrorsDoNotCallTheCallback) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 3);
  Producer producer(Options(cluster));
  Outcomes out;
  ProducerRecord r = Unkeyed("t", "v");
  r.partition = 5;
  absl::Status s = producer.Send(r, out.Callback());
  EXPECT_EQ(s.message(), "partition 5 out of range for topic 't' (3 partitions: 0-2)");
  s = producer.Send(Unkeyed("nope", "v"), out.Callback());
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "topic 'nope' not found");
  s = producer.Send(Unkeyed("bad name", "v"), out.Callback());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  s = producer.Send(Unkeyed("t", std::string(2 << 20, 'x')), out.Callback());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(out.calls, 0);
  EXPECT_EQ(cluster.produce_calls(), 0);
}

TEST(ProducerTest, FollowsALeaderMove) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 1);  // led by broker 1
  Producer producer(Options(cluster));
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "a")).ok());
  ASSERT_TRUE(producer.Flush().ok());
  cluster.SetLeader("t", 0, 2);  // the producer's metadata is now stale
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "b"), out.Callback()).ok());
  ASSERT_TRUE(producer.Flush().ok());
  ASSERT_TRUE(out.results[0].ok()) << out.results[0].status();
  EXPECT_EQ(out.results[0]->offset, 1);
  EXPECT_EQ(cluster.Records("t", 0).size(), 2u);
}

TEST(ProducerTest, RetriesRetriableErrors) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  cluster.InjectError(FakeCluster::Rpc::kProduce, "t", 0, v1::ERROR_CODE_NOT_ENOUGH_REPLICAS,
                      "1 of 2 in-sync replicas", 2);
  Producer producer(Options(cluster));
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  ASSERT_TRUE(producer.Flush().ok());
  ASSERT_TRUE(out.results[0].ok());
  EXPECT_EQ(cluster.produce_calls(), 3);
  EXPECT_EQ(cluster.Records("t", 0).size(), 1u);
}

TEST(ProducerTest, RetriesKeepAPartitionsOrder) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = Options(cluster);
  options.batch_bytes = 200;  // several batches
  Producer producer(options);
  cluster.InjectError(FakeCluster::Rpc::kProduce, "t", 0, v1::ERROR_CODE_NOT_LEADER, "", 1);
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(producer.Send(Keyed("t", "k", "value-" + std::to_string(i))).ok());
  }
  ASSERT_TRUE(producer.Flush().ok());
  std::vector<runnel::batch::Record> log = cluster.Records("t", 0);
  ASSERT_EQ(log.size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(log[i].value, "value-" + std::to_string(i));
}

TEST(ProducerTest, FatalErrorsReachCallbacksAndFlush) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  cluster.InjectError(FakeCluster::Rpc::kProduce, "t", 0, v1::ERROR_CODE_BATCH_TOO_LARGE,
                      "batch of 99 bytes exceeds max.message.bytes 10");
  Producer producer(Options(cluster));
  Outcomes out;
  ProducerRecord r0 = Unkeyed("t", "a");
  r0.partition = 0;
  ProducerRecord r1 = Unkeyed("t", "b");
  r1.partition = 1;
  ASSERT_TRUE(producer.Send(r0, out.Callback()).ok());
  ASSERT_TRUE(producer.Send(r1, out.Callback()).ok());
  absl::Status flushed = producer.Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(flushed.message(), "batch of 99 bytes exceeds max.message.bytes 10");
  ASSERT_EQ(out.calls, 2);
  EXPECT_FALSE(out.results[0].ok());
  int failed = 0;
  for (const auto& r : out.results) failed += r.ok() ? 0 : 1;
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(cluster.HighWatermark("t", 1), 1);
  // The failure is reported once; the next Flush starts clean.
  EXPECT_TRUE(producer.Flush().ok());
}

TEST(ProducerTest, GivesUpAfterTheDeliveryTimeout) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = Options(cluster);
  options.delivery_timeout = absl::Milliseconds(200);
  Producer producer(options);
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "warm-up")).ok());
  ASSERT_TRUE(producer.Flush().ok());
  cluster.SetBrokerDown(1, true);
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  absl::Status s = producer.Flush();
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("delivery to t-0 timed out"), absl::string_view::npos) << s;
  ASSERT_EQ(out.calls, 1);
  EXPECT_FALSE(out.results[0].ok());
}

TEST(ProducerTest, AcksNoneReportsNoOffset) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = Options(cluster);
  options.acks = v1::ACKS_NONE;
  Producer producer(options);
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  ASSERT_TRUE(producer.Flush().ok());
  ASSERT_TRUE(out.results[0].ok());
  EXPECT_EQ(out.results[0]->offset, -1);
}

TEST(ProducerTest, CallbacksMaySendAgain) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(Options(cluster));
  bool resent = false;
  ASSERT_TRUE(producer
                  .Send(Keyed("t", "k", "first"),
                        [&](const absl::StatusOr<RecordMetadata>&) {
                          resent = producer.Send(Keyed("t", "k", "second")).ok();
                        })
                  .ok());
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_TRUE(resent);
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(cluster.HighWatermark("t", 0), 2);
}

TEST(ProducerTest, LingerSendsWithoutFlush) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = Options(cluster);
  options.linger = absl::Milliseconds(10);
  Producer producer(options);
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "v")).ok());
  EXPECT_TRUE(Eventually([&] { return cluster.HighWatermark("t", 0) == 1; }));
  EXPECT_TRUE(Eventually([&] { return producer.pending_records() == 0; }));
}

TEST(ProducerTest, SendBlocksWhileTheBufferIsFull) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = Options(cluster);
  options.buffer_memory = 1000;
  options.max_block = absl::Milliseconds(100);
  Producer producer(options);
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "warm-up")).ok());
  ASSERT_TRUE(producer.Flush().ok());
  cluster.SetBrokerDown(1, true);
  Outcomes out;
  absl::Status s;
  int accepted = 0;
  for (; accepted < 100; ++accepted) {
    s = producer.Send(Keyed("t", "k", std::string(100, 'v')), out.Callback());
    if (!s.ok()) break;
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(s.message().find("producer buffer of 1000 bytes still full"), absl::string_view::npos)
      << s;
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 10);  // about 1000 / (100 + framing) records fit
  cluster.SetBrokerDown(1, false);
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(cluster.HighWatermark("t", 0), 1 + accepted);
  // The refused record's callback was never called.
  EXPECT_EQ(out.calls, accepted);
}

TEST(ProducerTest, KeepsEachPartitionsOrderWithManyRequestsInFlight) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 4);
  ProducerOptions options = Options(cluster);
  options.batch_bytes = 300;
  options.max_request_bytes = 1000;  // several requests per broker at once
  options.max_in_flight_requests = 2;
  options.linger = absl::ZeroDuration();
  Producer producer(options);
  cluster.InjectError(FakeCluster::Rpc::kProduce, "t", 1, v1::ERROR_CODE_NOT_LEADER, "", 2);
  cluster.InjectError(FakeCluster::Rpc::kProduce, "t", 2, v1::ERROR_CODE_NOT_ENOUGH_REPLICAS, "",
                      1);
  constexpr int kRecords = 400;
  for (int i = 0; i < kRecords; ++i) {
    ProducerRecord r = Unkeyed("t", "value-" + std::to_string(i));
    r.partition = i % 4;
    ASSERT_TRUE(producer.Send(r).ok());
  }
  ASSERT_TRUE(producer.Flush().ok());
  for (int p = 0; p < 4; ++p) {
    std::vector<runnel::batch::Record> log = cluster.Records("t", p);
    ASSERT_EQ(log.size(), kRecords / 4u) << "partition " << p;
    for (size_t j = 0; j < log.size(); ++j) {
      EXPECT_EQ(log[j].value, "value-" + std::to_string(p + 4 * j)) << "partition " << p;
    }
  }
}

TEST(ProducerTest, SendFromManyThreads) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  ProducerOptions options = Options(cluster);
  options.batch_bytes = 500;
  Producer producer(options);
  Outcomes out;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        ASSERT_TRUE(producer.Send(Unkeyed("t", std::string(50, 'v')), out.Callback()).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(out.calls, 1000);
  EXPECT_EQ(cluster.HighWatermark("t", 0) + cluster.HighWatermark("t", 1), 1000);
}

TEST(ProducerTest, FlushFromACallbackFails) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(Options(cluster));
  absl::Status from_callback;
  ASSERT_TRUE(producer
                  .Send(Keyed("t", "k", "v"),
                        [&](const absl::StatusOr<RecordMetadata>&) {
                          from_callback = producer.Flush();
                        })
                  .ok());
  ASSERT_TRUE(producer.Flush().ok());
  EXPECT_EQ(from_callback.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ProducerTest, SendFutureDeliversTheRecordsMetadata) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(Options(cluster));
  std::future<absl::StatusOr<RecordMetadata>> first = producer.SendFuture(Keyed("t", "k", "a"));
  std::future<absl::StatusOr<RecordMetadata>> second = producer.SendFuture(Keyed("t", "k", "b"));
  absl::StatusOr<RecordMetadata> a = first.get();  // linger sends it without Flush
  absl::StatusOr<RecordMetadata> b = second.get();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->offset, 0);
  EXPECT_EQ(b->offset, 1);
  EXPECT_EQ(b->topic, "t");
}

TEST(ProducerTest, SendFutureCarriesImmediateErrors) {
  FakeCluster cluster(1);
  Producer producer(Options(cluster));
  std::future<absl::StatusOr<RecordMetadata>> f = producer.SendFuture(Keyed("nope", "k", "v"));
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get().status().message(), "topic 'nope' not found");
}

TEST(ProducerTest, CloseDeliversEverythingThenRefusesSends) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(NoLinger(cluster));
  Outcomes out;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  EXPECT_TRUE(producer.Close().ok());
  EXPECT_EQ(out.calls, 10);
  EXPECT_EQ(cluster.HighWatermark("t", 0), 10);
  absl::Status s = producer.Send(Keyed("t", "k", "late"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "the producer is closed");
  EXPECT_TRUE(producer.Close().ok());  // idempotent
  EXPECT_TRUE(producer.Flush().ok());
}

TEST(ProducerTest, CloseWithATimeoutCancelsWhatIsLeft) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Producer producer(Options(cluster));
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "warm-up")).ok());
  ASSERT_TRUE(producer.Flush().ok());
  cluster.SetBrokerDown(1, true);
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "stuck"), out.Callback()).ok());
  const absl::Time start = absl::Now();
  absl::Status s = producer.Close(absl::Milliseconds(100));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  ASSERT_EQ(out.calls, 1);
  EXPECT_EQ(out.results[0].status().code(), absl::StatusCode::kCancelled);
}

TEST(ProducerTest, TheDeliveryTimeoutCountsLingerToo) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  ProducerOptions options = NoLinger(cluster);
  options.delivery_timeout = absl::Milliseconds(50);
  Producer producer(options);
  Outcomes out;
  ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  absl::SleepFor(absl::Milliseconds(100));  // waiting in the open batch
  EXPECT_EQ(producer.Flush().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(cluster.produce_calls(), 0);
}

TEST(ProducerTest, DestructionCancelsUnsentRecords) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 1);
  Outcomes out;
  {
    Producer producer(NoLinger(cluster));
    ASSERT_TRUE(producer.Send(Keyed("t", "k", "v"), out.Callback()).ok());
  }
  ASSERT_EQ(out.calls, 1);
  EXPECT_EQ(out.results[0].status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(cluster.produce_calls(), 0);
}

}  // namespace
}  // namespace runnel::client
