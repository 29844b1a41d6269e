#include "broker/replication/partition_state.h"

#include "gtest/gtest.h"

namespace runnel::replication {
namespace {

using Isr = std::vector<int32_t>;

const absl::Time kT0 = absl::FromUnixSeconds(1000);
const absl::Duration kLag = absl::Seconds(10);

// Broker 1 leads replicas {1, 2, 3} with the full ISR, from offset 0.
LeaderState ThreeReplicas(Isr isr = {1, 2, 3}) {
  return LeaderState(1, {1, 2, 3}, std::move(isr), /*leader_epoch=*/5, /*epoch_start=*/0,
                     /*initial_hw=*/0, kT0);
}

TEST(LeaderStateTest, SingleReplicaHighWatermarkIsLogEnd) {
  LeaderState s(1, {1}, {1}, 0, 0, 0, kT0);
  EXPECT_TRUE(s.UpdateHighWatermark(7));
  EXPECT_EQ(s.high_watermark(), 7);
}

TEST(LeaderStateTest, HighWatermarkIsMinLeoOverIsr) {
  LeaderState s = ThreeReplicas();
  EXPECT_FALSE(s.UpdateHighWatermark(10)) << "followers' progress is unknown";
  s.RecordFetch(2, 1, 10, 10, kT0);
  EXPECT_FALSE(s.UpdateHighWatermark(10));
  s.RecordFetch(3, 1, 4, 10, kT0);
  EXPECT_TRUE(s.UpdateHighWatermark(10));
  EXPECT_EQ(s.high_watermark(), 4);
  s.RecordFetch(3, 1, 10, 10, kT0);
  EXPECT_TRUE(s.UpdateHighWatermark(12));
  EXPECT_EQ(s.high_watermark(), 10);
}

TEST(LeaderStateTest, HighWatermarkNeverMovesBack) {
  LeaderState s(1, {1, 2}, {1, 2}, 5, 0, /*initial_hw=*/8, kT0);
  s.RecordFetch(2, 1, 3, 10, kT0);
  EXPECT_FALSE(s.UpdateHighWatermark(10));
  EXPECT_EQ(s.high_watermark(), 8);
}

TEST(LeaderStateTest, FollowerOutsideIsrDoesNotHoldHighWatermark) {
  LeaderState s = ThreeReplicas({1, 2});
  s.RecordFetch(2, 1, 9, 9, kT0);
  EXPECT_TRUE(s.UpdateHighWatermark(9));
  EXPECT_EQ(s.high_watermark(), 9);
}

TEST(LeaderStateTest, ReplicaAddedByAReassignmentJoinsTheIsrOnceCaughtUp) {
  LeaderState s = ThreeReplicas();
  s.RecordFetch(2, 1, 20, 20, kT0);
  s.RecordFetch(3, 1, 20, 20, kT0);
  s.UpdateHighWatermark(20);
  // Broker 4 is added (and 1 will leave): it copies from the start.
  s.SetReplicas({4, 2, 3, 1}, kT0 + absl::Seconds(1));
  s.RecordFetch(4, 1, 0, 25, kT0 + absl::Seconds(1));
  s.RecordFetch(2, 1, 25, 25, kT0 + absl::Seconds(1));
  s.RecordFetch(3, 1, 25, 25, kT0 + absl::Seconds(1));
  EXPECT_TRUE(s.UpdateHighWatermark(25));
  EXPECT_EQ(s.high_watermark(), 25) << "a copying replica does not hold the HW";
  EXPECT_EQ(s.IsrProposal(kT0 + absl::Seconds(2), kLag), std::nullopt);
  s.RecordFetch(4, 1, 25, 25, kT0 + absl::Seconds(3));
  EXPECT_EQ(s.IsrProposal(kT0 + absl::Seconds(3), kLag), (Isr{4, 2, 3, 1}))
      << "caught up: joins, in replica order";
  // Progress of replicas already tracked is kept across the change.
  EXPECT_EQ(s.FollowerLeo(2), 25);
}

TEST(LeaderStateTest, ReplicaRemovedByAReassignmentIsForgotten) {
  LeaderState s = ThreeReplicas();
  s.RecordFetch(3, 1, 7, 10, kT0);
  s.ApplyIsr({1, 2});
  s.SetReplicas({1, 2}, kT0);
  EXPECT_EQ(s.FollowerLeo(3), -1);
  s.RecordFetch(3, 1, 10, 10, kT0);
  EXPECT_EQ(s.FollowerLeo(3), -1) << "fetches of a non-replica are ignored";
  EXPECT_EQ(s.IsrProposal(kT0 + 2 * kLag, kLag), (Isr{1})) << "2 never fetched";
}

TEST(LeaderStateTest, PendingExpansionCountsTheProposedMember) {
  LeaderState s = ThreeReplicas({1, 2});
  s.RecordFetch(2, 1, 9, 9, kT0);
  s.RecordFetch(3, 1, 5, 9, kT0);
  s.SetPending({1, 2, 3});
  s.UpdateHighWatermark(9);
  EXPECT_EQ(s.high_watermark(), 5) << "maximal ISR while the change is in flight";
  s.ApplyIsr({1, 2, 3});
  EXPECT_FALSE(s.pending());
}

TEST(LeaderStateTest, LaggingFollowerIsProposedOutAfterLagTime) {
  LeaderState s = ThreeReplicas();
  s.RecordFetch(2, 1, 10, 10, kT0 + absl::Seconds(9));
  s.RecordFetch(3, 1, 2, 10, kT0 + absl::Seconds(9));
  EXPECT_EQ(s.IsrProposal(kT0 + absl::Seconds(10), kLag), std::nullopt);
  auto p = s.IsrProposal(kT0 + absl::Seconds(11), kLag);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (Isr{1, 2}));
}

TEST(LeaderStateTest, FollowerAtPreviousFetchLeoCountsAsCaughtUp) {
  LeaderState s = ThreeReplicas();
  // Under steady produce the follower is never exactly at the end, but each
  // fetch reaches the leader's end as of its previous fetch.
  for (int i = 1; i <= 30; ++i) {
    absl::Time t = kT0 + absl::Seconds(i);
    s.RecordFetch(2, 1, i * 10, i * 10 + 5, t);
    s.RecordFetch(3, 1, i * 10 + 5, i * 10 + 5, t);
  }
  EXPECT_EQ(s.IsrProposal(kT0 + absl::Seconds(31), kLag), std::nullopt);
}

TEST(LeaderStateTest, CaughtUpFollowerIsProposedIn) {
  LeaderState s(1, {1, 2, 3}, {1, 2}, 5, /*epoch_start=*/6, 0, kT0);
  s.RecordFetch(2, 1, 10, 10, kT0);
  s.UpdateHighWatermark(10);
  s.RecordFetch(3, 1, 9, 10, kT0);
  EXPECT_EQ(s.IsrProposal(kT0, kLag), std::nullopt) << "below the HW";
  s.RecordFetch(3, 1, 10, 10, kT0);
  auto p = s.IsrProposal(kT0, kLag);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (Isr{1, 2, 3}));
  s.SetPending(*p);
  EXPECT_EQ(s.IsrProposal(kT0, kLag), std::nullopt) << "one proposal in flight at a time";
}

