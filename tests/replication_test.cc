// Replication across three real brokers (docs/replication.md): acks=all
// records survive the loss of their leader, replicas hold identical logs up
// to the high watermark, a chaos run of kill -9s loses nothing acknowledged,
// a coordinator restart loses nothing, acks=all is refused with a clear
// NOT_ENOUGH_REPLICAS once too few replicas are in sync, and a leader that
// lost its coordinator session refuses writes until it is back.
//
// Replicas are compared by reading each broker's data directory after all
// brokers are stopped (no RPC reads a follower's log).
//
// The chaos run lasts RUNNEL_CHAOS_SECONDS (default 20) with a fixed seed;
// run it longer with e.g.
//   bazel test //tests:replication_test --test_env=RUNNEL_CHAOS_SECONDS=300 \
//     --test_filter='*Chaos*' --test_timeout=900
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/replication/stopped_replica.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

constexpr int kBrokers = 3;
constexpr int kPartitions = 2;

TestClusterOptions ClusterOptions() {
  TestClusterOptions o;
  o.brokers = kBrokers;
  o.session_timeout_ms = 2000;
  o.heartbeat_interval_ms = 200;
  o.extra_broker_flags = {"--replica-lag-time-max-ms=4000"};
  return o;
}

runnel::v1::TopicInfo Describe(TestCluster& cluster, const std::string& topic) {
  auto stub = runnel::v1::Admin::NewStub(
      grpc::CreateChannel(cluster.coordinator_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  runnel::v1::DescribeTopicRequest req;
  req.set_name(topic);
  runnel::v1::DescribeTopicResponse resp;
  grpc::Status s = stub->DescribeTopic(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.topic();
}

void CreateTopic(TestCluster& cluster, const std::string& topic, int min_insync) {
  auto stub = runnel::v1::Admin::NewStub(
      grpc::CreateChannel(cluster.coordinator_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  runnel::v1::CreateTopicRequest req;
  req.set_name(topic);
  req.set_partitions(kPartitions);
  req.set_replication_factor(kBrokers);
  (*req.mutable_configs())["min.insync.replicas"] = absl::StrCat(min_insync);
  runnel::v1::CreateTopicResponse resp;
  grpc::Status s = stub->CreateTopic(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

// Waits until every partition has a leader and all replicas in its ISR.
bool WaitForFullIsr(TestCluster& cluster, const std::string& topic, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    runnel::v1::TopicInfo t = Describe(cluster, topic);
    bool full = t.partitions_size() == kPartitions;
    for (const auto& p : t.partitions()) full &= p.leader() >= 0 && p.isr_size() == kBrokers;
    if (full) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

// Produces acks=all records on a background thread, remembering each
// acknowledged record's (partition, offset).
class BackgroundProducer {
 public:
  BackgroundProducer(const std::string& bootstrap, std::string topic) : topic_(std::move(topic)) {
    client::ProducerOptions popts;
    popts.client.bootstrap = bootstrap;
    popts.batch_bytes = 2048;
    popts.acks = runnel::v1::ACKS_ALL;
    producer_ = std::make_unique<client::Producer>(popts);
    thread_ = std::thread([this] { Run(); });
  }
  ~BackgroundProducer() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acked() const { return acked_count_.load(); }
  int failed() const { return failed_count_.load(); }
  // Blocks until `n` more records are acknowledged (or 60 s pass).
  bool WaitForMoreAcks(int n) {
    const int target = acked() + n;
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (acked() < target && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
    return acked() >= target;
  }
  // The highest acknowledged offset of `partition`, -1 if none.
  int64_t MaxAckedOffset(int32_t partition) {
    absl::MutexLock lock(&mu_);
    auto it = acked_.lower_bound({partition + 1, -1});
    if (it == acked_.begin()) return -1;
    --it;
    return it->first.first == partition ? it->first.second : -1;
  }
  std::map<std::pair<int32_t, int64_t>, std::string> Acked() {
    absl::MutexLock lock(&mu_);
    return acked_;
  }

 private:
  void Run() {
    int sent = 0;
    while (!stop_) {
      std::string value = absl::StrCat("value-", sent);
      client::ProducerRecord rec;
      rec.topic = topic_;
      rec.key = absl::StrCat("k", sent % 64);
      rec.value = value;
      absl::Status s = producer_->Send(std::move(rec), [this, value](const auto& md) {
        if (!md.ok()) {
          failed_count_++;
          return;
        }
        absl::MutexLock lock(&mu_);
        auto [it, inserted] = acked_.emplace(std::make_pair(md->partition, md->offset), value);
        if (!inserted && it->second != value) {
          ADD_FAILURE() << "offset " << md->offset << " of partition " << md->partition
                        << " acknowledged twice: " << it->second << " and " << value;
        }
        acked_count_++;
      });
      if (!s.ok()) {
        failed_count_++;
        absl::SleepFor(absl::Milliseconds(50));
      }
      ++sent;
      // Pace the run: a few thousand records a second is plenty to land
      // kills inside writes, and keeps the check at the end quick.
      if (sent % 100 == 0) absl::SleepFor(absl::Milliseconds(20));
    }
    producer_->Flush().IgnoreError();
  }

  const std::string topic_;
  std::unique_ptr<client::Producer> producer_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  std::map<std::pair<int32_t, int64_t>, std::string> acked_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> acked_count_{0};
  std::atomic<int> failed_count_{0};
  std::thread thread_;
};

// Reads every partition from the beginning through `bootstrap` and checks
// that each acknowledged record is at its acknowledged offset. Returns the
// high watermark of each partition.
std::vector<int64_t> CheckAcknowledgedReadable(
    const std::string& bootstrap, const std::string& topic,
    const std::map<std::pair<int32_t, int64_t>, std::string>& acked) {
  client::ConsumerOptions conf;
  conf.client.bootstrap = bootstrap;
  client::Consumer consumer(conf);
  std::vector<client::PartitionAssignment> assign;
  for (int p = 0; p < kPartitions; ++p) {
    assign.push_back({topic, p, client::StartOffset::Earliest()});
  }
  EXPECT_TRUE(consumer.Assign(assign).ok());
  std::map<std::pair<int32_t, int64_t>, std::string> stored;
  std::vector<int64_t> hws(kPartitions, -1);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto records = consumer.Poll(absl::Milliseconds(500));
    if (!records.ok()) continue;  // a leader may still be moving
    for (const auto& r : *records) stored[{r.partition, r.offset}] = r.value.value_or("<null>");
    if (records->empty()) {
      int64_t total = 0;
      for (int p = 0; p < kPartitions; ++p) {
        auto hw = consumer.HighWatermark(client::TopicPartition{topic, p});
        hws[p] = hw.ok() ? *hw : -1;
        total += hws[p];
      }
      if (static_cast<int64_t>(stored.size()) >= total) break;
    }
  }
  int lost = 0;
  for (const auto& [where, value] : acked) {
    auto it = stored.find(where);
    if (it == stored.end() || it->second != value) {
      if (++lost <= 5) {
        ADD_FAILURE() << "acknowledged " << value << " at partition " << where.first
                      << " offset " << where.second << " but found "
                      << (it == stored.end() ? "nothing" : it->second);
      }
    }
  }
  EXPECT_EQ(lost, 0) << "of " << acked.size() << " acknowledged records";
  return hws;
}

// Prints the brokers' replication events (leadership, ISR changes,
// truncations, warnings): what a reader of a failure needs first.
void PrintReplicationEvents(TestCluster& cluster) {
  const char* kEvents[] = {"leading", "ISR", "diverged", "starting over", "level=warn",
                           "level=error"};
  for (int i = 0; i < kBrokers; ++i) {
    std::cout << "--- broker " << i + 1 << " replication events\n";
    const std::string log = cluster.broker(i).Stderr();
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      for (const char* e : kEvents) {
        if (absl::StrContains(line, e)) {
          std::cout << line << "\n";
          break;
        }
      }
    }
  }
}

// Stops every broker and checks that all replicas of each partition hold the
// same record at every offset below its high watermark.
void CheckReplicasIdentical(TestCluster& cluster, const std::string& topic,
                            const std::vector<int64_t>& hws) {
  const uint64_t topic_id = Describe(cluster, topic).topic_id();
  PrintReplicationEvents(cluster);
  // Followers in the ISR hold at least the HW; give them a moment to fetch
  // the last acknowledgements' successors too (not needed for the check).
  absl::SleepFor(absl::Milliseconds(500));
  for (int i = 0; i < kBrokers; ++i) cluster.KillBroker(i);
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_GE(hws[p], 0);
    std::vector<std::map<int64_t, std::string>> logs;
    for (int i = 0; i < kBrokers; ++i) {
      auto log = replication::ReadStoppedReplica(cluster.broker_data_dir(i), topic_id, p, hws[p]);
      ASSERT_TRUE(log.ok()) << log.status();
      EXPECT_EQ(static_cast<int64_t>(log->size()), hws[p])
          << "broker " << i + 1 << " partition " << p << " lacks offsets below the HW";
      logs.push_back(*std::move(log));
    }
    for (int i = 1; i < kBrokers; ++i) {
      int diffs = 0;
      for (const auto& [offset, value] : logs[0]) {
        auto it = logs[i].find(offset);
        if (it == logs[i].end() || it->second != value) {
          if (++diffs <= 3) {
            ADD_FAILURE() << "partition " << p << " offset " << offset << ": broker 1 has "
                          << value << ", broker " << i + 1 << " has "
                          << (it == logs[i].end() ? "nothing" : it->second);
          }
        }
      }
      EXPECT_EQ(diffs, 0) << "partition " << p << ", broker 1 vs broker " << i + 1;
    }
  }
}

// One single-record Produce to partition 0 of `topic` on broker `i`, through
// a raw stub (the client library would retry the errors tests look for).
runnel::v1::ProducePartitionResponse RawProduce(TestCluster& cluster, int i,
                                                const std::string& topic, runnel::v1::Acks acks) {
  batch::BatchBuilder builder;
  builder.Append(1000, std::string("k"), std::string("v"));
  auto stub = runnel::v1::Broker::NewStub(
      grpc::CreateChannel(cluster.broker_address(i), grpc::InsecureChannelCredentials()));
  runnel::v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(2000);
  auto* p = req.add_partitions();
  p->set_topic(topic);
  p->set_partition(0);
  p->set_records(*builder.Build());
  runnel::v1::ProduceResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = stub->Produce(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.partitions_size() > 0 ? resp.partitions(0) : runnel::v1::ProducePartitionResponse();
}

TEST(ReplicationTest, AcknowledgedRecordsSurviveLeaderKill9) {
  TestCluster cluster(ClusterOptions());
  ASSERT_TRUE(cluster.Start().ok());
  CreateTopic(cluster, "orders", 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "orders", absl::Seconds(20)));

  BackgroundProducer producer(cluster.bootstrap(), "orders");
  ASSERT_TRUE(producer.WaitForMoreAcks(3000));
  const int32_t old_leader = Describe(cluster, "orders").partitions(0).leader();
  ASSERT_GE(old_leader, 1);
  cluster.KillBroker(old_leader - 1);
  const int64_t end_before = producer.MaxAckedOffset(0);
  // A new leader is elected (after the 2 s session timeout) ...
  int32_t new_leader = -1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(20);
       absl::Now() < deadline && (new_leader < 0 || new_leader == old_leader);
       absl::SleepFor(absl::Milliseconds(100))) {
    new_leader = Describe(cluster, "orders").partitions(0).leader();
  }
  ASSERT_GE(new_leader, 1);
  ASSERT_NE(new_leader, old_leader);
  // ... and producing to the partition continues there.
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline && producer.MaxAckedOffset(0) <= end_before + 100;
       absl::SleepFor(absl::Milliseconds(50))) {
  }
  ASSERT_GT(producer.MaxAckedOffset(0), end_before + 100) << "failed=" << producer.failed();
  ASSERT_TRUE(cluster.RestartBroker(old_leader - 1).ok());
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));
  producer.Stop();
  std::cout << "acknowledged " << producer.acked() << ", failed " << producer.failed() << "\n";

  ASSERT_TRUE(WaitForFullIsr(cluster, "orders", absl::Seconds(30)));
  auto hws = CheckAcknowledgedReadable(cluster.bootstrap(), "orders", producer.Acked());
  CheckReplicasIdentical(cluster, "orders", hws);
}

TEST(ReplicationTest, ChaosKill9LosesNothingAcknowledged) {
  int seconds = 20;
  if (const char* env = std::getenv("RUNNEL_CHAOS_SECONDS")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seconds)) << "RUNNEL_CHAOS_SECONDS=" << env;
  }
  TestCluster cluster(ClusterOptions());
  ASSERT_TRUE(cluster.Start().ok());
  CreateTopic(cluster, "chaos", 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "chaos", absl::Seconds(20)));

  BackgroundProducer producer(cluster.bootstrap(), "chaos");
  ASSERT_TRUE(producer.WaitForMoreAcks(1000));
  // Fixed seed by default: the same kill schedule every run.
  uint32_t seed = 20261125;
  if (const char* env = std::getenv("RUNNEL_CHAOS_SEED")) {
    ASSERT_TRUE(absl::SimpleAtoi(env, &seed)) << "RUNNEL_CHAOS_SEED=" << env;
  }
  std::cout << "chaos: seed " << seed << ", " << seconds << " s\n";
  std::mt19937 rng(seed);
  const absl::Time end = absl::Now() + absl::Seconds(seconds);
  int kills = 0;
  while (absl::Now() < end) {
    const int victim = std::uniform_int_distribution<int>(0, kBrokers - 1)(rng);
    cluster.KillBroker(victim);
    ++kills;
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(200, 1500)(rng)));
    ASSERT_TRUE(cluster.RestartBroker(victim).ok());
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(1000, 3000)(rng)));
  }
  // Producing still works once the chaos ends.
  ASSERT_TRUE(WaitForFullIsr(cluster, "chaos", absl::Seconds(30)));
  ASSERT_TRUE(producer.WaitForMoreAcks(1000)) << "failed=" << producer.failed();
  producer.Stop();
  std::cout << kills << " kills; acknowledged " << producer.acked() << ", failed "
            << producer.failed() << "\n";

  ASSERT_TRUE(WaitForFullIsr(cluster, "chaos", absl::Seconds(30)));
  auto hws = CheckAcknowledgedReadable(cluster.bootstrap(), "chaos", producer.Acked());
  CheckReplicasIdentical(cluster, "chaos", hws);
}

