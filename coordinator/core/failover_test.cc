// Leader election, ISR changes and AlterPartition through the Coordinator:
// the election rules (unit-tested in //coordinator/election) applied on
// fencing, registration, Tick and AlterPartition, atomically and durably.
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_join.h"
#include "coordinator/core/coordinator.h"
#include "coordinator/core/coordinator_fixture.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {
namespace {

class FailoverTest : public CoordinatorFixture {
 protected:
  // Brokers 1..brokers registered and topic "t" with one partition on
  // replicas 1..rf, broker 1 preferred.
  void Cluster(int brokers, int rf, const std::map<std::string, std::string>& configs = {}) {
    for (int id = 1; id <= brokers; ++id) Register(id);
    auto created = Create("t", 1, rf, configs);
    ASSERT_TRUE(created.ok()) << created.status();
    std::vector<int32_t> expected;
    for (int id = 1; id <= rf; ++id) expected.push_back(id);
    const auto& replicas = created->topic().partitions(0).replicas();
    ASSERT_EQ(std::vector<int32_t>(replicas.begin(), replicas.end()), expected);
  }

  int64_t Version() { return coordinator_->metadata_version(); }

  // The refusal's message; fails the test unless the request was refused
  // with `code`.
  std::string Refusal(const v1::AlterPartitionRequest& request,
                      absl::StatusCode code = absl::StatusCode::kFailedPrecondition) {
    auto result = coordinator_->AlterPartition(request);
    EXPECT_EQ(result.status().code(), code) << result.status();
    return std::string(result.status().message());
  }
};

TEST_F(FailoverTest, FencedLeaderIsReplacedByTheNextIsrMemberInTheFencingCommit) {
  Cluster(3, 3);
  const int64_t version = Version();
  Fence({1});
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2,3] pepoch 1");
  EXPECT_EQ(Version(), version + 1);  // fence and election: one change
  v1::DescribeClusterResponse cluster = coordinator_->DescribeCluster();
  EXPECT_EQ(cluster.brokers(0).partitions_led(), 0);
  EXPECT_EQ(cluster.brokers(1).partitions_led(), 1);
}

TEST_F(FailoverTest, FencedFollowerLeavesTheIsr) {
  Cluster(3, 3);
  Fence({3});
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1,2] pepoch 1");
  // Coming back does not make it in sync: the leader adds it when it is.
  Register(3);
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1,2] pepoch 1");
}

TEST_F(FailoverTest, LastIsrMemberFencedTakesThePartitionOfflineUntilItReturns) {
  Cluster(2, 2);
  Fence({2});
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1] pepoch 1");
  Register(2);  // alive again, but out of sync
  Fence({1});
  EXPECT_EQ(State("t"), "leader -1 epoch 1 isr [1] pepoch 2");
  // No unclean election: the live out-of-sync replica 2 never leads.
  Advance(kSession + kBalanceInterval);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(State("t"), "leader -1 epoch 1 isr [1] pepoch 2");

  const int64_t version = Version();
  Register(1);
  EXPECT_EQ(State("t"), "leader 1 epoch 2 isr [1] pepoch 3");
  EXPECT_EQ(Version(), version + 1);  // registration and election: one change
}

TEST_F(FailoverTest, WholeIsrExpiringAtOnceKeepsTheLeaderInTheIsr) {
  Cluster(3, 3);
  now_ += kSession + absl::Seconds(1);  // nobody heartbeats
  auto late = Heartbeat(2, epochs_[2]);
  EXPECT_TRUE(absl::IsFailedPrecondition(late.status())) << late.status();
  EXPECT_EQ(State("t"), "leader -1 epoch 1 isr [1] pepoch 1");
  Register(3);
  Register(2);
  EXPECT_EQ(State("t"), "leader -1 epoch 1 isr [1] pepoch 1");
  Register(1);
  EXPECT_EQ(State("t"), "leader 1 epoch 2 isr [1] pepoch 2");
}

TEST_F(FailoverTest, UncleanElectionWhenTheTopicAllowsIt) {
  Cluster(2, 2, {{"unclean.leader.election.enable", "true"}});
  Fence({2});
  Register(2);
  Fence({1});
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2] pepoch 2");
}

TEST_F(FailoverTest, EnablingUncleanElectionBringsAnOfflinePartitionBackAtTheNextTick) {
  Cluster(2, 2);
  Fence({2});
  Register(2);
  Fence({1});
  EXPECT_EQ(State("t"), "leader -1 epoch 1 isr [1] pepoch 2");
  ASSERT_TRUE(Alter("t", {{"unclean.leader.election.enable", "true"}}).ok());
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(State("t"), "leader 2 epoch 2 isr [2] pepoch 3");
}