TEST(LeaderStateTest, FollowerMustReachStartOfLeaderEpochToJoin) {
  LeaderState s(1, {1, 2}, {1}, 5, /*epoch_start=*/20, /*initial_hw=*/0, kT0);
  s.UpdateHighWatermark(20);
  s.RecordFetch(2, 1, 19, 25, kT0);
  EXPECT_EQ(s.IsrProposal(kT0, kLag), std::nullopt);
  s.RecordFetch(2, 1, 20, 25, kT0);
  EXPECT_TRUE(s.IsrProposal(kT0, kLag).has_value());
}

TEST(LeaderStateTest, StaleBrokerEpochIsIgnoredAndNewEpochForgetsProgress) {
  LeaderState s = ThreeReplicas({1, 2});
  s.RecordFetch(2, 7, 10, 10, kT0);
  EXPECT_EQ(s.FollowerLeo(2), 10);
  s.RecordFetch(2, 6, 50, 50, kT0);  // a zombie of broker 2
  EXPECT_EQ(s.FollowerLeo(2), 10);
  s.ObserveBrokerEpochs({{2, 8}});  // broker 2 restarted
  EXPECT_EQ(s.FollowerLeo(2), -1);
  EXPECT_FALSE(s.UpdateHighWatermark(10));
  EXPECT_EQ(s.high_watermark(), 0);
  s.RecordFetch(2, 8, 3, 10, kT0);
  EXPECT_EQ(s.FollowerLeo(2), 3);
}

TEST(FollowerTruncationTest, TruncatesToTheSmallerEnd) {
  // Leader says epoch 3 ends at 100; the follower's own epoch 3 ends at 120.
  Truncation t = FollowerTruncation(0, 130, std::make_pair(3, int64_t{120}), 100);
  EXPECT_EQ(t.kind, Truncation::kTruncate);
  EXPECT_EQ(t.offset, 100);
  // The follower's largest epoch <= 3 is 2, ending at 90.
  t = FollowerTruncation(0, 130, std::make_pair(2, int64_t{90}), 100);
  EXPECT_EQ(t.offset, 90);
}

TEST(FollowerTruncationTest, NoCommonEpochTruncatesToLogStart) {
  Truncation t = FollowerTruncation(40, 130, std::nullopt, 100);
  EXPECT_EQ(t.kind, Truncation::kTruncate);
  EXPECT_EQ(t.offset, 40);
}

TEST(FollowerTruncationTest, BelowLogStartStartsOver) {
  Truncation t = FollowerTruncation(40, 130, std::make_pair(1, int64_t{60}), 30);
  EXPECT_EQ(t.kind, Truncation::kReset);
  EXPECT_EQ(t.offset, 30);
}

TEST(FollowerTruncationTest, NeverPastOwnLogEnd) {
  Truncation t = FollowerTruncation(0, 50, std::make_pair(3, int64_t{50}), 100);
  EXPECT_EQ(t.kind, Truncation::kTruncate);
  EXPECT_EQ(t.offset, 50);
}

}  // namespace
}  // namespace runnel::replication