TEST(ReplicationTest, CoordinatorRestartMidRunLosesNothing) {
  TestCluster cluster(ClusterOptions());
  ASSERT_TRUE(cluster.Start().ok());
  CreateTopic(cluster, "audit", 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "audit", absl::Seconds(20)));

  BackgroundProducer producer(cluster.bootstrap(), "audit");
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));
  cluster.KillCoordinator();
  // Brokers keep serving while the coordinator is briefly down (less than
  // the 2 s session timeout: a longer outage makes leaders refuse writes).
  absl::SleepFor(absl::Milliseconds(800));
  EXPECT_TRUE(producer.WaitForMoreAcks(500));
  ASSERT_TRUE(cluster.RestartCoordinator().ok());
  ASSERT_TRUE(producer.WaitForMoreAcks(2000)) << "failed=" << producer.failed();
  producer.Stop();

  ASSERT_TRUE(WaitForFullIsr(cluster, "audit", absl::Seconds(30)));
  auto hws = CheckAcknowledgedReadable(cluster.bootstrap(), "audit", producer.Acked());
  CheckReplicasIdentical(cluster, "audit", hws);
}

TEST(ReplicationTest, AcksAllRefusedWithTooFewInSyncReplicas) {
  TestCluster cluster(ClusterOptions());
  ASSERT_TRUE(cluster.Start().ok());
  CreateTopic(cluster, "strict", 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "strict", absl::Seconds(20)));
  cluster.KillBroker(1);
  cluster.KillBroker(2);

  auto produce = [&](runnel::v1::Acks acks) { return RawProduce(cluster, 0, "strict", acks); };
  // Once the coordinator fences the two dead brokers (session timeout), broker
  // 1 leads with itself as the only in-sync replica.
  runnel::v1::ProducePartitionResponse last;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    last = produce(runnel::v1::ACKS_ALL);
    if (last.error_code() == runnel::v1::ERROR_CODE_NOT_ENOUGH_REPLICAS) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_EQ(last.error_code(), runnel::v1::ERROR_CODE_NOT_ENOUGH_REPLICAS) << last.error_message();
  EXPECT_EQ(last.error_message(),
            "partition strict-0 has 1 in-sync replica(s), fewer than min.insync.replicas=2");
  // acks=1 still works: the leader alone has it.
  runnel::v1::ProducePartitionResponse one = produce(runnel::v1::ACKS_LEADER);
  EXPECT_EQ(one.error_code(), runnel::v1::ERROR_CODE_NONE) << one.error_message();
}

