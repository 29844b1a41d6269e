#include "coordinator/placement/placement.h"

#include <algorithm>
#include <map>
#include <set>

#include "gtest/gtest.h"

namespace runnel::coordinator::placement {
namespace {

std::vector<Candidate> Brokers(int n) {
  std::vector<Candidate> out;
  for (int i = 0; i < n; ++i) out.push_back({/*broker_id=*/i + 1, "", 0, 0});
  return out;
}

// Adds a placement's load to `brokers`, as the topic table would report it.
void AddLoad(const std::vector<std::vector<int32_t>>& placement, std::vector<Candidate>* brokers) {
  for (const auto& replicas : placement) {
    for (size_t r = 0; r < replicas.size(); ++r) {
      for (Candidate& c : *brokers) {
        if (c.broker_id != replicas[r]) continue;
        ++c.replicas;
        if (r == 0) ++c.leaders;
      }
    }
  }
}

int Spread(const std::vector<Candidate>& brokers, int32_t Candidate::*field) {
  auto [lo, hi] = std::minmax_element(
      brokers.begin(), brokers.end(),
      [field](const Candidate& a, const Candidate& b) { return a.*field < b.*field; });
  return (*hi).*field - (*lo).*field;
}

void ExpectDistinctReplicas(const std::vector<std::vector<int32_t>>& placement, int rf) {
  for (const auto& replicas : placement) {
    ASSERT_EQ(static_cast<int>(replicas.size()), rf);
    EXPECT_EQ(std::set<int32_t>(replicas.begin(), replicas.end()).size(), replicas.size());
  }
}

TEST(PlacementTest, ReplicasOfAPartitionAreOnDistinctBrokers) {
  for (int n = 1; n <= 6; ++n) {
    for (int rf = 1; rf <= n; ++rf) {
      auto placement = PlaceReplicas(10, rf, Brokers(n));
      ASSERT_TRUE(placement.ok()) << placement.status();
      ASSERT_EQ(placement->size(), 10u);
      ExpectDistinctReplicas(*placement, rf);
    }
  }
}

TEST(PlacementTest, EqualLoadsRotateRoundRobin) {
  auto placement = PlaceReplicas(6, 1, Brokers(3));
  ASSERT_TRUE(placement.ok());
  std::vector<int32_t> leaders;
  for (const auto& r : *placement) leaders.push_back(r[0]);
  EXPECT_EQ(leaders, (std::vector<int32_t>{1, 2, 3, 1, 2, 3}));
}

TEST(PlacementTest, OneTopicSpreadsLeadersAndReplicasEvenly) {
  std::vector<Candidate> brokers = Brokers(3);
  auto placement = PlaceReplicas(6, 3, brokers);
  ASSERT_TRUE(placement.ok());
  AddLoad(*placement, &brokers);
  for (const Candidate& c : brokers) {
    EXPECT_EQ(c.leaders, 2) << "broker " << c.broker_id;
    EXPECT_EQ(c.replicas, 6) << "broker " << c.broker_id;
  }
}

TEST(PlacementTest, ManyTopicsStayEvenlySpread) {
  std::vector<Candidate> brokers = Brokers(5);
  for (int topic = 0; topic < 300; ++topic) {
    const int partitions = 1 + topic % 7;
    const int rf = 1 + topic % 3;
    auto placement = PlaceReplicas(partitions, rf, brokers);
    ASSERT_TRUE(placement.ok()) << placement.status();
    ExpectDistinctReplicas(*placement, rf);
    AddLoad(*placement, &brokers);
    ASSERT_LE(Spread(brokers, &Candidate::leaders), 1) << "after topic " << topic;
    ASSERT_LE(Spread(brokers, &Candidate::replicas), 2) << "after topic " << topic;
  }
}

TEST(PlacementTest, ExistingLoadSteersNewReplicasToEmptyBrokers) {
  std::vector<Candidate> brokers = {{1, "", 10, 5}, {2, "", 10, 5}, {3, "", 0, 0}};
  auto placement = PlaceReplicas(1, 2, brokers);
  ASSERT_TRUE(placement.ok());
  EXPECT_EQ((*placement)[0][0], 3);  // the new broker leads
  auto more = PlaceReplicas(3, 1, brokers);
  ASSERT_TRUE(more.ok());
  for (const auto& r : *more) EXPECT_EQ(r[0], 3);
}

TEST(PlacementTest, InputOrderDoesNotMatter) {
  std::vector<Candidate> forward = Brokers(4);
  std::vector<Candidate> backward(forward.rbegin(), forward.rend());
  EXPECT_EQ(*PlaceReplicas(8, 2, forward), *PlaceReplicas(8, 2, backward));
}

TEST(PlacementTest, ReplicasLandOnDistinctRacks) {
  std::vector<Candidate> brokers = {{1, "a", 0, 0}, {2, "a", 0, 0}, {3, "b", 0, 0},
                                    {4, "b", 0, 0}, {5, "c", 0, 0}, {6, "c", 0, 0}};
  std::map<int32_t, std::string> rack_of;
  for (const Candidate& c : brokers) rack_of[c.broker_id] = c.rack;
  auto placement = PlaceReplicas(12, 3, brokers);
  ASSERT_TRUE(placement.ok());
  for (const auto& replicas : *placement) {
    std::set<std::string> racks;
    for (int32_t id : replicas) racks.insert(rack_of[id]);
    EXPECT_EQ(racks.size(), 3u);
  }
  AddLoad(*placement, &brokers);
  EXPECT_LE(Spread(brokers, &Candidate::leaders), 1);
  EXPECT_LE(Spread(brokers, &Candidate::replicas), 1);
}

TEST(PlacementTest, FewerRacksThanReplicasStillUsesEveryRack) {
  std::vector<Candidate> brokers = {{1, "a", 0, 0}, {2, "a", 0, 0}, {3, "b", 0, 0}};
  auto placement = PlaceReplicas(6, 3, brokers);
  ASSERT_TRUE(placement.ok());
  ExpectDistinctReplicas(*placement, 3);
  auto two = PlaceReplicas(6, 2, brokers);
  ASSERT_TRUE(two.ok());
  for (const auto& replicas : *two) {
    // Each pair spans both racks: broker 3 is in every partition.
    EXPECT_NE(std::find(replicas.begin(), replicas.end(), 3), replicas.end());
  }
}

TEST(PlacementTest, BrokersWithoutRackNeverCollide) {
  std::vector<Candidate> brokers = {{1, "", 0, 0}, {2, "", 0, 0}, {3, "a", 0, 0}};
  auto placement = PlaceReplicas(6, 3, brokers);
  ASSERT_TRUE(placement.ok());
  ExpectDistinctReplicas(*placement, 3);
}

TEST(PlacementTest, ReplicationFactorAboveLiveBrokersFails) {
  auto placement = PlaceReplicas(1, 3, Brokers(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(placement.status()));
  EXPECT_EQ(placement.status().message(), "replication factor 3 exceeds the 1 live broker(s)");
  EXPECT_TRUE(absl::IsFailedPrecondition(PlaceReplicas(1, 1, {}).status()));
}

TEST(PlacementTest, InvalidCountsFail) {
  EXPECT_TRUE(absl::IsInvalidArgument(PlaceReplicas(0, 1, Brokers(3)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(PlaceReplicas(1, 0, Brokers(3)).status()));
}

}  // namespace
}  // namespace runnel::coordinator::placement
