#include "coordinator/groups/assignor.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace runnel::coordinator::groups {
namespace {

AssignorMember M(const std::string& id, std::set<std::string> topics, PartitionSet current = {}) {
  return {id, std::move(topics), std::move(current)};
}

PartitionSet P(const std::string& topic, std::vector<int32_t> partitions) {
  PartitionSet set;
  for (int32_t p : partitions) set.insert({topic, p});
  return set;
}

PartitionSet Union(PartitionSet a, const PartitionSet& b) {
  a.insert(b.begin(), b.end());
  return a;
}

// Feeds an assignment back as every member's current partitions.
std::vector<AssignorMember> WithCurrent(std::vector<AssignorMember> members,
                                        const Assignment& assignment) {
  for (AssignorMember& m : members) {
    auto it = assignment.find(m.id);
    m.current = it == assignment.end() ? PartitionSet() : it->second;
  }
  return members;
}

// Partitions whose owner differs between two assignments (new ones included).
int Moved(const Assignment& before, const Assignment& after) {
  std::map<TopicPartition, std::string> owner;
  for (const auto& [id, set] : before) {
    for (const TopicPartition& tp : set) owner[tp] = id;
  }
  int moved = 0;
  for (const auto& [id, set] : after) {
    for (const TopicPartition& tp : set) moved += owner.count(tp) == 0 || owner[tp] != id;
  }
  return moved;
}

// Every partition of every subscribed topic has exactly one member, which
// subscribes to its topic; every member has an entry.
void ExpectValid(const std::vector<AssignorMember>& members, const TopicCounts& topics,
                 const Assignment& assignment) {
  std::map<std::string, const AssignorMember*> by_id;
  std::set<std::string> subscribed;
  for (const AssignorMember& m : members) {
    by_id[m.id] = &m;
    subscribed.insert(m.topics.begin(), m.topics.end());
    EXPECT_EQ(assignment.count(m.id), 1u) << m.id;
  }
  std::map<TopicPartition, int> owners;
  for (const auto& [id, set] : assignment) {
    ASSERT_EQ(by_id.count(id), 1u) << id;
    for (const TopicPartition& tp : set) {
      ++owners[tp];
      EXPECT_EQ(by_id[id]->topics.count(tp.topic), 1u) << id << " got " << tp.topic;
    }
  }
  size_t expected = 0;
  for (const std::string& topic : subscribed) {
    auto it = topics.find(topic);
    const int32_t count = it == topics.end() ? 0 : it->second;
    for (int32_t p = 0; p < count; ++p) {
      EXPECT_EQ(owners[(TopicPartition{topic, p})], 1) << topic << "-" << p;
      ++expected;
    }
  }
  EXPECT_EQ(owners.size(), expected);
}

std::vector<size_t> Sizes(const Assignment& assignment) {
  std::vector<size_t> sizes;
  for (const auto& [id, set] : assignment) sizes.push_back(set.size());
  return sizes;
}

TEST(AssignorTest, KnownNames) {
  EXPECT_TRUE(IsKnownAssignor("range"));
  EXPECT_TRUE(IsKnownAssignor("roundrobin"));
  EXPECT_TRUE(IsKnownAssignor("cooperative-sticky"));
  EXPECT_FALSE(IsKnownAssignor(""));
  EXPECT_FALSE(IsKnownAssignor("sticky"));
}

TEST(RangeAssignorTest, ContiguousRangesPerTopicFirstMembersGetMore) {
  const std::vector<AssignorMember> members = {M("b", {"t", "u"}), M("a", {"t", "u"})};
  const TopicCounts topics = {{"t", 5}, {"u", 3}};
  const Assignment a = RangeAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), Union(P("t", {0, 1, 2}), P("u", {0, 1})));
  EXPECT_EQ(a.at("b"), Union(P("t", {3, 4}), P("u", {2})));
}

