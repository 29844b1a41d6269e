#include "coordinator/election/election.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/election/test_partition.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::election {
namespace {

// "leader L epoch E isr [..] pepoch P", or "unchanged".
std::string State(const std::optional<v1::PartitionInfo>& p) {
  if (!p.has_value()) return "unchanged";
  return absl::StrCat("leader ", p->leader(), " epoch ", p->leader_epoch(), " isr [",
                      absl::StrJoin(p->isr(), ","), "] pepoch ", p->partition_epoch());
}

Membership Live(std::set<int32_t> live, std::set<int32_t> restarted = {}) {
  return Membership{std::move(live), std::move(restarted)};
}

TEST(ReconcileTest, HealthyPartitionIsUnchanged) {
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2, 3}), Live({1, 2, 3}), false)),
            "unchanged");
  // Brokers that hold no replica of it do not matter.
  EXPECT_EQ(State(Reconcile(Partition({1, 2}, 2, {1, 2}), Live({1, 2, 7}), true)), "unchanged");
}

TEST(ReconcileTest, FencedLeaderIsReplacedByTheNextIsrMemberInReplicaOrder) {
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2, 3}), Live({2, 3}), false)),
            "leader 2 epoch 6 isr [2,3] pepoch 11");
  // Replica order, not ISR or id order, decides: 3 comes before 2 here.
  EXPECT_EQ(State(Reconcile(Partition({1, 3, 2}, 1, {1, 3, 2}), Live({2, 3}), false)),
            "leader 3 epoch 6 isr [3,2] pepoch 11");
  // A live replica outside the ISR is not eligible while an ISR member is.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 3}), Live({2, 3}), false)),
            "leader 3 epoch 6 isr [3] pepoch 11");
}

TEST(ReconcileTest, FencedFollowerLeavesTheIsrWithoutANewLeaderEpoch) {
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2, 3}), Live({1, 2}), false)),
            "leader 1 epoch 5 isr [1,2] pepoch 11");
  // A fenced follower outside the ISR changes nothing.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2}), Live({1, 2}), false)), "unchanged");
}

TEST(ReconcileTest, LastIsrMemberFencedGoesOfflineAndKeepsItsSeat) {
  auto offline = Reconcile(Partition({1, 2}, 1, {1}), Live({2}), false);
  EXPECT_EQ(State(offline), "leader -1 epoch 6 isr [1] pepoch 11");
  // Nothing more happens while only out-of-sync replicas are live.
  EXPECT_EQ(State(Reconcile(*offline, Live({2}), false)), "unchanged");
  EXPECT_EQ(State(Reconcile(*offline, Live({}), false)), "unchanged");
  // Its return brings the partition back, led by it.
  EXPECT_EQ(State(Reconcile(*offline, Live({1, 2}), false)), "leader 1 epoch 7 isr [1] pepoch 12");
}

TEST(ReconcileTest, WhenTheWholeIsrIsFencedAtOnceTheLeaderKeepsTheSeat) {
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 2, {1, 2}), Live({3}), false)),
            "leader -1 epoch 6 isr [2] pepoch 11");
  // A leaderless partition keeps its first ISR member; no new leader term.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, -1, {2, 3}), Live({}), false)),
            "leader -1 epoch 5 isr [2] pepoch 11");
}

TEST(ReconcileTest, UncleanElectionPicksTheFirstLiveReplicaOnlyWhenAllowed) {
  const v1::PartitionInfo p = Partition({1, 2, 3}, 1, {1});
  EXPECT_EQ(State(Reconcile(p, Live({2, 3}), false)), "leader -1 epoch 6 isr [1] pepoch 11");
  EXPECT_EQ(State(Reconcile(p, Live({2, 3}), true)), "leader 2 epoch 6 isr [2] pepoch 11");
  // An offline partition elects uncleanly once allowed (e.g. after a config change).
  auto offline = Reconcile(p, Live({3}), false);
  EXPECT_EQ(State(Reconcile(*offline, Live({3}), true)), "leader 3 epoch 7 isr [3] pepoch 12");
  // A live ISR member is always preferred to an unclean choice.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 3}), Live({2, 3}), true)),
            "leader 3 epoch 6 isr [3] pepoch 11");
  // Nobody live: offline even when allowed.
  EXPECT_EQ(State(Reconcile(p, Live({}), true)), "leader -1 epoch 6 isr [1] pepoch 11");
}