TEST_F(FailoverTest, RestartedLeaderRejoinsAsFollowerAndLeadsAgainOnceInSync) {
  Cluster(3, 3);
  const int64_t version = Version();
  Register(1);  // broker 1 restarted within its session
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2,3] pepoch 1");
  EXPECT_EQ(Version(), version + 1);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2,3] pepoch 1");  // 1 is not in sync yet

  // Leader 2 adds 1 back once it caught up; the next Tick returns leadership.
  auto expanded = AlterIsr(2, "t", 0, {1, 2, 3});
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [1,2,3] pepoch 2");
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(State("t"), "leader 1 epoch 2 isr [1,2,3] pepoch 3");
  EXPECT_EQ(Version(), version + 3);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Version(), version + 3);
}

TEST_F(FailoverTest, RestartedSoleReplicaLeadsAgainInANewLeaderEpoch) {
  Cluster(1, 1);
  Register(1);
  EXPECT_EQ(State("t"), "leader 1 epoch 1 isr [1] pepoch 1");
}

TEST_F(FailoverTest, PreferredLeaderReturnsAtThePeriodicBalance) {
  Cluster(3, 3);
  Register(1);
  ASSERT_TRUE(AlterIsr(2, "t", 0, {1, 2, 3}).ok());
  // The coordinator restarts before the Tick that would have moved leadership.
  Reopen();
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Partition("t").leader(), 2);
  // The first balance waits for the restart grace period to end.
  Advance(kSession + kBalanceInterval - absl::Seconds(1));
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Partition("t").leader(), 2);
  Advance(absl::Seconds(1));
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(State("t"), "leader 1 epoch 2 isr [1,2,3] pepoch 3");
}

TEST_F(FailoverTest, LeadersSpreadAgainAfterABrokerReturns) {
  for (int id = 1; id <= 3; ++id) Register(id);
  ASSERT_TRUE(Create("spread", 6, 2).ok());
  auto led = [this] {
    std::map<int32_t, int> count;
    const v1::DescribeClusterResponse cluster = coordinator_->DescribeCluster();
    for (const v1::BrokerSummary& b : cluster.brokers()) {
      count[b.broker().id()] = b.partitions_led();
    }
    return count;
  };
  const std::map<int32_t, int> balanced = {{1, 2}, {2, 2}, {3, 2}};
  ASSERT_EQ(led(), balanced);
  Fence({3});
  std::map<int32_t, int> failed_over = led();
  EXPECT_EQ(failed_over[3], 0);
  EXPECT_EQ(failed_over[1] + failed_over[2], 6);
  Register(3);
  // The leaders of 3's partitions add it back to their ISRs once it caught up.
  for (int p = 0; p < 6; ++p) {
    const v1::PartitionInfo partition = Partition("spread", p);
    std::vector<int32_t> all(partition.replicas().begin(), partition.replicas().end());
    ASSERT_TRUE(AlterIsr(partition.leader(), "spread", p, all).ok()) << p;
  }
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(led(), balanced);
}

TEST_F(FailoverTest, AlterPartitionShrinksAndExpandsTheIsr) {
  Cluster(3, 3);
  const int64_t version = Version();
  auto shrunk = AlterIsr(1, "t", 0, {1, 2});
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1,2] pepoch 1");
  EXPECT_EQ(shrunk->partition().SerializeAsString(), Partition("t").SerializeAsString());
  EXPECT_EQ(Version(), version + 1);

  auto expanded = AlterIsr(1, "t", 0, {3, 1, 2});
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1,2,3] pepoch 2");
  EXPECT_EQ(Version(), version + 2);

  auto same = AlterIsr(1, "t", 0, {1, 2, 3});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->partition().partition_epoch(), 2);
  EXPECT_EQ(Version(), version + 2);
}