TEST(RangeAssignorTest, OnlySubscribersShareATopic) {
  const std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t", "u"}), M("c", {"u"})};
  const TopicCounts topics = {{"t", 4}, {"u", 1}};
  const Assignment a = RangeAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), P("t", {0, 1}));
  EXPECT_EQ(a.at("b"), Union(P("t", {2, 3}), P("u", {0})));
  EXPECT_EQ(a.at("c"), PartitionSet());
}

TEST(RoundRobinAssignorTest, DealsPartitionsInOrder) {
  const std::vector<AssignorMember> members = {M("c", {"t", "u"}), M("a", {"t", "u"}),
                                               M("b", {"t", "u"})};
  const TopicCounts topics = {{"t", 3}, {"u", 2}};
  const Assignment a = RoundRobinAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), Union(P("t", {0}), P("u", {0})));
  EXPECT_EQ(a.at("b"), Union(P("t", {1}), P("u", {1})));
  EXPECT_EQ(a.at("c"), P("t", {2}));
}

TEST(RoundRobinAssignorTest, SkipsMembersNotSubscribed) {
  const std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t", "u"})};
  const TopicCounts topics = {{"t", 2}, {"u", 3}};
  const Assignment a = RoundRobinAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), P("t", {0}));
  EXPECT_EQ(a.at("b"), Union(P("t", {1}), P("u", {0, 1, 2})));
}

TEST(StickyAssignorTest, BalancedFromScratch) {
  const std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t"}), M("c", {"t"})};
  const TopicCounts topics = {{"t", 7}};
  const Assignment a = StickyAssign(members, topics);
  ExpectValid(members, topics, a);
  std::vector<size_t> sizes = Sizes(a);
  std::sort(sizes.begin(), sizes.end());
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 3}));
}

TEST(StickyAssignorTest, AddingAFourthMemberToThreeWithSixPartitionsMovesOnlyOne) {
  std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t"}), M("c", {"t"})};
  const TopicCounts topics = {{"t", 6}};
  const Assignment stable = StickyAssign(members, topics);
  EXPECT_EQ(Sizes(stable), (std::vector<size_t>{2, 2, 2}));
  members = WithCurrent(members, stable);
  members.push_back(M("d", {"t"}));
  const Assignment after = StickyAssign(members, topics);
  ExpectValid(members, topics, after);
  // 2,2,1,1 is balanced: one move is the minimum, and the only one made.
  EXPECT_EQ(Moved(stable, after), 1);
  EXPECT_EQ(after.at("d").size(), 1u);
  for (const std::string id : {"a", "b", "c"}) {
    for (const TopicPartition& tp : after.at(id)) EXPECT_EQ(stable.at(id).count(tp), 1u) << id;
  }
}

TEST(StickyAssignorTest, AddingAMemberMovesExactlyWhatBalanceNeeds) {
  // 2 members x 3 partitions + 1 -> 2,2,2: two moves, one from each.
  std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t"})};
  TopicCounts topics = {{"t", 6}};
  Assignment stable = StickyAssign(members, topics);
  members = WithCurrent(members, stable);
  members.push_back(M("c", {"t"}));
  Assignment after = StickyAssign(members, topics);
  ExpectValid(members, topics, after);
  EXPECT_EQ(Moved(stable, after), 2);
  EXPECT_EQ(Sizes(after), (std::vector<size_t>{2, 2, 2}));
  for (const std::string id : {"a", "b"}) {
    for (const TopicPartition& tp : after.at(id)) EXPECT_EQ(stable.at(id).count(tp), 1u) << id;
  }

  // 3 members with 3,3,2 of 8 partitions + 1 -> 2,2,2,2: two moves.
  members = {M("a", {"t"}), M("b", {"t"}), M("c", {"t"})};
  topics = {{"t", 8}};
  stable = StickyAssign(members, topics);
  members = WithCurrent(members, stable);
  members.push_back(M("d", {"t"}));
  after = StickyAssign(members, topics);
  ExpectValid(members, topics, after);
  EXPECT_EQ(Moved(stable, after), 2);
  EXPECT_EQ(after.at("d").size(), 2u);
}

