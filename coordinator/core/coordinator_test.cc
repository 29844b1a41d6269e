#include "coordinator/core/coordinator.h"

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/core/coordinator_fixture.h"
#include "coordinator/store/memory_store.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {
namespace {

class CoordinatorTest : public CoordinatorFixture {};

TEST_F(CoordinatorTest, FirstStartCreatesAndPersistsClusterId) {
  const std::string id = coordinator_->cluster_id();
  EXPECT_EQ(id.size(), 22u);
  EXPECT_EQ(coordinator_->metadata_version(), 1);
  Reopen();
  EXPECT_EQ(coordinator_->cluster_id(), id);
  EXPECT_EQ(coordinator_->metadata_version(), 1);

  store::MemoryStore other;
  auto c = Coordinator::Open(&other, CoordinatorOptions());
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*c)->cluster_id(), id);
}

TEST_F(CoordinatorTest, RegisterReturnsEpochSessionAndClusterId) {
  v1::RegisterBrokerRequest request;
  request.set_broker_id(1);
  request.set_address("127.0.0.1:9091");  // as Register(1) does
  auto response = coordinator_->RegisterBroker(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->broker_epoch(), 1);
  EXPECT_EQ(response->session_timeout_ms(), 6000);
  EXPECT_EQ(response->cluster_id(), coordinator_->cluster_id());
  EXPECT_EQ(Register(1), 2);
}

