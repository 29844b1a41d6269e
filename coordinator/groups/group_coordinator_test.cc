#include "coordinator/groups/group_coordinator.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/store/fault_injecting_store.h"
#include "coordinator/store/memory_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator::groups {
namespace {

v1::TopicInfo Topic(const std::string& name, uint64_t id, int32_t partitions) {
  v1::TopicInfo t;
  t.set_name(name);
  t.set_topic_id(id);
  for (int32_t p = 0; p < partitions; ++p) t.add_partitions()->set_partition(p);
  return t;
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  // A coordinator restart: memberships are gone, offsets are not.
  void Reopen() {
    groups_.reset();
    auto g = GroupCoordinator::Open(&store_, topics_, [this] { return now_; });
    ASSERT_TRUE(g.ok()) << g.status();
    groups_ = std::move(*g);
  }

  v1::GroupHeartbeatRequest JoinRequest(const std::string& group = "g",
                                        const std::vector<std::string>& topics = {"orders"}) {
    v1::GroupHeartbeatRequest r;
    r.set_group_id(group);
    r.set_client_id("app");
    for (const std::string& t : topics) r.add_subscribed_topics(t);
    return r;
  }

  // Joins and returns the response (failing the test on error).
  v1::GroupHeartbeatResponse Join(const std::string& group = "g",
                                  const std::vector<std::string>& topics = {"orders"}) {
    auto r = groups_->GroupHeartbeat(JoinRequest(group, topics), "10.0.0.1");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::GroupHeartbeatResponse();
  }

  // A heartbeat of `member` reporting `owned` (the response's assignment).
  v1::GroupHeartbeatResponse Beat(
      const std::string& member,
      const google::protobuf::RepeatedPtrField<v1::TopicPartitions>& owned = {},
      const std::string& group = "g") {
    v1::GroupHeartbeatRequest r;
    r.set_group_id(group);
    r.set_member_id(member);
    *r.mutable_owned_partitions() = owned;
    auto response = groups_->GroupHeartbeat(r, "10.0.0.1");
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::GroupHeartbeatResponse();
  }

  // Heartbeats until the member owns its assignment (a few rounds).
  v1::GroupHeartbeatResponse Settle(const std::string& member, const std::string& group = "g") {
    v1::GroupHeartbeatResponse r = Beat(member, {}, group);
    for (int i = 0; i < 2; ++i) r = Beat(member, r.assignment(), group);
    return r;
  }

  v1::CommitOffsetsResponse Commit(const std::string& member, int64_t generation,
                                   const std::string& topic, int32_t partition, int64_t offset,
                                   const std::string& metadata = "") {
    v1::CommitOffsetsRequest r;
    r.set_group_id("g");
    r.set_member_id(member);
    r.set_generation(generation);
    v1::PartitionOffset* o = r.add_offsets();
    o->set_topic(topic);
    o->set_partition(partition);
    o->set_offset(offset);
    o->set_metadata(metadata);
    auto response = groups_->CommitOffsets(r);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : v1::CommitOffsetsResponse();
  }

  // The committed offset of a partition of group `group` (-1: none).
  int64_t Fetched(const std::string& topic, int32_t partition, const std::string& group = "g") {
    v1::FetchOffsetsRequest r;
    r.set_group_id(group);
    v1::TopicPartitions* tp = r.add_partitions();
    tp->set_topic(topic);
    tp->add_partitions(partition);
    auto response = groups_->FetchOffsets(r);
    EXPECT_TRUE(response.ok()) << response.status();
    if (!response.ok() || response->offsets_size() != 1) return -2;
    return response->offsets(0).offset();
  }

  absl::Status Alter(const std::string& topic, int32_t partition, int64_t offset,
                     const std::string& group = "g") {
    v1::AlterGroupOffsetsRequest r;
    r.set_group_id(group);
    v1::PartitionOffset* o = r.add_offsets();
    o->set_topic(topic);
    o->set_partition(partition);
    o->set_offset(offset);
    return groups_->AlterGroupOffsets(r);
  }

  absl::StatusOr<v1::DescribeGroupResponse> Describe(const std::string& group = "g") {
    v1::DescribeGroupRequest r;
    r.set_group_id(group);
    return groups_->DescribeGroup(r);
  }

  absl::Status Delete(const std::string& group = "g") {
    v1::DeleteGroupRequest r;
    r.set_group_id(group);
    return groups_->DeleteGroup(r);
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::vector<v1::TopicInfo> topics_ = {Topic("orders", 1, 4), Topic("users", 2, 2)};
  store::MemoryStore mem_;
  store::FaultInjectingStore store_{&mem_};
  std::unique_ptr<GroupCoordinator> groups_;
};

TEST_F(GroupCoordinatorTest, BadRequestsNameTheField) {
  auto refused = [&](v1::GroupHeartbeatRequest r) {
    auto response = groups_->GroupHeartbeat(r, "h");
    EXPECT_TRUE(absl::IsInvalidArgument(response.status())) << response.status();
    return std::string(response.status().message());
  };
  v1::GroupHeartbeatRequest r = JoinRequest();
  r.set_group_id("");
  EXPECT_EQ(refused(r), "invalid group_id '': use 1-249 characters from [A-Za-z0-9._-]");
  r.set_group_id(std::string(250, 'g'));
  EXPECT_EQ(refused(r).rfind("invalid group_id", 0), 0u);
  r = JoinRequest("g", {"bad topic"});
  EXPECT_EQ(refused(r),
            "subscribed_topics: invalid topic name 'bad topic': use 1-249 characters from "
            "[A-Za-z0-9._-]");
  EXPECT_EQ(refused(JoinRequest("g", {})), "subscribed_topics must not be empty when joining");
  r = JoinRequest();
  r.set_session_timeout_ms(999);
  EXPECT_EQ(refused(r), "session_timeout_ms must be from 1000 to 300000 (0 means 10000), got 999");
  r.set_session_timeout_ms(300001);
  EXPECT_EQ(refused(r).rfind("session_timeout_ms", 0), 0u);
  r = JoinRequest();
  r.set_rebalance_timeout_ms(-1);
  EXPECT_EQ(refused(r), "rebalance_timeout_ms must be from 1 to 3600000 (0 means 30000), got -1");
  r = JoinRequest();
  r.set_assignor("sticky");
  EXPECT_EQ(refused(r),
            "assignor: unknown assignor 'sticky': use range, roundrobin or cooperative-sticky");
  r = JoinRequest();
  v1::TopicPartitions* owned = r.add_owned_partitions();
  owned->set_topic("orders");
  owned->add_partitions(-1);
  EXPECT_EQ(refused(r), "owned_partitions: partition -1 of topic 'orders' is negative");

  v1::CommitOffsetsRequest commit;
  EXPECT_TRUE(absl::IsInvalidArgument(groups_->CommitOffsets(commit).status()));
  v1::FetchOffsetsRequest fetch;
  fetch.set_group_id("a/b");
  EXPECT_TRUE(absl::IsInvalidArgument(groups_->FetchOffsets(fetch).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Describe("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Delete("")));
  v1::LeaveGroupRequest leave;
  EXPECT_TRUE(absl::IsInvalidArgument(groups_->LeaveGroup(leave)));
  EXPECT_TRUE(groups_->ListGroups().groups().empty());  // nothing was created
}

TEST_F(GroupCoordinatorTest, JoinAssignsAnIdAndPartitions) {
  const v1::GroupHeartbeatResponse a = Join();
  EXPECT_EQ(a.error_code(), v1::ERROR_CODE_NONE);
  EXPECT_EQ(a.member_id().size(), 32u);
  EXPECT_EQ(a.generation(), 1);
  ASSERT_EQ(a.assignment_size(), 1);
  EXPECT_EQ(a.assignment(0).topic(), "orders");
  EXPECT_EQ(a.assignment(0).partitions_size(), 4);
  // Reconciling (it does not own them yet): heartbeat soon.
  EXPECT_EQ(a.heartbeat_interval_ms(), 250);
  const v1::GroupHeartbeatResponse stable = Beat(a.member_id(), a.assignment());
  EXPECT_EQ(stable.heartbeat_interval_ms(), 3000);  // min(10000 / 3, 3000)
  EXPECT_NE(Join().member_id(), a.member_id());
}

TEST_F(GroupCoordinatorTest, ShortSessionsHeartbeatAtAThird) {
  v1::GroupHeartbeatRequest r = JoinRequest();
  r.set_session_timeout_ms(1500);
  auto a = groups_->GroupHeartbeat(r, "h");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Beat(a->member_id(), a->assignment()).heartbeat_interval_ms(), 500);
}

TEST_F(GroupCoordinatorTest, UnknownAndExpiredMembersMustRejoin) {
  v1::GroupHeartbeatResponse r = Beat("nobody");
  EXPECT_EQ(r.error_code(), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  EXPECT_EQ(r.error_message(),
            "member 'nobody' is not in group 'g' (removed or never joined): join again");
  EXPECT_TRUE(groups_->ListGroups().groups().empty());

  const std::string a = Join().member_id();
  now_ += absl::Seconds(10) + absl::Milliseconds(1);  // default session 10 s, no Tick
  EXPECT_EQ(Beat(a).error_code(), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
}

TEST_F(GroupCoordinatorTest, TickExpiresSessionsAndRebalances) {
  const std::string a = Settle(Join().member_id()).member_id();
  const v1::GroupHeartbeatResponse b = Join();
  const std::string b_id = b.member_id();
  for (int i = 0; i < 10; ++i) {
    now_ += absl::Seconds(1);
    Beat(a, Beat(a).assignment());
    groups_->Tick();
  }
  now_ += absl::Milliseconds(1);
  groups_->Tick();
  auto described = Describe();
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->members_size(), 1);
  EXPECT_EQ(described->members(0).member_id(), a);
  EXPECT_EQ(described->generation(), 3);  // a, b joined; b removed
  EXPECT_EQ(Commit(b_id, b.generation(), "orders", 0, 1).results(0).error_code(),
            v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  // With no offsets, an emptied group is forgotten.
  now_ += absl::Seconds(11);
  groups_->Tick();
  EXPECT_TRUE(groups_->ListGroups().groups().empty());
  EXPECT_TRUE(absl::IsNotFound(Describe().status()));
}

TEST_F(GroupCoordinatorTest, AssignorIsTheFirstMembers) {
  v1::GroupHeartbeatRequest r = JoinRequest();
  r.set_assignor("range");
  auto a = groups_->GroupHeartbeat(r, "h");
  ASSERT_TRUE(a.ok());
  auto refused = groups_->GroupHeartbeat(JoinRequest(), "h");  // wants the default
  EXPECT_TRUE(absl::IsInvalidArgument(refused.status()));
  EXPECT_EQ(refused.status().message(),
            "assignor 'cooperative-sticky' differs from group 'g''s assignor 'range'");
  // Later heartbeats may leave it empty, not change it.
  EXPECT_EQ(Beat(a->member_id()).error_code(), v1::ERROR_CODE_NONE);
  v1::GroupHeartbeatRequest later;
  later.set_group_id("g");
  later.set_member_id(a->member_id());
  later.set_assignor("roundrobin");
  EXPECT_TRUE(absl::IsInvalidArgument(groups_->GroupHeartbeat(later, "h").status()));
  // Once empty, the next first member chooses again.
  v1::LeaveGroupRequest leave;
  leave.set_group_id("g");
  leave.set_member_id(a->member_id());
  ASSERT_TRUE(groups_->LeaveGroup(leave).ok());
  ASSERT_TRUE(groups_->LeaveGroup(leave).ok());  // unknown member: fine
  EXPECT_TRUE(groups_->GroupHeartbeat(JoinRequest(), "h").ok());
}

TEST_F(GroupCoordinatorTest, CommitsAreFencedAndDurable) {
  const v1::GroupHeartbeatResponse a = Settle(Join().member_id());
  v1::CommitOffsetsResponse c = Commit(a.member_id(), a.generation(), "orders", 1, 42, "m");
  ASSERT_EQ(c.results_size(), 1);
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_NONE) << c.results(0).error_message();
  EXPECT_EQ(c.results(0).topic(), "orders");
  EXPECT_EQ(c.results(0).partition(), 1);
  EXPECT_EQ(Fetched("orders", 1), 42);
  EXPECT_EQ(Fetched("orders", 2), -1);

  // b joins and takes half; a gives them up.
  const v1::GroupHeartbeatResponse b = Join();
  v1::GroupHeartbeatResponse told = Beat(a.member_id(), a.assignment());
  Beat(a.member_id(), told.assignment());
  const v1::GroupHeartbeatResponse b_now = Beat(b.member_id());
  ASSERT_EQ(b_now.assignment_size(), 1);
  const int32_t moved = b_now.assignment(0).partitions(0);
  c = Commit(a.member_id(), told.generation(), "orders", moved, 50);
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_STALE_GENERATION);
  EXPECT_EQ(
      c.results(0).error_message(),
      absl::StrCat("member '", a.member_id(), "' does not own orders-", moved, " (generation 2)"));
  EXPECT_EQ(Commit(b.member_id(), b_now.generation(), "orders", moved, 51).results(0).error_code(),
            v1::ERROR_CODE_NONE);

  // Per-partition validation.
  c = Commit(b.member_id(), b_now.generation(), "orders", moved, -1);
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_INVALID_REQUEST);
  EXPECT_EQ(c.results(0).error_message(),
            absl::StrCat("offset must be >= 0, got -1 for orders-", moved));
  c = Commit(b.member_id(), b_now.generation(), "orders", moved, 1, std::string(4097, 'x'));
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_INVALID_REQUEST);
  EXPECT_EQ(Commit(b.member_id(), b_now.generation(), "orders", moved, 52, std::string(4096, 'x'))
                .results(0)
                .error_code(),
            v1::ERROR_CODE_NONE);

  // Nothing is acknowledged that is not durable.
  store_.set_fail_writes(true);
  v1::CommitOffsetsRequest failing;
  failing.set_group_id("g");
  failing.set_member_id(b.member_id());
  failing.set_generation(b_now.generation());
  v1::PartitionOffset* o = failing.add_offsets();
  o->set_topic("orders");
  o->set_partition(moved);
  o->set_offset(99);
  EXPECT_TRUE(absl::IsUnavailable(groups_->CommitOffsets(failing).status()));
  store_.set_fail_writes(false);
  EXPECT_EQ(Fetched("orders", moved), 52);

  // A coordinator restart forgets members, not offsets.
  Reopen();
  EXPECT_EQ(Fetched("orders", 1), 42);
  EXPECT_EQ(Fetched("orders", moved), 52);
  EXPECT_EQ(Beat(a.member_id()).error_code(), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  c = Commit(a.member_id(), told.generation(), "orders", 1, 43);
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  auto described = Describe();
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_EQ(described->state(), v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(described->generation(), 0);
  ASSERT_EQ(described->offsets_size(), 2);
  EXPECT_EQ(described->offsets(0).metadata(), "m");
  EXPECT_EQ(described->offsets(0).commit_timestamp_ms(), absl::ToUnixMillis(now_));
}

TEST_F(GroupCoordinatorTest, FetchOffsetsAllOrSome) {
  ASSERT_TRUE(Alter("users", 1, 5).ok());
  ASSERT_TRUE(Alter("orders", 3, 7).ok());
  v1::FetchOffsetsRequest r;
  r.set_group_id("g");
  auto all = groups_->FetchOffsets(r);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->offsets_size(), 2);
  EXPECT_EQ(all->offsets(0).topic(), "orders");
  EXPECT_EQ(all->offsets(1).topic(), "users");
  r.set_group_id("unknown");
  v1::TopicPartitions* tp = r.add_partitions();
  tp->set_topic("orders");
  tp->add_partitions(0);
  tp->add_partitions(3);
  auto some = groups_->FetchOffsets(r);
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->offsets_size(), 2);
  EXPECT_EQ(some->offsets(1).partition(), 3);
  EXPECT_EQ(some->offsets(1).offset(), -1);
  EXPECT_EQ(Fetched("orders", 3), 7);
}

TEST_F(GroupCoordinatorTest, AlterAndDeleteOnlyWhileEmpty) {
  EXPECT_TRUE(absl::IsNotFound(Delete()));
  EXPECT_EQ(Delete().message(), "group 'g' not found");
  ASSERT_TRUE(Alter("orders", 0, 10).ok());
  EXPECT_EQ(Fetched("orders", 0), 10);
  absl::Status s = Alter("orders", 4, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "partition 4 out of range for topic 'orders' (4 partitions)");
  s = Alter("nope", 0, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "topic 'nope' not found");
  s = Alter("orders", 0, -5);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "offset must be >= 0, got -5 for orders-0");

  const std::string a = Join().member_id();
  s = Alter("orders", 0, 11);
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_EQ(s.message(), "group 'g' has 1 live member(s): stop its consumers first");
  EXPECT_TRUE(absl::IsFailedPrecondition(Delete()));
  v1::LeaveGroupRequest leave;
  leave.set_group_id("g");
  leave.set_member_id(a);
  ASSERT_TRUE(groups_->LeaveGroup(leave).ok());
  ASSERT_TRUE(Delete().ok());
  EXPECT_EQ(Fetched("orders", 0), -1);
  EXPECT_TRUE(groups_->ListGroups().groups().empty());
  Reopen();
  EXPECT_EQ(Fetched("orders", 0), -1);
}

TEST_F(GroupCoordinatorTest, ListAndDescribe) {
  ASSERT_TRUE(Alter("orders", 0, 1, "offsets-only").ok());
  const v1::GroupHeartbeatResponse a = Settle(Join("live").member_id(), "live");
  auto list = groups_->ListGroups();
  ASSERT_EQ(list.groups_size(), 2);
  EXPECT_EQ(list.groups(0).group_id(), "live");
  EXPECT_EQ(list.groups(0).state(), v1::GROUP_STATE_STABLE);
  EXPECT_EQ(list.groups(0).members(), 1);
  EXPECT_EQ(list.groups(0).assignor(), "cooperative-sticky");
  EXPECT_EQ(list.groups(1).group_id(), "offsets-only");
  EXPECT_EQ(list.groups(1).state(), v1::GROUP_STATE_EMPTY);
  EXPECT_EQ(list.groups(1).assignor(), "");

  now_ += absl::Milliseconds(1500);
  auto described = Describe("live");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->group_id(), "live");
  EXPECT_EQ(described->generation(), 1);
  ASSERT_EQ(described->members_size(), 1);
  const v1::GroupMember& m = described->members(0);
  EXPECT_EQ(m.member_id(), a.member_id());
  EXPECT_EQ(m.client_id(), "app");
  EXPECT_EQ(m.client_host(), "10.0.0.1");
  ASSERT_EQ(m.subscribed_topics_size(), 1);
  EXPECT_EQ(m.assignment(0).partitions_size(), 4);
  EXPECT_EQ(m.owned_partitions(0).partitions_size(), 4);
  EXPECT_EQ(m.millis_since_heartbeat(), 1500);
}

