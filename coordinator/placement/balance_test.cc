#include "coordinator/placement/balance.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::placement {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<BalanceBroker> Brokers(int n) {
  std::vector<BalanceBroker> b;
  for (int i = 1; i <= n; ++i) b.push_back({i, "", true, false});
  return b;
}

// Applies `moves` to `partitions` and returns replica and leader counts.
struct Loads {
  std::map<int32_t, int> replicas, leaders;
};
Loads Apply(std::vector<BalancePartition>* partitions, const std::vector<ReplicaMove>& moves) {
  for (const ReplicaMove& m : moves) {
    for (BalancePartition& p : *partitions) {
      if (p.topic == m.topic && p.partition == m.partition) {
        EXPECT_EQ(p.replicas, m.from);
        p.replicas = m.to;
      }
    }
  }
  Loads l;
  for (const BalancePartition& p : *partitions) {
    for (int32_t b : p.replicas) ++l.replicas[b];
    ++l.leaders[p.replicas[0]];
  }
  return l;
}

int Spread(const std::map<int32_t, int>& load, const std::vector<int32_t>& brokers) {
  int lo = 1 << 30, hi = 0;
  for (int32_t b : brokers) {
    const int n = load.count(b) ? load.at(b) : 0;
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  return hi - lo;
}

// Three brokers hold 6 partitions of RF 3, a fourth joins empty.
std::vector<BalancePartition> SixPartitionsOnThree() {
  std::vector<BalancePartition> p;
  for (int i = 0; i < 6; ++i) {
    p.push_back({"t", i, {1 + i % 3, 1 + (i + 1) % 3, 1 + (i + 2) % 3}});
  }
  return p;
}

TEST(PlanBalanceTest, BalancedClusterNeedsNoMoves) {
  auto moves = PlanBalance(Brokers(3), SixPartitionsOnThree());
  ASSERT_TRUE(moves.ok());
  EXPECT_THAT(*moves, IsEmpty());
}

TEST(PlanBalanceTest, NewBrokerReceivesItsShareAndNoMore) {
  std::vector<BalancePartition> partitions = SixPartitionsOnThree();
  auto moves = PlanBalance(Brokers(4), partitions);
  ASSERT_TRUE(moves.ok());
  Loads l = Apply(&partitions, *moves);
  EXPECT_LE(Spread(l.replicas, {1, 2, 3, 4}), 1);
  EXPECT_LE(Spread(l.leaders, {1, 2, 3, 4}), 1);
  // 18 replicas over 4 brokers: broker 4 gets 4 or 5 copies, nothing else
  // moves.
  int copied = 0;
  for (const ReplicaMove& m : *moves) {
    copied += m.added.size();
    for (int32_t b : m.added) EXPECT_EQ(b, 4);
  }
  EXPECT_GE(copied, 4);
  EXPECT_LE(copied, 5);
  for (const BalancePartition& p : partitions) {
    std::set<int32_t> distinct(p.replicas.begin(), p.replicas.end());
    EXPECT_EQ(distinct.size(), 3u) << p.partition;
  }
}

TEST(PlanBalanceTest, DrainingBrokerEndsEmpty) {
  std::vector<BalanceBroker> brokers = Brokers(4);
  brokers[1].draining = true;  // broker 2
  std::vector<BalancePartition> partitions;
  for (int i = 0; i < 8; ++i) partitions.push_back({"t", i, {1 + i % 4, 1 + (i + 1) % 4}});
  auto moves = PlanBalance(brokers, partitions);
  ASSERT_TRUE(moves.ok());
  Loads l = Apply(&partitions, *moves);
  EXPECT_EQ(l.replicas.count(2), 0u);
  EXPECT_LE(Spread(l.replicas, {1, 3, 4}), 1);
  EXPECT_LE(Spread(l.leaders, {1, 3, 4}), 1);
}

TEST(PlanBalanceTest, DrainFailsWithoutEnoughBrokers) {
  std::vector<BalanceBroker> brokers = Brokers(3);
  brokers[0].draining = true;
  auto moves = PlanBalance(brokers, SixPartitionsOnThree());
  ASSERT_FALSE(moves.ok());
  EXPECT_EQ(moves.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(moves.status().message()), ::testing::HasSubstr("off broker 1"));
}

TEST(PlanBalanceTest, LeadersEvenOutByReorderingOnly) {
  // Every partition prefers broker 1; replicas are already even.
  std::vector<BalancePartition> partitions;
  for (int i = 0; i < 6; ++i) partitions.push_back({"t", i, {1, 2, 3}});
  auto moves = PlanBalance(Brokers(3), partitions);
  ASSERT_TRUE(moves.ok());
  for (const ReplicaMove& m : *moves) EXPECT_THAT(m.added, IsEmpty());
  Loads l = Apply(&partitions, *moves);
  EXPECT_THAT(l.leaders,
              ElementsAre(std::pair<const int32_t, int>{1, 2}, std::pair<const int32_t, int>{2, 2},
                          std::pair<const int32_t, int>{3, 2}));
}

TEST(PlanBalanceTest, KeepsReplicasOnDistinctRacks) {
  std::vector<BalanceBroker> brokers = {
      {1, "a", true, false}, {2, "b", true, false}, {3, "a", true, false}, {4, "b", true, false}};
  // Everything on brokers 1 and 2 (racks a and b).
  std::vector<BalancePartition> partitions;
  for (int i = 0; i < 4; ++i) partitions.push_back({"t", i, {1, 2}});
  auto moves = PlanBalance(brokers, partitions);
  ASSERT_TRUE(moves.ok());
  Loads l = Apply(&partitions, *moves);
  EXPECT_LE(Spread(l.replicas, {1, 2, 3, 4}), 1);
  for (const BalancePartition& p : partitions) {
    const std::string r0 = brokers[p.replicas[0] - 1].rack, r1 = brokers[p.replicas[1] - 1].rack;
    EXPECT_NE(r0, r1) << "partition " << p.partition << " has both replicas on rack " << r0;
  }
}

TEST(PlanBalanceTest, DeadBrokersKeepTheirReplicasAndTakeNoNewOnes) {
  std::vector<BalanceBroker> brokers = Brokers(4);
  brokers[3].alive = false;  // broker 4 is fenced
  std::vector<BalancePartition> partitions = {
      {"t", 0, {4, 1}}, {"t", 1, {1, 2}}, {"t", 2, {1, 2}}, {"t", 3, {1, 3}}};
  auto moves = PlanBalance(brokers, partitions);
  ASSERT_TRUE(moves.ok());
  Loads l = Apply(&partitions, *moves);
  EXPECT_EQ(partitions[0].replicas[0], 4);
  EXPECT_EQ(l.replicas[4], 1);
  EXPECT_LE(Spread(l.replicas, {1, 2, 3}), 1);
}

TEST(PlanBalanceTest, IsDeterministic) {
  auto a = PlanBalance(Brokers(5), SixPartitionsOnThree());
  auto b = PlanBalance(Brokers(5), SixPartitionsOnThree());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ((*a)[i].to, (*b)[i].to);
}

}  // namespace
}  // namespace runnel::coordinator::placement