TEST_F(CoordinatorTest, HeartbeatReportsMetadataVersionAsItChanges) {
  const int64_t epoch = Register(1);
  auto hb = Heartbeat(1, epoch);
  ASSERT_TRUE(hb.ok()) << hb.status();
  const int64_t before = hb->metadata_version();
  EXPECT_EQ(before, coordinator_->metadata_version());
  ASSERT_TRUE(Create("t", 1, 1).ok());
  EXPECT_EQ(Heartbeat(1, epoch)->metadata_version(), before + 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(Heartbeat(1, epoch + 1).status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(Heartbeat(2, 1).status()));
}

TEST_F(CoordinatorTest, TopicLifecycle) {
  EXPECT_TRUE(absl::IsFailedPrecondition(Create("t", 1, 1).status()));  // no brokers yet
  for (int id = 1; id <= 3; ++id) Register(id);
  auto created = Create("orders", 6, 3);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->topic().partitions_size(), 6);
  EXPECT_EQ(created->topic().topic_id(), 1u);
  ASSERT_TRUE(Create("audit", 1, 0).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(Create("orders", 1, 1).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(Create("bad name", 1, 1).status()));

  auto described = Describe("orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->topic().SerializeAsString(), created->topic().SerializeAsString());

  auto list = coordinator_->ListTopics();
  EXPECT_EQ(std::vector<std::string>(list.names().begin(), list.names().end()),
            (std::vector<std::string>{"audit", "orders"}));

  v1::DeleteTopicRequest del;
  del.set_name("orders");
  ASSERT_TRUE(coordinator_->DeleteTopic(del).ok());
  EXPECT_TRUE(absl::IsNotFound(coordinator_->DeleteTopic(del)));
  auto gone = Describe("orders");
  EXPECT_TRUE(absl::IsNotFound(gone.status()));
  EXPECT_EQ(gone.status().message(), "topic 'orders' not found");
  EXPECT_EQ(coordinator_->ListTopics().names_size(), 1);
}

TEST_F(CoordinatorTest, ClusterMetadataHasEverything) {
  Register(1, "a");
  Register(2, "b");
  ASSERT_TRUE(Create("t", 2, 2).ok());
  v1::ClusterMetadata md = coordinator_->GetClusterMetadata();
  EXPECT_EQ(md.version(), coordinator_->metadata_version());
  EXPECT_EQ(md.cluster_id(), coordinator_->cluster_id());
  ASSERT_EQ(md.brokers_size(), 2);
  EXPECT_EQ(md.brokers(0).id(), 1);
  EXPECT_EQ(md.brokers(0).rack(), "a");
  EXPECT_EQ(md.brokers(1).state(), v1::BROKER_STATE_ALIVE);
  ASSERT_EQ(md.topics_size(), 1);
  EXPECT_EQ(md.topics(0).name(), "t");
}

TEST_F(CoordinatorTest, DescribeClusterCountsLedAndFollowedPartitions) {
  for (int id = 1; id <= 3; ++id) Register(id);
  Register(4);
  ASSERT_TRUE(Create("t", 6, 2).ok());  // placed before broker 4 is fenced: 4 gets some too
  now_ += kSession - absl::Seconds(1);
  for (int id = 1; id <= 3; ++id) ASSERT_TRUE(Heartbeat(id, 1).ok());
  now_ += absl::Seconds(2);
  ASSERT_EQ(*coordinator_->ExpireSessions(), std::vector<int32_t>{4});

  v1::DescribeClusterResponse cluster = coordinator_->DescribeCluster();
  EXPECT_EQ(cluster.cluster_id(), coordinator_->cluster_id());
  ASSERT_EQ(cluster.brokers_size(), 4);
  int led = 0, followed = 0;
  for (const v1::BrokerSummary& b : cluster.brokers()) {
    led += b.partitions_led();
    followed += b.partitions_followed();
  }
  EXPECT_EQ(led, 6);
  EXPECT_EQ(followed, 6);
  // Fenced broker 4's leaderships failed over; it keeps its 3 replicas.
  EXPECT_EQ(cluster.brokers(3).partitions_led(), 0);
  EXPECT_EQ(cluster.brokers(3).partitions_followed(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_GE(cluster.brokers(i).partitions_led(), 1) << i;
  EXPECT_EQ(cluster.brokers(3).broker().state(), v1::BROKER_STATE_FENCED);
  EXPECT_EQ(cluster.brokers(0).broker().state(), v1::BROKER_STATE_ALIVE);
}

TEST_F(CoordinatorTest, FencedBrokersReceiveNoNewReplicas) {
  for (int id = 1; id <= 3; ++id) Register(id);
  now_ += kSession + absl::Seconds(1);
  EXPECT_TRUE(absl::IsFailedPrecondition(Heartbeat(1, 1).status()));  // too late: fenced now
  Register(1);
  Register(2);
  ASSERT_TRUE(coordinator_->ExpireSessions().ok());  // fences 3
  auto too_many = Create("t", 1, 3);
  EXPECT_TRUE(absl::IsFailedPrecondition(too_many.status()));
  EXPECT_EQ(too_many.status().message(), "replication factor 3 exceeds the 2 live broker(s)");
  auto created = Create("t", 4, 2);
  ASSERT_TRUE(created.ok());
  for (const v1::PartitionInfo& p : created->topic().partitions()) {
    for (int32_t r : p.replicas()) EXPECT_NE(r, 3);
  }
}

TEST_F(CoordinatorTest, RestartKeepsStateAndGivesBrokersAGracePeriod) {
  const int64_t epoch = Register(1);
  Register(2);
  ASSERT_TRUE(Create("t", 2, 2).ok());
  const int64_t version = coordinator_->metadata_version();
  const std::string cluster_id = coordinator_->cluster_id();

  now_ += absl::Minutes(5);  // coordinator down much longer than a session
  Reopen();
  EXPECT_EQ(coordinator_->cluster_id(), cluster_id);
  EXPECT_EQ(coordinator_->metadata_version(), version);
  EXPECT_TRUE(coordinator_->ExpireSessions()->empty());
  auto hb = Heartbeat(1, epoch);
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->metadata_version(), version);
  EXPECT_TRUE(Describe("t").ok());
  EXPECT_EQ(Register(1), epoch + 1);
  EXPECT_EQ(Create("u", 1, 1)->topic().topic_id(), 2u);
}

TEST_F(CoordinatorTest, AlterTopicConfigIsPersistedAndReachesBrokersViaTheVersion) {
  const int64_t epoch = Register(1);
  v1::CreateTopicRequest create;
  create.set_name("orders");
  create.set_partitions(1);
  (*create.mutable_configs())["cleanup.policy"] = "compact";
  ASSERT_TRUE(coordinator_->CreateTopic(create).ok());
  const int64_t before = Heartbeat(1, epoch)->metadata_version();

  auto altered = Alter("orders", {{"retention.ms", "1000"}}, {"cleanup.policy"});
  ASSERT_TRUE(altered.ok()) << altered.status();
  const std::map<std::string, std::string> expected = {{"retention.ms", "1000"}};
  const auto& configs = altered->topic().configs();
  EXPECT_EQ((std::map<std::string, std::string>(configs.begin(), configs.end())), expected);
  // A broker learns of the change from its heartbeat, then pulls the metadata.
  EXPECT_EQ(Heartbeat(1, epoch)->metadata_version(), before + 1);
  v1::ClusterMetadata md = coordinator_->GetClusterMetadata();
  ASSERT_EQ(md.topics_size(), 1);
  EXPECT_EQ(md.topics(0).configs().at("retention.ms"), "1000");

  Reopen();
  EXPECT_EQ(ConfigsOf("orders"), expected);
  EXPECT_EQ(coordinator_->metadata_version(), before + 1);
}

TEST_F(CoordinatorTest, RefusedAlterTopicConfigLeavesTheTopicAsItWas) {
  Register(1);
  ASSERT_TRUE(Create("orders", 1, 1).ok());
  ASSERT_TRUE(Alter("orders", {{"max.message.bytes", "2000"}}).ok());
  const int64_t version = coordinator_->metadata_version();

  auto missing = Alter("nope", {{"retention.ms", "1"}});
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_EQ(missing.status().message(), "topic 'nope' not found");

  // One bad value spoils the whole request: the valid retention.ms is not applied either.
  auto bad = Alter("orders", {{"retention.ms", "1"}, {"max.message.bytes", "-5"}});
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_EQ(bad.status().message(),
            "invalid value '-5' for topic config 'max.message.bytes': expected a number of bytes "
            "from 1 to 2147483647");
  auto unknown = Alter("orders", {}, {"retention.msec"});
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status()));
  EXPECT_EQ(unknown.status().message().rfind("unknown topic config 'retention.msec' (known: ", 0),
            0u);

  EXPECT_EQ(ConfigsOf("orders"),
            (std::map<std::string, std::string>{{"max.message.bytes", "2000"}}));
  EXPECT_EQ(coordinator_->metadata_version(), version);
}

TEST_F(CoordinatorTest, ConcurrentCreatesGetDistinctIds) {
  Register(1);
  std::vector<std::thread> threads;
  std::vector<uint64_t> ids(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([this, i, &ids] {
      auto created = Create(absl::StrCat("t", i), 2, 1);
      ids[i] = created.ok() ? created->topic().topic_id() : 0;
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<uint64_t> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), 8u);
  EXPECT_EQ(distinct.count(0), 0u);
  EXPECT_EQ(coordinator_->ListTopics().names_size(), 8);
}

// A member of group "g" subscribed to `topic`, heartbeating until it owns
// its assignment; returns the last response.
v1::GroupHeartbeatResponse JoinAndSettle(groups::GroupCoordinator* groups,
                                         const std::string& topic) {
  v1::GroupHeartbeatRequest request;
  request.set_group_id("g");
  request.add_subscribed_topics(topic);
  auto response = groups->GroupHeartbeat(request, "host");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return {};
  request.clear_subscribed_topics();
  request.set_member_id(response->member_id());
  for (int i = 0; i < 2; ++i) {
    *request.mutable_owned_partitions() = response->assignment();
    response = groups->GroupHeartbeat(request, "host");
    EXPECT_TRUE(response.ok()) << response.status();
  }
  return *response;
}

int AssignedCount(const v1::GroupHeartbeatResponse& response) {
  int n = 0;
  for (const v1::TopicPartitions& tp : response.assignment()) n += tp.partitions_size();
  return n;
}

TEST_F(CoordinatorTest, CreatePartitionsGrowsTheTopicAndRebalancesGroups) {
  Register(1);
  Register(2);
  ASSERT_TRUE(Create("orders", 2, 2).ok());
  const v1::GroupHeartbeatResponse member = JoinAndSettle(coordinator_->groups(), "orders");
  ASSERT_EQ(AssignedCount(member), 2);
  const int64_t version = coordinator_->metadata_version();

  v1::CreatePartitionsRequest request;
  request.set_name("orders");
  request.set_total_count(4);
  auto grown = coordinator_->CreatePartitions(request);
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(grown->topic().partitions_size(), 4);
  // Brokers learn of the new partitions through the version.
  EXPECT_EQ(coordinator_->metadata_version(), version + 1);
  EXPECT_EQ(coordinator_->GetClusterMetadata().topics(0).partitions_size(), 4);
  // The subscribed group rebalanced onto them.
  const v1::GroupHeartbeatResponse after = JoinAndSettle(coordinator_->groups(), "orders");
  EXPECT_EQ(after.generation(), member.generation() + 2);  // grown, then joined
  v1::DescribeGroupRequest describe;
  describe.set_group_id("g");
  auto described = coordinator_->groups()->DescribeGroup(describe);
  ASSERT_TRUE(described.ok());
  int assigned = 0;
  for (const v1::GroupMember& m : described->members()) {
    for (const v1::TopicPartitions& tp : m.assignment()) assigned += tp.partitions_size();
  }
  EXPECT_EQ(assigned, 4);

  request.set_total_count(4);
  EXPECT_TRUE(absl::IsInvalidArgument(coordinator_->CreatePartitions(request).status()));
  request.set_name("nope");
  request.set_total_count(8);
  EXPECT_TRUE(absl::IsNotFound(coordinator_->CreatePartitions(request).status()));
  EXPECT_EQ(coordinator_->metadata_version(), version + 1);
}

TEST_F(CoordinatorTest, GroupOffsetsSurviveRestartWithoutBumpingTheMetadataVersion) {
  Register(1);
  ASSERT_TRUE(Create("orders", 1, 1).ok());
  const v1::GroupHeartbeatResponse member = JoinAndSettle(coordinator_->groups(), "orders");
  const int64_t version = coordinator_->metadata_version();
  v1::CommitOffsetsRequest commit;
  commit.set_group_id("g");
  commit.set_member_id(member.member_id());
  commit.set_generation(member.generation());
  v1::PartitionOffset* offset = commit.add_offsets();
  offset->set_topic("orders");
  offset->set_offset(17);
  auto committed = coordinator_->groups()->CommitOffsets(commit);
  ASSERT_TRUE(committed.ok());
  ASSERT_EQ(committed->results(0).error_code(), v1::ERROR_CODE_NONE);
  EXPECT_EQ(coordinator_->metadata_version(), version);

  Reopen();
  v1::FetchOffsetsRequest fetch;
  fetch.set_group_id("g");
  auto fetched = coordinator_->groups()->FetchOffsets(fetch);
  ASSERT_TRUE(fetched.ok());
  ASSERT_EQ(fetched->offsets_size(), 1);
  EXPECT_EQ(fetched->offsets(0).offset(), 17);

  // Deleting the topic drops them; a topic re-created under the name starts
  // without.
  v1::DeleteTopicRequest del;
  del.set_name("orders");
  ASSERT_TRUE(coordinator_->DeleteTopic(del).ok());
  ASSERT_TRUE(Create("orders", 1, 1).ok());
  Reopen();
  fetched = coordinator_->groups()->FetchOffsets(fetch);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->offsets_size(), 0);
}

TEST_F(CoordinatorTest, TickExpiresGroupMembers) {
  Register(1);
  ASSERT_TRUE(Create("orders", 1, 1).ok());
  JoinAndSettle(coordinator_->groups(), "orders");
  Advance(absl::Seconds(11));  // the group session timeout is 10 s by default
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(coordinator_->groups()->ListGroups().groups_size(), 0);
}

}  // namespace
}  // namespace runnel::coordinator