TEST(ReconcileTest, RestartedBrokerLosesLeadershipAndItsIsrSeat) {
  // Broker 1 registered again while live: its previous incarnation is gone.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2, 3}), Live({1, 2, 3}, {1}), false)),
            "leader 2 epoch 6 isr [2,3] pepoch 11");
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 2, {1, 2, 3}), Live({1, 2, 3}, {1}), false)),
            "leader 2 epoch 5 isr [2,3] pepoch 11");
  // As the only ISR member it keeps its seat and leads again, in a new term.
  EXPECT_EQ(State(Reconcile(Partition({1}, 1, {1}), Live({1}, {1}), false)),
            "leader 1 epoch 6 isr [1] pepoch 11");
  // Not a replica: no effect.
  EXPECT_EQ(State(Reconcile(Partition({2, 3}, 2, {2, 3}), Live({1, 2, 3}, {1}), false)),
            "unchanged");
}

TEST(ReconcileTest, IsIdempotent) {
  const std::vector<v1::PartitionInfo> cases = {
      Partition({1, 2, 3}, 1, {1, 2, 3}), Partition({1, 2, 3}, 1, {1}),
      Partition({1, 2, 3}, -1, {3}), Partition({3, 1, 2}, 2, {2, 1})};
  const std::vector<Membership> memberships = {Live({}), Live({2}), Live({1, 3}), Live({1, 2, 3})};
  for (const v1::PartitionInfo& p : cases) {
    for (const Membership& m : memberships) {
      for (bool unclean : {false, true}) {
        std::optional<v1::PartitionInfo> once = Reconcile(p, m, unclean);
        const v1::PartitionInfo& after = once.has_value() ? *once : p;
        EXPECT_EQ(State(Reconcile(after, m, unclean)), "unchanged")
            << p.ShortDebugString() << " unclean " << unclean;
      }
    }
  }
}

TEST(ElectPreferredTest, MovesLeadershipBackOnlyToALiveInSyncPreferredReplica) {
  EXPECT_EQ(State(ElectPreferred(Partition({1, 2, 3}, 2, {1, 2, 3}), {1, 2, 3})),
            "leader 1 epoch 6 isr [1,2,3] pepoch 11");
  EXPECT_EQ(State(ElectPreferred(Partition({1, 2, 3}, 1, {1, 2, 3}), {1, 2, 3})), "unchanged");
  // Not yet back in the ISR (still catching up).
  EXPECT_EQ(State(ElectPreferred(Partition({1, 2, 3}, 2, {2, 3}), {1, 2, 3})), "unchanged");
  // In the ISR as its kept last seat but fenced.
  EXPECT_EQ(State(ElectPreferred(Partition({1, 2}, -1, {1}), {2})), "unchanged");
}

Membership ShuttingDown(std::set<int32_t> live, std::set<int32_t> shutting_down) {
  Membership m;
  m.live = std::move(live);
  m.shutting_down = std::move(shutting_down);
  return m;
}

TEST(ShutdownBrokerTest, LeadershipMovesToTheNextElectableIsrMemberAndTheBrokerLeavesTheIsr) {
  EXPECT_EQ(
      State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 2, 3}), 1, ShuttingDown({1, 2, 3}, {1}))),
      "leader 2 epoch 6 isr [2,3] pepoch 11");
  // Not to a replica outside the ISR, a fenced one, or one shutting down too.
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 3}), 1, ShuttingDown({1, 2, 3}, {1}))),
            "leader 3 epoch 6 isr [3] pepoch 11");
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 2, 3}), 1, ShuttingDown({1, 3}, {1}))),
            "leader 3 epoch 6 isr [2,3] pepoch 11");
  EXPECT_EQ(
      State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 2, 3}), 1, ShuttingDown({1, 2, 3}, {1, 2}))),
      "leader 3 epoch 6 isr [2,3] pepoch 11");
}

TEST(ShutdownBrokerTest, ALeaderWithoutAnElectableIsrMemberKeepsLeading) {
  // Unclean election is never used to let a broker that is still up go.
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2, 3}, 1, {1}), 1, ShuttingDown({1, 2, 3}, {1}))),
            "unchanged");
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2}, 1, {1, 2}), 1, ShuttingDown({1, 2}, {1, 2}))),
            "unchanged");
}

TEST(ShutdownBrokerTest, AFollowerLeavesTheIsrUnlessItIsTheLastMember) {
  EXPECT_EQ(
      State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 2, 3}), 3, ShuttingDown({1, 2, 3}, {3}))),
      "leader 1 epoch 5 isr [1,2] pepoch 11");
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2}, -1, {2}), 2, ShuttingDown({2}, {2}))),
            "unchanged");
  EXPECT_EQ(State(ShutdownBroker(Partition({1, 2, 3}, 1, {1, 2}), 3, ShuttingDown({1, 2, 3}, {3}))),
            "unchanged");
}

