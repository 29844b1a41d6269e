// A network partition, not a crash (issue 4): the coordinator and brokers 1
// and 2 run in one network namespace, broker 3 in another, and the test
// (the client) in the root namespace, which reaches both. Broker 3 leads one
// partition of an RF=3, min.insync.replicas=2 topic when the two namespaces
// are cut apart (blackhole routes; see tests/harness/netns.h). Broker 3 is
// still running and still reachable by clients, but it is a minority leader:
//
// - it must not acknowledge any acks=all write appended after the cut
//   (checked with raw Produce RPCs sent straight to it, which the client
//   library would otherwise retry elsewhere, and with the acknowledged
//   records at the end);
// - the coordinator fences it after the session timeout and a leader in the
//   majority takes over; producing continues there;
// - once healed, broker 3 registers again, truncates the suffix it appended
//   alone (KIP-101) and rejoins the ISR; every acknowledged record is at its
//   acknowledged offset, the records broker 3 appended alone are gone, and
//   all replicas are identical below the high watermark.
//
// Needs root (network namespaces); skips otherwise. About 40 s.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/broker.pb.h"
#include "tests/harness/cluster.h"
#include "tests/harness/netns.h"
#include "tests/replication_helpers.h"

namespace runnel::testing {
namespace {

constexpr int kBrokers = 3;
constexpr int kPartitions = 3;
constexpr int kMajorityNs = 0;      // coordinator, brokers 1 and 2
constexpr int kMinorityNs = 1;      // broker 3
constexpr int kMinorityBroker = 2;  // index of broker 3
constexpr char kTopic[] = "split";

TestClusterOptions PartitionedClusterOptions(const NetworkNamespaces& net) {
  const ProcessPlacement majority{net.name(kMajorityNs), net.host(kMajorityNs)};
  const ProcessPlacement minority{net.name(kMinorityNs), net.host(kMinorityNs)};
  TestClusterOptions o;
  o.brokers = kBrokers;
  o.coordinator_placement = majority;
  o.broker_placements = {majority, majority, minority};
  o.session_timeout_ms = 2000;
  o.heartbeat_interval_ms = 200;
  o.extra_broker_flags = {"--replica-lag-time-max-ms=4000"};
  return o;
}

// The partition of kTopic led by broker 3, or -1 if none within `timeout`
// (the preferred-leader pass may still be moving leaders).
int32_t PartitionLedBy(TestCluster& cluster, int32_t broker_id, absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(200))) {
    const runnel::v1::TopicInfo topic = Describe(cluster, kTopic);
    for (const auto& p : topic.partitions()) {
      if (p.leader() == broker_id) return p.partition();
    }
  }
  return -1;
}

