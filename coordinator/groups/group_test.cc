#include "coordinator/groups/group.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace runnel::coordinator::groups {
namespace {

constexpr absl::Duration kSession = absl::Seconds(10);
constexpr absl::Duration kRebalance = absl::Seconds(5);

PartitionSet P(const std::string& topic, std::vector<int32_t> partitions) {
  PartitionSet set;
  for (int32_t p : partitions) set.insert({topic, p});
  return set;
}

class GroupTest : public ::testing::Test {
 protected:
  void Join(const std::string& id, std::set<std::string> topics = {"t"},
            const std::string& assignor = "cooperative-sticky") {
    MemberSpec spec{"client-" + id, "127.0.0.1", std::move(topics), kSession, kRebalance};
    group_.Join(id, std::move(spec), assignor, topics_, now_);
  }

  // A heartbeat reporting `owned`.
  Reconciled Beat(const std::string& id, const PartitionSet& owned,
                  const std::set<std::string>& topics = {}) {
    return group_.Heartbeat(id, topics, owned, topics_, now_);
  }

  // A well-behaved member: reports what it owns, then owns what it is told.
  Reconciled Cooperate(const std::string& id) {
    Reconciled r = Beat(id, owned_[id]);
    owned_[id] = r.assignment;
    return r;
  }

  // Cooperates with every member until the group is stable (at most `rounds`).
  void Settle(int rounds = 5) {
    for (int i = 0; i < rounds && group_.state() != v1::GROUP_STATE_STABLE; ++i) {
      for (const auto& [id, m] : group_.members()) Cooperate(id);
    }
    ASSERT_EQ(group_.state(), v1::GROUP_STATE_STABLE);
  }

  const PartitionSet& Target(const std::string& id) { return group_.FindMember(id)->target; }

  v1::ErrorCode Commit(const std::string& id, int64_t generation, const std::string& topic,
                       int32_t partition) {
    return group_.CheckCommit(id, generation, {topic, partition}).code;
  }

  // No partition is owned (as the members report it) by two members.
  void ExpectSingleOwners() {
    std::map<TopicPartition, std::string> owner;
    for (const auto& [id, set] : owned_) {
      if (group_.FindMember(id) == nullptr) continue;
      for (const TopicPartition& tp : set) {
        EXPECT_TRUE(owner.emplace(tp, id).second)
            << tp.topic << "-" << tp.partition << " owned by " << owner[tp] << " and " << id;
      }
    }
  }