TEST(ReconcileTest, NeverElectsABrokerInControlledShutdown) {
  // Broker 1 is fenced; 2 is shutting down: 3 leads.
  EXPECT_EQ(State(Reconcile(Partition({1, 2, 3}, 1, {1, 2, 3}), ShuttingDown({2, 3}, {2}), false)),
            "leader 3 epoch 6 isr [2,3] pepoch 11");
  // Not even uncleanly; but a leader shutting down keeps its leadership.
  EXPECT_EQ(State(Reconcile(Partition({1, 2}, 1, {1}), ShuttingDown({2}, {2}), true)),
            "leader -1 epoch 6 isr [1] pepoch 11");
  EXPECT_EQ(State(Reconcile(Partition({1, 2}, 2, {1, 2}), ShuttingDown({1, 2}, {2}), false)),
            "unchanged");
}

class AlterIsrTest : public ::testing::Test {
 protected:
  // Leader 1 at leader epoch 5 and partition epoch 10, replicas 1,2,3.
  IsrProposal Proposal(std::vector<int32_t> new_isr) {
    IsrProposal proposal;
    proposal.broker_id = 1;
    proposal.leader_epoch = 5;
    proposal.partition_epoch = 10;
    proposal.new_isr = std::move(new_isr);
    return proposal;
  }

  absl::StatusOr<v1::PartitionInfo> Alter(const IsrProposal& proposal) {
    return AlterIsr("orders", current_, proposal, live_);
  }

  // The refusal's message; fails the test if the proposal was accepted or
  // refused with another code than `code`.
  std::string Refusal(const IsrProposal& proposal,
                      absl::StatusCode code = absl::StatusCode::kFailedPrecondition) {
    auto result = Alter(proposal);
    EXPECT_EQ(result.status().code(), code) << result.status();
    return std::string(result.status().message());
  }

  v1::PartitionInfo current_ = Partition({1, 2, 3}, 1, {1, 2});
  std::set<int32_t> live_ = {1, 2, 3};
};

TEST_F(AlterIsrTest, ShrinkAndExpandBumpOnlyThePartitionEpoch) {
  auto shrunk = Alter(Proposal({1}));
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(State(*shrunk), "leader 1 epoch 5 isr [1] pepoch 11");

  // Stored in replica order whatever the proposal's order.
  auto expanded = Alter(Proposal({3, 2, 1}));
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ(State(*expanded), "leader 1 epoch 5 isr [1,2,3] pepoch 11");
}

TEST_F(AlterIsrTest, UnchangedIsrIsAcceptedWithoutAnEpochBump) {
  auto same = Alter(Proposal({2, 1}));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(State(*same), "leader 1 epoch 5 isr [1,2] pepoch 10");
}

TEST_F(AlterIsrTest, RefusesAProposalFromAnotherBroker) {
  IsrProposal p = Proposal({1, 2});
  p.broker_id = 2;
  EXPECT_EQ(Refusal(p), "broker 2 is not the leader of orders-0 (leader is broker 1)");
  current_.set_leader(-1);
  EXPECT_EQ(Refusal(Proposal({1})), "broker 1 is not the leader of orders-0 (it is offline)");
}

TEST_F(AlterIsrTest, RefusesStaleOrFutureEpochs) {
  IsrProposal p = Proposal({1});
  p.leader_epoch = 4;
  EXPECT_EQ(Refusal(p), "leader epoch 4 of orders-0 is not the current leader epoch 5");
  p.leader_epoch = 6;
  EXPECT_EQ(Refusal(p), "leader epoch 6 of orders-0 is not the current leader epoch 5");
  p = Proposal({1});
  p.partition_epoch = 9;
  EXPECT_EQ(Refusal(p), "partition epoch 9 of orders-0 is not the current partition epoch 10");
}

TEST_F(AlterIsrTest, RefusesAnInvalidIsr) {
  EXPECT_EQ(Refusal(Proposal({1, 4})),
            "proposed ISR member 4 is not a replica of orders-0 (replicas 1,2,3)");
  EXPECT_EQ(Refusal(Proposal({2, 3})),
            "proposed ISR [2,3] of orders-0 does not contain the leader 1");
  EXPECT_EQ(Refusal(Proposal({})), "proposed ISR [] of orders-0 does not contain the leader 1");
  EXPECT_EQ(Refusal(Proposal({1, 2, 1}), absl::StatusCode::kInvalidArgument),
            "proposed ISR of orders-0 lists broker 1 twice");
}

TEST_F(AlterIsrTest, RefusesAddingAFencedBrokerButMayKeepOne) {
  live_ = {1};  // 2 and 3 fenced
  EXPECT_EQ(Refusal(Proposal({1, 2, 3})),
            "broker 3 cannot join the ISR of orders-0: it is fenced (not registered with a live "
            "session)");
  // Removing a fenced member, or leaving one in place, is not adding it.
  EXPECT_TRUE(Alter(Proposal({1, 2})).ok());
  EXPECT_TRUE(Alter(Proposal({1})).ok());
}

}  // namespace
}  // namespace runnel::coordinator::election