TEST(ReplicationTest, LeaderWithoutCoordinatorSessionRefusesWrites) {
  TestCluster cluster(ClusterOptions());
  ASSERT_TRUE(cluster.Start().ok());
  CreateTopic(cluster, "fenced", 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "fenced", absl::Seconds(20)));
  const int leader = Describe(cluster, "fenced").partitions(0).leader() - 1;
  ASSERT_GE(leader, 0);
  // The leader learns of the new topic at its next heartbeat.
  runnel::v1::ErrorCode first = runnel::v1::ERROR_CODE_UNKNOWN;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);
       first != runnel::v1::ERROR_CODE_NONE && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    first = RawProduce(cluster, leader, "fenced", runnel::v1::ACKS_ALL).error_code();
  }
  ASSERT_EQ(first, runnel::v1::ERROR_CODE_NONE);
  // Longer than the session timeout: the coordinator may have fenced the
  // leader, so it must stop taking writes (but it keeps serving reads).
  cluster.KillCoordinator();
  absl::SleepFor(absl::Milliseconds(2500));
  runnel::v1::ProducePartitionResponse r =
      RawProduce(cluster, leader, "fenced", runnel::v1::ACKS_LEADER);
  EXPECT_EQ(r.error_code(), runnel::v1::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(r.error_message(), absl::StrCat("broker ", leader + 1,
                                            " lost its coordinator session"));
  // Back once the coordinator is: the client library's retries ride this out.
  ASSERT_TRUE(cluster.RestartCoordinator().ok());
  bool accepted = false;
  for (absl::Time deadline = absl::Now() + absl::Seconds(20); !accepted && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(200))) {
    const int now_leader = Describe(cluster, "fenced").partitions(0).leader() - 1;
    if (now_leader < 0) continue;
    accepted = RawProduce(cluster, now_leader, "fenced", runnel::v1::ACKS_ALL).error_code() ==
               runnel::v1::ERROR_CODE_NONE;
  }
  EXPECT_TRUE(accepted) << "writes not accepted again after the coordinator returned";
}

}  // namespace
}  // namespace runnel::testing
