#include "coordinator/election/reassignment.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/election/election.h"
#include "coordinator/election/test_partition.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::election {
namespace {

// "r [..] +[..] -[..] leader L epoch E isr [..] pepoch P throttle T", or
// "unchanged".
std::string State(const std::optional<v1::PartitionInfo>& p) {
  if (!p.has_value()) return "unchanged";
  return absl::StrCat(
      "r [", absl::StrJoin(p->replicas(), ","), "] +[", absl::StrJoin(p->adding_replicas(), ","),
      "] -[", absl::StrJoin(p->removing_replicas(), ","), "] leader ", p->leader(), " epoch ",
      p->leader_epoch(), " isr [", absl::StrJoin(p->isr(), ","), "] pepoch ", p->partition_epoch(),
      " throttle ", p->reassignment_throttle_bytes());
}

TEST(StartReassignmentTest, AddsTargetFirstKeepsTheLeaderAndMarksAddingAndRemoving) {
  const auto started = StartReassignment(Partition({1, 2, 3}, 1, {1, 2, 3}), {4, 2, 3}, 1000);
  EXPECT_EQ(State(started),
            "r [4,2,3,1] +[4] -[1] leader 1 epoch 5 isr [2,3,1] pepoch 11 "
            "throttle 1000");
  EXPECT_TRUE(ReassignmentInProgress(*started));
  EXPECT_EQ(TargetReplicas(*started), (std::vector<int32_t>{4, 2, 3}));
  // The new preferred replica is still copying: leadership stays.
  EXPECT_EQ(State(ElectPreferred(*started, {1, 2, 3, 4})), "unchanged");
}

TEST(StartReassignmentTest, ReorderOnlyChangesThePreferredLeaderAtOnce) {
  const auto reordered = StartReassignment(Partition({1, 2, 3}, 1, {1, 3}), {3, 1, 2}, 1000);
  EXPECT_EQ(State(reordered), "r [3,1,2] +[] -[] leader 1 epoch 5 isr [3,1] pepoch 11 throttle 0");
  EXPECT_FALSE(ReassignmentInProgress(*reordered));
  // The preferred-leader election then moves leadership.
  EXPECT_EQ(ElectPreferred(*reordered, {1, 2, 3})->leader(), 3);
  // The same order is no change at all.
  EXPECT_EQ(State(StartReassignment(Partition({1, 2, 3}, 1, {1, 3}), {1, 2, 3}, 0)), "unchanged");
}

TEST(StartReassignmentTest, ANewTargetReplacesTheReassignmentInProgress) {
  // 1,2 -> 3,2 in progress: 3 copying, 1 to be removed.
  const auto first = StartReassignment(Partition({1, 2}, 1, {1, 2}), {3, 2}, 0);
  ASSERT_EQ(State(first), "r [3,2,1] +[3] -[1] leader 1 epoch 5 isr [2,1] pepoch 11 throttle 0");
  // Now 3,4: 3 keeps copying (not in sync yet), 4 starts; 1 and 2 go.
  EXPECT_EQ(State(StartReassignment(*first, {3, 4}, 50)),
            "r [3,4,2,1] +[3,4] -[2,1] leader 1 epoch 5 isr [2,1] pepoch 12 throttle 50");
  // Back to 1,2: nothing left to copy, 3 is dropped at once.
  EXPECT_EQ(State(StartReassignment(*first, {1, 2}, 0)),
            "r [1,2,3] +[] -[3] leader 1 epoch 5 isr [1,2] pepoch 12 throttle 0");
}

TEST(ValidateTargetTest, NamesTheProblem) {
  const v1::PartitionInfo p = Partition({1, 2}, 1, {1, 2});
  const std::set<int32_t> known = {1, 2, 3, 4};
  const std::set<int32_t> live = {1, 3};
  EXPECT_TRUE(ValidateTarget("t", p, {3, 1}, 2, known, live).ok());
  // Replicas already held may be down (2 is); brokers to add may not (4 is).
  EXPECT_TRUE(ValidateTarget("t", p, {2, 3}, 2, known, live).ok());
  auto err = [&](std::vector<int32_t> target) {
    absl::Status s = ValidateTarget("t", p, target, 2, known, live);
    return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
  };
  EXPECT_EQ(err({3, 3}), "INVALID_ARGUMENT: target replicas of t-0 list broker 3 twice");
  EXPECT_EQ(err({1, 2, 3}),
            "INVALID_ARGUMENT: target replicas of t-0 must be 2 broker(s) (the topic's "
            "replication factor), got 3");
  EXPECT_EQ(err({1, 9}), "INVALID_ARGUMENT: broker 9 is not registered");
  EXPECT_EQ(err({1, 4}),
            "FAILED_PRECONDITION: broker 4 is not live: it cannot become a replica of t-0");
}

TEST(CompleteReassignmentTest, WaitsForEveryAddingReplicaInTheIsr) {
  const auto started = StartReassignment(Partition({1, 2, 3}, 1, {1, 2, 3}), {4, 5, 3}, 0);
  ASSERT_EQ(State(started),
            "r [4,5,3,1,2] +[4,5] -[1,2] leader 1 epoch 5 isr [3,1,2] pepoch 11 throttle 0");
  EXPECT_EQ(State(CompleteReassignment(*started, {1, 2, 3, 4, 5})), "unchanged");
  v1::PartitionInfo one_in = *started;
  one_in.add_isr(4);
  EXPECT_EQ(State(CompleteReassignment(one_in, {1, 2, 3, 4, 5})), "unchanged");
}

TEST(CompleteReassignmentTest, RemovedLeaderHandsOverToTheFirstTargetReplicaInSync) {
  v1::PartitionInfo p = *StartReassignment(Partition({1, 2, 3}, 1, {1, 2, 3}), {4, 2, 3}, 9);
  p.clear_isr();
  for (int32_t b : {4, 2, 3, 1}) p.add_isr(b);  // 4 caught up
  EXPECT_EQ(State(CompleteReassignment(p, {1, 2, 3, 4})),
            "r [4,2,3] +[] -[] leader 4 epoch 6 isr [4,2,3] pepoch 12 throttle 0");
  // 4 in sync but down: the next target replica in sync leads.
  EXPECT_EQ(State(CompleteReassignment(p, {1, 2, 3})),
            "r [4,2,3] +[] -[] leader 2 epoch 6 isr [4,2,3] pepoch 12 throttle 0");
}

TEST(CompleteReassignmentTest, LeaderInTheTargetKeepsLeadingAndItsEpoch) {
  v1::PartitionInfo p = *StartReassignment(Partition({1, 2, 3}, 2, {1, 2, 3}), {4, 2, 3}, 0);
  p.add_isr(4);
  EXPECT_EQ(State(CompleteReassignment(p, {1, 2, 3, 4})),
            "r [4,2,3] +[] -[] leader 2 epoch 5 isr [4,2,3] pepoch 12 throttle 0");
}

TEST(CompleteReassignmentTest, OfflineOrNoLiveSuccessorWaits) {
  v1::PartitionInfo p = *StartReassignment(Partition({1, 2}, 1, {1, 2}), {3, 4}, 0);
  p.add_isr(3);
  p.add_isr(4);
  EXPECT_EQ(State(CompleteReassignment(p, {1, 2})), "unchanged") << "3 and 4 are down";
  p.set_leader(kNoLeader);
  EXPECT_EQ(State(CompleteReassignment(p, {1, 2, 3, 4})), "unchanged") << "offline";
}

TEST(ReconcileDuringReassignmentTest, UncleanElectionPrefersAReplicaThatIsNotCopying) {
  // 1,2 -> 3,2: 3 is copying; the ISR was down to 1, which dies.
  v1::PartitionInfo p = *StartReassignment(Partition({1, 2}, 1, {1}), {3, 2}, 0);
  ASSERT_EQ(State(p), "r [3,2,1] +[3] -[1] leader 1 epoch 5 isr [1] pepoch 11 throttle 0");
  Membership members;
  members.live = {2, 3};
  EXPECT_EQ(State(Reconcile(p, members, /*unclean_allowed=*/true)),
            "r [3,2,1] +[3] -[1] leader 2 epoch 6 isr [2] pepoch 12 throttle 0");
}

TEST(CompleteReassignmentTest, NothingInProgressIsUnchanged) {
  EXPECT_EQ(State(CompleteReassignment(Partition({1, 2}, 1, {1, 2}), {1, 2})), "unchanged");
}

}  // namespace
}  // namespace runnel::coordinator::election
