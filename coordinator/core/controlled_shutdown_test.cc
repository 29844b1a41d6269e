// Controlled shutdown through the Coordinator (election::ShutdownBroker
// applied to every partition, in one commit) and the cluster statistics that
// metrics export (Coordinator::Stats), including heartbeat-reported high
// watermarks.
#include <map>
#include <set>
#include <string>

#include "coordinator/core/coordinator.h"
#include "coordinator/core/coordinator_fixture.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {
namespace {

class ControlledShutdownTest : public CoordinatorFixture {
 protected:
  absl::StatusOr<v1::ControlledShutdownResponse> Shutdown(int32_t id) {
    v1::ControlledShutdownRequest request;
    request.set_broker_id(id);
    request.set_broker_epoch(epochs_.count(id) > 0 ? epochs_[id] : 1);
    return coordinator_->ControlledShutdown(request);
  }
};

TEST_F(ControlledShutdownTest, MovesLeadershipAndIsrSeatsAwayInOneCommit) {
  for (int id = 1; id <= 3; ++id) Register(id);
  ASSERT_TRUE(Create("t", 3, 3).ok());
  // Broker 1 leads partition 0 (preferred) and follows the others.
  ASSERT_EQ(Partition("t", 0).leader(), 1);
  const int64_t version = coordinator_->metadata_version();
  auto response = Shutdown(1);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->partitions_still_led(), 0);
  EXPECT_EQ(coordinator_->metadata_version(), version + 1);
  EXPECT_EQ(State("t", 0), "leader 2 epoch 1 isr [2,3] pepoch 1");
  for (int32_t p = 1; p < 3; ++p) {
    const v1::PartitionInfo info = Partition("t", p);
    EXPECT_NE(info.leader(), 1);
    for (int32_t b : info.isr()) EXPECT_NE(b, 1) << "partition " << p;
  }
  // Repeating it changes nothing.
  ASSERT_TRUE(Shutdown(1).ok());
  EXPECT_EQ(coordinator_->metadata_version(), version + 1);
  // Still registered and heartbeating, but never elected again: not by the
  // leader balance, nor after the others fail, nor back into an ISR.
  Advance(kBalanceInterval + absl::Seconds(1));
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(BrokerState(1), v1::BROKER_STATE_ALIVE);
  EXPECT_EQ(Partition("t", 0).leader(), 2);
  auto refused = AlterIsr(2, "t", 0, {1, 2, 3});
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  // A new topic is not placed on it.
  auto created = Create("u", 1, 3);
  EXPECT_TRUE(absl::IsFailedPrecondition(created.status())) << created.status();
  // Registering again (a restart) makes it eligible.
  Register(1);
  ASSERT_TRUE(AlterIsr(2, "t", 0, {1, 2, 3}).ok());
  Advance(kBalanceInterval + absl::Seconds(1));
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Partition("t", 0).leader(), 1);
}

TEST_F(ControlledShutdownTest, KeepsLeadingWithoutAnotherInSyncReplica) {
  for (int id = 1; id <= 2; ++id) Register(id);
  ASSERT_TRUE(Create("t", 1, 2).ok());
  ASSERT_TRUE(AlterIsr(1, "t", 0, {1}).ok());  // broker 2 fell behind
  auto response = Shutdown(1);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->partitions_still_led(), 1);
  EXPECT_EQ(response->partitions_without_successor(), 0);  // 2 may catch up
  EXPECT_EQ(State("t", 0), "leader 1 epoch 0 isr [1] pepoch 1");
  // Broker 2 catches up (the shutting-down leader adds it), and the next
  // call moves the leadership.
  ASSERT_TRUE(AlterIsr(1, "t", 0, {1, 2}).ok());
  response = Shutdown(1);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->partitions_still_led(), 0);
  EXPECT_EQ(State("t", 0), "leader 2 epoch 1 isr [2] pepoch 3");
}

