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
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/broker.pb.h"
#include "tests/harness/cluster.h"
#include "tests/replication_helpers.h"

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

void CreateTopic(TestCluster& cluster, const std::string& topic, int min_insync) {
  CreateReplicatedTopic(cluster, kBrokers, topic, kPartitions, min_insync);
}

void CheckReplicasIdentical(TestCluster& cluster, const std::string& topic,
                            const std::vector<int64_t>& hws) {
  runnel::testing::CheckReplicasIdentical(cluster, kBrokers, topic, hws);
}

std::vector<int64_t> CheckAcknowledgedReadable(const std::string& bootstrap,
                                               const std::string& topic,
                                               const RecordsByOffset& acked) {
  return runnel::testing::CheckAcknowledgedReadable(bootstrap, topic, kPartitions, acked);
}

// One single-record Produce to partition 0 of `topic` on broker `i`.
runnel::v1::ProducePartitionResponse RawProduce(TestCluster& cluster, int i,
                                                const std::string& topic, runnel::v1::Acks acks) {
  return runnel::testing::RawProduce(cluster.broker_address(i), topic, 0, acks, 2000);
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