TEST_F(GroupCoordinatorTest, TopicChangesRebalanceSubscribedGroups) {
  const std::string a = Settle(Join("g", {"orders", "later"}).member_id()).member_id();
  ASSERT_TRUE(Alter("users", 0, 3, "other").ok());
  EXPECT_EQ(Describe()->generation(), 1);

  groups_->TopicChanged(Topic("later", 3, 2));  // created
  EXPECT_EQ(Describe()->generation(), 2);
  groups_->TopicChanged(Topic("users", 2, 2));  // not subscribed, unchanged
  EXPECT_EQ(Describe()->generation(), 2);
  groups_->TopicChanged(Topic("orders", 1, 6));  // grown
  EXPECT_EQ(Describe()->generation(), 3);
  v1::GroupHeartbeatResponse r = Settle(a);
  ASSERT_EQ(r.assignment_size(), 2);
  EXPECT_EQ(r.assignment(0).topic(), "later");
  EXPECT_EQ(r.assignment(1).partitions_size(), 6);
  ASSERT_EQ(Commit(a, r.generation(), "orders", 5, 9).results(0).error_code(), v1::ERROR_CODE_NONE);

  // Deleted: the group rebalances and the topic's offsets go, for all groups.
  groups_->TopicDeleted("orders");
  EXPECT_EQ(Describe()->generation(), 4);
  EXPECT_EQ(Fetched("orders", 5), -1);
  groups_->TopicDeleted("users");
  EXPECT_TRUE(absl::IsNotFound(Describe("other").status()));
  // Re-created: starts without offsets, also after a restart.
  topics_ = {Topic("orders", 4, 6), Topic("later", 3, 2)};
  groups_->TopicChanged(topics_[0]);
  EXPECT_EQ(Fetched("orders", 5), -1);
  Reopen();
  EXPECT_EQ(Fetched("orders", 5), -1);
}