TEST(NetworkPartitionTest, MinorityLeaderAcknowledgesNothingAndRejoins) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
  auto net = NetworkNamespaces::Create(2);
  if (!net.ok()) GTEST_SKIP() << "cannot create network namespaces: " << net.status();
  // Declared after `net`, so its processes die before the namespaces go.
  TestCluster cluster(PartitionedClusterOptions(**net));
  ASSERT_TRUE(cluster.Start().ok());
  CreateReplicatedTopic(cluster, kBrokers, kTopic, kPartitions,
                        /*min_insync=*/2);
  ASSERT_TRUE(WaitForFullIsr(cluster, kTopic, absl::Seconds(20)));
  const int32_t p = PartitionLedBy(cluster, kMinorityBroker + 1, absl::Seconds(15));
  ASSERT_GE(p, 0) << "no partition of " << kTopic << " is led by broker 3";
  const int32_t epoch_before = Describe(cluster, kTopic).partitions(p).leader_epoch();

  BackgroundProducer producer(cluster.bootstrap(), kTopic);
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));
  ASSERT_GE(producer.MaxAckedOffset(p), 0);

  std::cout << absl::FormatTime(absl::Now()) << " cutting broker 3 off\n";
  ASSERT_TRUE((*net)->Cut(kMajorityNs, kMinorityNs).ok());
  const int64_t end_before_cut = producer.MaxAckedOffset(p);
  // Straight to broker 3, acks=all: the first attempts land while it still
  // believes it leads (it appends, then waits for followers that cannot
  // fetch); later ones after it lost its session. None may be acknowledged.
  std::vector<std::string> minority_values;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const std::string value = absl::StrCat("minority-", attempt);
    minority_values.push_back(value);
    runnel::v1::ProducePartitionResponse r = RawProduce(
        cluster.broker_address(kMinorityBroker), kTopic, p, runnel::v1::ACKS_ALL, 3000, value);
    std::cout << "acks=all to cut-off broker 3: " << runnel::v1::ErrorCode_Name(r.error_code())
              << " " << r.error_message() << "\n";
    EXPECT_NE(r.error_code(), runnel::v1::ERROR_CODE_NONE)
        << "broker 3, cut off from the majority, acknowledged " << value << " at offset "
        << r.base_offset();
  }

  // The coordinator fences broker 3 and elects a leader in the majority ...
  int32_t new_leader = -1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(20);
       absl::Now() < deadline && (new_leader < 1 || new_leader == kMinorityBroker + 1);
       absl::SleepFor(absl::Milliseconds(100))) {
    new_leader = Describe(cluster, kTopic).partitions(p).leader();
  }
  ASSERT_TRUE(new_leader == 1 || new_leader == 2) << "leader " << new_leader;
  EXPECT_GT(Describe(cluster, kTopic).partitions(p).leader_epoch(), epoch_before);
  // ... where acks=all writes succeed again, from the producer too.
  // The coordinator's view leads the brokers' by up to a heartbeat: the new
  // leader may still answer NOT_LEADER from its old metadata for a moment,
  // which a client meets by retrying (as the producer library does).
  runnel::v1::ProducePartitionResponse majority_write;
  for (absl::Time deadline = absl::Now() + absl::Seconds(10);;
       absl::SleepFor(absl::Milliseconds(50))) {
    majority_write = RawProduce(cluster.broker_address(new_leader - 1), kTopic, p,
                                runnel::v1::ACKS_ALL, 3000, "majority");
    if (majority_write.error_code() != runnel::v1::ERROR_CODE_NOT_LEADER ||
        absl::Now() > deadline) {
      break;
    }
  }
  ASSERT_EQ(majority_write.error_code(), runnel::v1::ERROR_CODE_NONE)
      << majority_write.error_message() << "\n"
      << (*net)->DebugString();
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       absl::Now() < deadline && producer.MaxAckedOffset(p) <= end_before_cut + 100;
       absl::SleepFor(absl::Milliseconds(50))) {
  }
  ASSERT_GT(producer.MaxAckedOffset(p), end_before_cut + 100) << "failed=" << producer.failed();

  // Heal: broker 3 registers again, truncates and catches up.
  ASSERT_TRUE((*net)->Heal(kMajorityNs, kMinorityNs).ok());
  ASSERT_TRUE(WaitForFullIsr(cluster, kTopic, absl::Seconds(30)));
  ASSERT_TRUE(producer.WaitForMoreAcks(1000)) << "failed=" << producer.failed();
  producer.Stop();
  std::cout << "acknowledged " << producer.acked() << ", failed " << producer.failed() << "\n";
  EXPECT_TRUE(absl::StrContains(cluster.broker(kMinorityBroker).Stderr(),
                                "follower log diverged from leader; truncating"))
      << "broker 3 did not truncate the suffix it appended alone";

  RecordsByOffset stored;
  std::vector<int64_t> hws = CheckAcknowledgedReadable(cluster.bootstrap(), kTopic, kPartitions,
                                                       producer.Acked(), &stored);
  for (const auto& [where, value] : stored) {
    for (const std::string& lost : minority_values) {
      EXPECT_NE(value, lost) << "a write only broker 3 took survived at partition " << where.first
                             << " offset " << where.second;
    }
  }
  CheckReplicasIdentical(cluster, kBrokers, kTopic, hws);
}

}  // namespace
}  // namespace runnel::testing