TEST(StickyAssignorTest, RemovingAMemberMovesOnlyItsPartitions) {
  std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t"}), M("c", {"t"}),
                                         M("d", {"t"})};
  const TopicCounts topics = {{"t", 12}};
  const Assignment stable = StickyAssign(members, topics);
  members = WithCurrent(members, stable);
  members.erase(members.begin() + 1);  // b leaves
  const Assignment after = StickyAssign(members, topics);
  ExpectValid(members, topics, after);
  EXPECT_EQ(Moved(stable, after), 3);
  EXPECT_EQ(Sizes(after), (std::vector<size_t>{4, 4, 4}));
}

TEST(StickyAssignorTest, NewPartitionsGoToTheLeastLoaded) {
  std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t"})};
  const Assignment stable = StickyAssign(members, {{"t", 3}});
  members = WithCurrent(members, stable);
  const Assignment after = StickyAssign(members, {{"t", 4}});
  EXPECT_EQ(Moved(stable, after), 1);  // only the new partition
  EXPECT_EQ(Sizes(after), (std::vector<size_t>{2, 2}));
}

TEST(StickyAssignorTest, DropsPartitionsNoLongerSubscribedOrExisting) {
  const std::vector<AssignorMember> members = {M("a", {"t"}, Union(P("t", {0, 5}), P("u", {0}))),
                                               M("b", {"t", "u"}, P("t", {1}))};
  const TopicCounts topics = {{"t", 2}, {"u", 1}};
  const Assignment a = StickyAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), P("t", {0}));
  EXPECT_EQ(a.at("b"), Union(P("t", {1}), P("u", {0})));
}

TEST(StickyAssignorTest, BalancesAcrossDifferentSubscriptions) {
  // b alone can take u: a must get all of t.
  const std::vector<AssignorMember> members = {M("a", {"t"}), M("b", {"t", "u"})};
  const TopicCounts topics = {{"t", 2}, {"u", 2}};
  const Assignment a = StickyAssign(members, topics);
  ExpectValid(members, topics, a);
  EXPECT_EQ(a.at("a"), P("t", {0, 1}));
  EXPECT_EQ(a.at("b"), P("u", {0, 1}));
}

// Random groups, every assignor, twice in a row (the second sticky run
// starting from the first): always a valid assignment; sticky balanced when
// everyone subscribes to the same topics, and stable when nothing changed.
TEST(AssignorTest, RandomGroupsGetValidAssignments) {
  std::mt19937 rng(42);
  const std::vector<std::string> names = {"t", "u", "v"};
  for (int round = 0; round < 200; ++round) {
    TopicCounts topics;
    for (const std::string& name : names) topics[name] = static_cast<int32_t>(rng() % 7);
    const bool same = round % 2 == 0;
    std::vector<AssignorMember> members;
    const int n = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < n; ++i) {
      std::set<std::string> subscription;
      for (const std::string& name : names) {
        if (same || rng() % 2 == 0) subscription.insert(name);
      }
      if (subscription.empty()) subscription.insert("t");
      members.push_back(M("m" + std::to_string(i), subscription));
    }
    for (absl::string_view name : {kRangeAssignor, kRoundRobinAssignor, kStickyAssignor}) {
      SCOPED_TRACE(std::string(name) + " round " + std::to_string(round));
      const Assignment first = Assign(name, members, topics);
      ExpectValid(members, topics, first);
      const Assignment second = Assign(name, WithCurrent(members, first), topics);
      ExpectValid(members, topics, second);
      if (name != kStickyAssignor) continue;
      EXPECT_EQ(Moved(first, second), 0);
      if (same) {
        const std::vector<size_t> sizes = Sizes(first);
        EXPECT_LE(*std::max_element(sizes.begin(), sizes.end()),
                  *std::min_element(sizes.begin(), sizes.end()) + 1);
      }
    }
  }
}

}  // namespace
}  // namespace runnel::coordinator::groups