TEST_F(FailoverTest, AlterPartitionRefusesEveryInvalidOrStaleProposalAndChangesNothing) {
  Cluster(3, 3);
  ASSERT_TRUE(AlterIsr(1, "t", 0, {1, 2}).ok());
  Fence({3});
  const std::string before = State("t");
  ASSERT_EQ(before, "leader 1 epoch 0 isr [1,2] pepoch 1");
  const int64_t version = Version();

  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1},
                                 [](v1::AlterPartitionRequest* r) { r->set_broker_epoch(2); })),
            "broker 1 epoch 2 is not the current epoch 1: register again");
  EXPECT_EQ(Refusal(AlterRequest(7, "t", 0, {1})), "broker 7 is not registered: register first");
  EXPECT_EQ(Refusal(AlterRequest(3, "t", 0, {1})),
            "broker 3 is fenced (session expired): register again");
  EXPECT_EQ(Refusal(AlterRequest(2, "t", 0, {1, 2})),
            "broker 2 is not the leader of t-0 (leader is broker 1)");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1},
                                 [](v1::AlterPartitionRequest* r) { r->set_leader_epoch(1); })),
            "leader epoch 1 of t-0 is not the current leader epoch 0");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1},
                                 [](v1::AlterPartitionRequest* r) { r->set_partition_epoch(0); })),
            "partition epoch 0 of t-0 is not the current partition epoch 1");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1, 2, 4})),
            "proposed ISR member 4 is not a replica of t-0 (replicas 1,2,3)");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {2})),
            "proposed ISR [2] of t-0 does not contain the leader 1");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1, 2, 3})),
            "broker 3 cannot join the ISR of t-0: it is fenced (not registered with a live "
            "session)");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1, 1}), absl::StatusCode::kInvalidArgument),
            "proposed ISR of t-0 lists broker 1 twice");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1},
                                 [](v1::AlterPartitionRequest* r) { r->set_topic_id(99); }),
                    absl::StatusCode::kNotFound),
            "topic id 99 not found");
  EXPECT_EQ(Refusal(AlterRequest(1, "t", 0, {1},
                                 [](v1::AlterPartitionRequest* r) { r->set_partition(5); }),
                    absl::StatusCode::kNotFound),
            "partition 5 out of range for topic 't' (1 partitions)");

  EXPECT_EQ(State("t"), before);
  EXPECT_EQ(Version(), version);
}

TEST_F(FailoverTest, AStaleLeadersProposalIsRefused) {
  Cluster(3, 3);
  // Prepared by leader 1 just before it loses its session.
  v1::AlterPartitionRequest stale = AlterRequest(1, "t", 0, {1});
  Fence({1});
  Register(1);  // back, with a new broker epoch, as a follower
  stale.set_broker_epoch(epochs_[1]);
  EXPECT_EQ(Refusal(stale), "broker 1 is not the leader of t-0 (leader is broker 2)");
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2,3] pepoch 1");
}

TEST_F(FailoverTest, AProposalFromAnEarlierLeaderEpochOfTheSameBrokerIsRefused) {
  Cluster(1, 1);
  v1::AlterPartitionRequest stale = AlterRequest(1, "t", 0, {1});
  Register(1);  // restarted: leads again, at leader epoch 1
  stale.set_broker_epoch(epochs_[1]);
  EXPECT_EQ(Refusal(stale), "leader epoch 0 of t-0 is not the current leader epoch 1");
}

TEST_F(FailoverTest, ReplicationStateSurvivesACoordinatorRestart) {
  Cluster(3, 3);
  Fence({1});
  ASSERT_TRUE(AlterIsr(2, "t", 0, {2}).ok());
  const std::string topic = Describe("t")->topic().SerializeAsString();
  const int64_t version = Version();

  Reopen();
  EXPECT_EQ(Describe("t")->topic().SerializeAsString(), topic);
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(BrokerState(1), v1::BROKER_STATE_FENCED);
  // Restart is no reason to change anything: brokers get a grace period.
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Version(), version);
  // Leadership and epochs carry on from the stored state.
  Fence({2});
  EXPECT_EQ(State("t"), "leader -1 epoch 2 isr [2] pepoch 3");
  Register(2);
  EXPECT_EQ(State("t"), "leader 2 epoch 3 isr [2] pepoch 4");
}

TEST_F(FailoverTest, AFailedCommitChangesNeitherMembershipNorPartitions) {
  Cluster(3, 3);
  Advance(kSession - absl::Seconds(1), {1});
  store_.set_fail_writes(true);
  now_ += absl::Seconds(2);  // broker 1's session has expired
  EXPECT_TRUE(absl::IsUnavailable(coordinator_->ExpireSessions().status()));
  EXPECT_TRUE(absl::IsUnavailable(coordinator_->Tick()));
  EXPECT_TRUE(absl::IsUnavailable(AlterIsr(1, "t", 0, {1, 2}).status()));
  v1::RegisterBrokerRequest restart;
  restart.set_broker_id(2);
  restart.set_address("127.0.0.1:9092");
  EXPECT_TRUE(absl::IsUnavailable(coordinator_->RegisterBroker(restart).status()));
  EXPECT_EQ(State("t"), "leader 1 epoch 0 isr [1,2,3] pepoch 0");
  EXPECT_EQ(BrokerState(1), v1::BROKER_STATE_ALIVE);

  store_.set_fail_writes(false);
  EXPECT_EQ(*coordinator_->ExpireSessions(), std::vector<int32_t>{1});
  EXPECT_EQ(State("t"), "leader 2 epoch 1 isr [2,3] pepoch 1");
}

}  // namespace
}  // namespace runnel::coordinator