TEST_F(ControlledShutdownTest, SaysWhenNoReplicaCanEverTakeOver) {
  for (int id = 1; id <= 2; ++id) Register(id);
  ASSERT_TRUE(Create("single", 1, 1).ok());  // on broker 1 or 2
  ASSERT_TRUE(Create("pair", 1, 2).ok());
  const int32_t single = Partition("single").leader();
  const int32_t other = 3 - single;
  ASSERT_TRUE(Shutdown(other).ok());  // both stopping at once
  auto response = Shutdown(single);
  ASSERT_TRUE(response.ok()) << response.status();
  // "single" has no other replica; "pair" (if led here) only one stopping.
  EXPECT_EQ(response->partitions_still_led(), response->partitions_without_successor());
  EXPECT_GE(response->partitions_still_led(), 1);
}

TEST_F(ControlledShutdownTest, RefusesAStaleEpoch) {
  Register(1);
  v1::ControlledShutdownRequest request;
  request.set_broker_id(1);
  request.set_broker_epoch(epochs_[1] + 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(coordinator_->ControlledShutdown(request).status()));
  request.set_broker_id(9);
  EXPECT_TRUE(absl::IsFailedPrecondition(coordinator_->ControlledShutdown(request).status()));
}

TEST_F(ControlledShutdownTest, StatsCountBrokersPartitionsAndLeaderHighWatermarks) {
  for (int id = 1; id <= 3; ++id) Register(id);
  ASSERT_TRUE(Create("t", 2, 2).ok());
  const v1::TopicInfo t = Describe("t")->topic();
  const int32_t leader0 = t.partitions(0).leader();
  v1::BrokerHeartbeatRequest beat;
  beat.set_broker_id(leader0);
  beat.set_broker_epoch(epochs_[leader0]);
  v1::PartitionHighWatermark* hw = beat.add_high_watermarks();
  hw->set_topic_id(t.topic_id());
  hw->set_partition(0);
  hw->set_high_watermark(42);
  // A report by a broker that does not lead the partition is ignored.
  hw = beat.add_high_watermarks();
  hw->set_topic_id(t.topic_id());
  hw->set_partition(1);
  hw->set_high_watermark(7);
  if (t.partitions(1).leader() == leader0) beat.mutable_high_watermarks()->RemoveLast();
  ASSERT_TRUE(coordinator_->BrokerHeartbeat(beat).ok());

  ClusterStats stats = coordinator_->Stats();
  EXPECT_EQ(stats.brokers_alive, 3);
  EXPECT_EQ(stats.brokers_fenced, 0);
  EXPECT_EQ(stats.topics, 1);
  EXPECT_EQ(stats.partitions, 2);
  EXPECT_EQ(stats.offline_partitions, 0);
  EXPECT_EQ(stats.under_replicated_partitions, 0);
  EXPECT_EQ(stats.metadata_version, coordinator_->metadata_version());
  const std::map<std::pair<uint64_t, int32_t>, int64_t> expected = {{{t.topic_id(), 0}, 42}};
  EXPECT_EQ(stats.high_watermarks, expected);

  // Fencing a replica of both partitions: under-replicated; fencing both
  // replicas of one: offline.
  const std::set<int32_t> replicas0(t.partitions(0).replicas().begin(),
                                    t.partitions(0).replicas().end());
  Fence(replicas0);
  stats = coordinator_->Stats();
  EXPECT_EQ(stats.brokers_alive, 1);
  EXPECT_EQ(stats.brokers_fenced, 2);
  EXPECT_EQ(stats.offline_partitions, 1);
  EXPECT_EQ(stats.under_replicated_partitions, 1);
  EXPECT_TRUE(stats.high_watermarks.empty());  // its leader is gone
  Register(*replicas0.begin());
  ASSERT_TRUE(Shutdown(*replicas0.begin()).ok());
  EXPECT_EQ(coordinator_->Stats().brokers_shutting_down, 1);
}

}  // namespace
}  // namespace runnel::coordinator