// A member holding a partition of a topic deleted under it cannot commit it.
TEST_F(GroupCoordinatorTest, CommitToADeletedTopicIsRefused) {
  const v1::GroupHeartbeatResponse a = Settle(Join().member_id());
  groups_->TopicDeleted("orders");
  const v1::CommitOffsetsResponse c = Commit(a.member_id(), a.generation(), "orders", 0, 1);
  EXPECT_EQ(c.results(0).error_code(), v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION);
}

}  // namespace
}  // namespace runnel::coordinator::groups

namespace runnel::coordinator::groups {
namespace {

TEST_F(GroupCoordinatorTest, StatsCountMembersOffsetsAndRebalances) {
  EXPECT_TRUE(groups_->Stats().groups.empty());
  ASSERT_TRUE(Alter("orders", 2, 7, "offsets-only").ok());
  const v1::GroupHeartbeatResponse a = Settle(Join().member_id());  // generation 1
  Join();                                                           // generation 2
  ASSERT_EQ(Commit(a.member_id(), a.generation(), "orders", a.assignment(0).partitions(0), 5)
                .results(0)
                .error_code(),
            v1::ERROR_CODE_NONE);
  GroupsStats stats = groups_->Stats();
  ASSERT_EQ(stats.groups.size(), 2u);
  EXPECT_EQ(stats.groups[0].group_id, "g");
  EXPECT_EQ(stats.groups[0].members, 2);
  EXPECT_EQ(stats.groups[0].generation, 2);
  EXPECT_EQ(stats.groups[0].state, v1::GROUP_STATE_RECONCILING);
  ASSERT_EQ(stats.groups[0].offsets.size(), 1u);
  EXPECT_EQ(stats.groups[0].offsets[0].offset.offset(), 5);
  EXPECT_EQ(stats.groups[0].offsets[0].topic_id, 1u);
  EXPECT_EQ(stats.groups[1].group_id, "offsets-only");
  EXPECT_EQ(stats.groups[1].members, 0);
  EXPECT_EQ(stats.groups[1].state, v1::GROUP_STATE_EMPTY);
  ASSERT_EQ(stats.groups[1].offsets.size(), 1u);
  EXPECT_EQ(stats.groups[1].offsets[0].offset.partition(), 2);
  EXPECT_EQ(stats.rebalances, 2);
  // A deleted group's rebalances still count: the total is a counter.
  ASSERT_TRUE(Delete("offsets-only").ok());
  EXPECT_EQ(groups_->Stats().rebalances, 2);
}

}  // namespace
}  // namespace runnel::coordinator::groups