  Group group_{"g"};
  TopicCounts topics_ = {{"t", 4}};
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::map<std::string, PartitionSet> owned_;
};

TEST_F(GroupTest, FirstMemberGetsEverythingAndTheGroupStabilises) {
  EXPECT_EQ(group_.state(), v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(group_.generation(), 0);
  Join("a");
  EXPECT_EQ(group_.generation(), 1);
  EXPECT_EQ(group_.assignor(), "cooperative-sticky");
  const Reconciled r = Cooperate("a");
  EXPECT_EQ(r.generation, 1);
  EXPECT_EQ(r.assignment, P("t", {0, 1, 2, 3}));
  // Not stable until it reports owning them.
  EXPECT_EQ(group_.state(), v1::GROUP_STATE_RECONCILING);
  Cooperate("a");
  EXPECT_EQ(group_.state(), v1::GROUP_STATE_STABLE);
  EXPECT_EQ(group_.generation(), 1);
}

TEST_F(GroupTest, MovedPartitionsWaitUntilTheOldOwnerLetsGo) {
  Join("a");
  Settle();
  Join("b");
  EXPECT_EQ(group_.generation(), 2);
  EXPECT_EQ(group_.state(), v1::GROUP_STATE_RECONCILING);
  const PartitionSet b_target = Target("b");
  ASSERT_EQ(b_target.size(), 2u);

  // b's partitions are still a's: withheld.
  EXPECT_TRUE(Cooperate("b").assignment.empty());
  // a learns what it keeps; it still owns (and may commit) what it gives up.
  const TopicPartition moving = *b_target.begin();
  const Reconciled told = Beat("a", owned_["a"]);
  EXPECT_EQ(told.assignment, Target("a"));
  EXPECT_EQ(Commit("a", 2, moving.topic, moving.partition), v1::ERROR_CODE_NONE);
  EXPECT_TRUE(Cooperate("b").assignment.empty());
  ExpectSingleOwners();

  // a stops consuming them, commits, and reports it: b gets them at its next
  // heartbeat.
  owned_["a"] = told.assignment;
  Cooperate("a");
  EXPECT_EQ(Commit("a", 2, moving.topic, moving.partition), v1::ERROR_CODE_STALE_GENERATION);
  EXPECT_EQ(Cooperate("b").assignment, b_target);
  ExpectSingleOwners();
  EXPECT_EQ(Commit("b", 2, moving.topic, moving.partition), v1::ERROR_CODE_NONE);
  // Handed over in generation 2: generation 1 is too old for b.
  EXPECT_EQ(Commit("b", 1, moving.topic, moving.partition), v1::ERROR_CODE_STALE_GENERATION);
  // a keeps committing what it kept with its old generation.
  const TopicPartition kept = *Target("a").begin();
  EXPECT_EQ(Commit("a", 1, kept.topic, kept.partition), v1::ERROR_CODE_NONE);
  Settle();
  EXPECT_EQ(group_.generation(), 2);
}

TEST_F(GroupTest, APartitionHandedButNotYetReportedIsStillHeld) {
  Join("a");
  EXPECT_EQ(Beat("a", {}).assignment.size(), 4u);  // handed, a not yet reporting them
  Join("b");
  EXPECT_TRUE(Beat("b", {}).assignment.empty());
  // a answers without ever having taken them: nothing to wait for.
  Beat("a", {});
  EXPECT_EQ(Beat("b", {}).assignment, Target("b"));
}

TEST_F(GroupTest, ExpiredSessionRemovesTheMemberAndFreesItsPartitionsAtOnce) {
  Join("a");
  Join("b");
  Settle();
  const int64_t generation = group_.generation();
  const TopicPartition b_partition = *Target("b").begin();
  for (int i = 0; i < 10; ++i) {
    now_ += absl::Seconds(1);
    Cooperate("a");
    EXPECT_TRUE(group_.Expire(topics_, now_).empty());
  }
  now_ += absl::Milliseconds(1);  // b silent for just over its session
  const auto removed = group_.Expire(topics_, now_);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].first, "b");
  EXPECT_EQ(removed[0].second, "session timeout 10s expired");
  EXPECT_EQ(group_.generation(), generation + 1);
  EXPECT_EQ(Cooperate("a").assignment, P("t", {0, 1, 2, 3}));
  // The zombie cannot commit.
  EXPECT_EQ(Commit("b", generation, b_partition.topic, b_partition.partition),
            v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
}

TEST_F(GroupTest, AMemberThatKeepsPartitionsPastTheRebalanceTimeoutIsRemoved) {
  Join("a");
  Settle();
  Join("b");
  const PartitionSet all = P("t", {0, 1, 2, 3});
  // Its clock starts when it is told, not at the rebalance.
  now_ += absl::Seconds(2);
  EXPECT_TRUE(group_.Expire(topics_, now_).empty());
  Beat("a", all);
  for (int i = 0; i < 5; ++i) {
    now_ += absl::Seconds(1);
    Beat("a", all);  // heartbeats but never revokes
    EXPECT_TRUE(Cooperate("b").assignment.empty());
    EXPECT_TRUE(group_.Expire(topics_, now_).empty());
  }
  now_ += absl::Milliseconds(1);
  const auto removed = group_.Expire(topics_, now_);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].first, "a");
  EXPECT_EQ(removed[0].second, "kept partitions to revoke past its rebalance timeout 5s");
  EXPECT_EQ(Cooperate("b").assignment, all);
}

TEST_F(GroupTest, ARevokingMemberWithinItsTimeoutStays) {
  Join("a");
  Settle();
  Join("b");
  now_ += absl::Seconds(4);
  Beat("a", owned_["a"]);
  Cooperate("a");  // revokes in time
  now_ += absl::Seconds(4);
  Cooperate("a");
  Cooperate("b");
  EXPECT_TRUE(group_.Expire(topics_, now_).empty());
}

TEST_F(GroupTest, LeavingMovesPartitionsWithoutWaiting) {
  Join("a");
  Join("b");
  Settle();
  ASSERT_TRUE(group_.Remove("b", topics_, now_));
  EXPECT_FALSE(group_.Remove("b", topics_, now_));
  EXPECT_EQ(Cooperate("a").assignment, P("t", {0, 1, 2, 3}));
}

TEST_F(GroupTest, PartitionCountChangeRebalances) {
  Join("a");
  Join("b");
  Settle();
  const int64_t generation = group_.generation();
  EXPECT_FALSE(group_.TopicsChanged(topics_, now_));
  topics_["other"] = 3;  // not subscribed
  EXPECT_FALSE(group_.TopicsChanged(topics_, now_));
  topics_["t"] = 6;
  EXPECT_TRUE(group_.TopicsChanged(topics_, now_));
  EXPECT_EQ(group_.generation(), generation + 1);
  Settle();
  EXPECT_EQ(Target("a").size() + Target("b").size(), 6u);
  EXPECT_EQ(Target("a").size(), 3u);

  // Deleted: nothing to own; the members must revoke everything.
  topics_.erase("t");
  EXPECT_TRUE(group_.TopicsChanged(topics_, now_));
  EXPECT_TRUE(Target("a").empty());
  EXPECT_EQ(group_.state(), v1::GROUP_STATE_RECONCILING);
  Settle();
  EXPECT_TRUE(owned_["a"].empty());

  // Created again: subscribed groups pick it up.
  topics_["t"] = 2;
  EXPECT_TRUE(group_.TopicsChanged(topics_, now_));
  Settle();
  EXPECT_EQ(Target("a").size() + Target("b").size(), 2u);
}

TEST_F(GroupTest, SubscriptionChangeRebalances) {
  topics_["u"] = 2;
  Join("a");
  Settle();
  const int64_t generation = group_.generation();
  Beat("a", owned_["a"], {"t"});  // unchanged
  EXPECT_EQ(group_.generation(), generation);
  const Reconciled r = Beat("a", owned_["a"], {"t", "u"});
  EXPECT_EQ(group_.generation(), generation + 1);
  EXPECT_EQ(r.assignment.size(), 6u);
}

TEST_F(GroupTest, TheFirstMemberChoosesTheAssignor) {
  EXPECT_TRUE(group_.AcceptsAssignor("range"));
  Join("a", {"t"}, "range");
  EXPECT_EQ(group_.assignor(), "range");
  EXPECT_TRUE(group_.AcceptsAssignor("range"));
  EXPECT_FALSE(group_.AcceptsAssignor("cooperative-sticky"));
  group_.Remove("a", topics_, now_);
  EXPECT_TRUE(group_.AcceptsAssignor("roundrobin"));
  Join("b", {"t"}, "roundrobin");
  EXPECT_EQ(group_.assignor(), "roundrobin");
}

// Range is not sticky, but moves are incremental just the same.
TEST_F(GroupTest, RangeMovesAreIncrementalToo) {
  Join("b", {"t"}, "range");
  Settle();
  Join("a", {"t"}, "range");  // sorts first: takes 0 and 1 from b
  EXPECT_EQ(Target("a"), P("t", {0, 1}));
  EXPECT_TRUE(Cooperate("a").assignment.empty());
  Cooperate("b");  // told to revoke 0 and 1
  ExpectSingleOwners();
  EXPECT_TRUE(Cooperate("a").assignment.empty());
  Cooperate("b");  // reports them revoked
  EXPECT_EQ(Cooperate("a").assignment, P("t", {0, 1}));
  ExpectSingleOwners();
  Settle();
}

TEST_F(GroupTest, CommitChecks) {
  Join("a");
  Settle();
  EXPECT_EQ(Commit("a", 1, "t", 0), v1::ERROR_CODE_NONE);
  EXPECT_EQ(Commit("a", 2, "t", 0), v1::ERROR_CODE_STALE_GENERATION);  // from the future
  EXPECT_EQ(Commit("a", 1, "t", 9), v1::ERROR_CODE_STALE_GENERATION);  // not its partition
  EXPECT_EQ(Commit("zz", 1, "t", 0), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  EXPECT_EQ(group_.CheckCommit("a", 0, {"t", 1}).message,
            "generation 0 is older than generation 1 in which t-1 was assigned to member 'a'");
}

TEST_F(GroupTest, ManyMembersChurningNeverShareAPartition) {
  topics_["t"] = 12;
  for (int round = 0; round < 6; ++round) {
    Join("m" + std::to_string(round));
    for (int i = 0; i < 3; ++i) {
      for (const auto& [id, m] : group_.members()) {
        Cooperate(id);
        ExpectSingleOwners();
      }
    }
    if (round == 3) group_.Remove("m1", topics_, now_);
  }
  Settle();
  ASSERT_EQ(group_.members().size(), 5u);
  for (const auto& [id, m] : group_.members()) {
    EXPECT_GE(m.target.size(), 2u) << id;  // 12 over 5: 3,3,2,2,2
    EXPECT_LE(m.target.size(), 3u) << id;
  }
}

}  // namespace
}  // namespace runnel::coordinator::groups
