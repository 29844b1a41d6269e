#include "client/admin.h"

#include <map>

#include "client/errors.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;

TEST(AdminTest, CreateListDescribeDelete) {
  FakeCluster cluster(2);
  Admin admin(cluster.Options());
  auto created = admin.CreateTopic("orders", 3, 2, {{"retention.ms", "1000"}});
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->topic().partitions_size(), 3);
  EXPECT_EQ(created->topic().replication_factor(), 2);
  // Visible to the metadata cache at once, so a producer finds it.
  EXPECT_TRUE(admin.metadata().Leader("orders", 2).ok());

  ASSERT_TRUE(admin.CreateTopic("audit", 1).ok());
  auto list = admin.ListTopics();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->names_size(), 2);
  EXPECT_EQ(list->names(0), "audit");
  EXPECT_EQ(list->names(1), "orders");

  auto described = admin.DescribeTopic("orders");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->topic().configs().at("retention.ms"), "1000");

  ASSERT_TRUE(admin.DeleteTopic("orders").ok());
  EXPECT_EQ(admin.DescribeTopic("orders").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(admin.metadata().Topic("orders").status().code(), absl::StatusCode::kNotFound);
}

TEST(AdminTest, ServerErrorsKeepCodeAndMessage) {
  FakeCluster cluster(1);
  Admin admin(cluster.Options());
  ASSERT_TRUE(admin.CreateTopic("orders", 1).ok());
  auto again = admin.CreateTopic("orders", 1);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message(), "topic 'orders' already exists");
  EXPECT_EQ(admin.CreateTopic("zero", 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.CreateTopic("wide", 1, 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto missing = admin.DeleteTopic("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "topic 'nope' not found");
}

TEST(AdminTest, AlterTopicConfigSetsResetsAndRefreshesTheCache) {
  FakeCluster cluster(1);
  Admin admin(cluster.Options());
  ASSERT_TRUE(admin.CreateTopic("orders", 1, 1, {{"cleanup.policy", "compact"}}).ok());
  ASSERT_TRUE(admin.metadata().Topic("orders").ok());  // cached with the old configs
  auto altered = admin.AlterTopicConfig("orders", {{"retention.ms", "1000"}}, {"cleanup.policy"});
  ASSERT_TRUE(altered.ok()) << altered.status();
  EXPECT_EQ(altered->topic().configs_size(), 1);
  EXPECT_EQ(altered->topic().configs().at("retention.ms"), "1000");
  auto cached = admin.metadata().Topic("orders");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->configs().count("cleanup.policy"), 0u);

  auto missing = admin.AlterTopicConfig("nope", {{"retention.ms", "1"}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "topic 'nope' not found");
}

TEST(AdminTest, CreatePartitionsGrowsATopicVisibly) {
  FakeCluster cluster(2);
  Admin admin(cluster.Options());
  ASSERT_TRUE(admin.CreateTopic("orders", 2).ok());
  ASSERT_TRUE(admin.metadata().Topic("orders").ok());  // cached with 2 partitions
  auto grown = admin.CreatePartitions("orders", 5);
  ASSERT_TRUE(grown.ok()) << grown.status();
  EXPECT_EQ(grown->topic().partitions_size(), 5);
  EXPECT_EQ(admin.metadata().Topic("orders")->partitions_size(), 5);
  EXPECT_TRUE(admin.metadata().Leader("orders", 4).ok());
  auto shrink = admin.CreatePartitions("orders", 3);
  EXPECT_EQ(shrink.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.CreatePartitions("nope", 3).status().code(), absl::StatusCode::kNotFound);
}

TEST(AdminTest, ListOffsetsOnTheLeaders) {
  FakeCluster cluster(2);
  cluster.CreateTopic("t", 2);
  cluster.Append("t", 0, {"a", "b"}, 1000);
  cluster.Append("t", 1, {"c"}, 3000);
  Admin admin(cluster.Options());
  auto found = admin.ListOffsets({{{"t", 0}, runnel::v1::OFFSET_SPEC_LATEST},
                                  {{"t", 1}, runnel::v1::OFFSET_SPEC_EARLIEST},
                                  {{"t", 1}, runnel::v1::OFFSET_SPEC_TIMESTAMP, 5000}});
  ASSERT_TRUE(found.ok()) << found.status();
  // A partition asked twice gets its last query's answer.
  EXPECT_EQ(*found, (std::map<TopicPartition, int64_t>{{{"t", 0}, 2}, {{"t", 1}, 1}}));
  EXPECT_EQ(admin.ListOffsets({{{"t", 9}}}).status().message(),
            "partition 9 out of range for topic 't' (2 partitions: 0-1)");
}

TEST(AdminTest, GroupOffsetsListDescribeAndDelete) {
  FakeCluster cluster(1);
  cluster.CreateTopic("t", 2);
  Admin admin(cluster.Options());
  auto empty = admin.ListGroups();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->groups_size(), 0);
  EXPECT_EQ(admin.DescribeGroup("g").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(admin.AlterGroupOffsets("g", {{{"t", 0}, 5}, {{"t", 1}, 7}}).ok());
  auto offsets = admin.FetchGroupOffsets("g");
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ(*offsets, (std::map<TopicPartition, int64_t>{{{"t", 0}, 5}, {{"t", 1}, 7}}));
  auto some = admin.FetchGroupOffsets("g", {{"t", 1}, {"other", 0}});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, (std::map<TopicPartition, int64_t>{{{"other", 0}, -1}, {{"t", 1}, 7}}));
  EXPECT_EQ(admin.AlterGroupOffsets("g", {{{"t", 0}, -1}}).code(),
            absl::StatusCode::kInvalidArgument);

  auto list = admin.ListGroups();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->groups_size(), 1);
  EXPECT_EQ(list->groups(0).group_id(), "g");
  EXPECT_EQ(list->groups(0).state(), runnel::v1::GROUP_STATE_EMPTY);
  auto described = admin.DescribeGroup("g");
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->offsets_size(), 2);
  EXPECT_EQ(described->members_size(), 0);

  ASSERT_TRUE(admin.DeleteGroup("g").ok());
  EXPECT_EQ(admin.DeleteGroup("g").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*admin.FetchGroupOffsets("g", {{"t", 0}}),
            (std::map<TopicPartition, int64_t>{{{"t", 0}, -1}}));
}

TEST(AdminTest, DescribeCluster) {
  FakeCluster cluster(2);
  cluster.CreateTopic("orders", 4);
  Admin admin(cluster.Options());
  auto info = admin.DescribeCluster();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->cluster_id(), "fake-cluster");
  ASSERT_EQ(info->brokers_size(), 2);
  EXPECT_EQ(info->brokers(0).broker().address(), cluster.Address(1));
  EXPECT_EQ(info->brokers(0).partitions_led(), 2);
}

TEST(AdminTest, UnreachableBootstrap) {
  FakeCluster cluster(1);
  ClientOptions options = cluster.Options();
  options.bootstrap = "fake-broker-9:9092";  // no such broker
  Admin admin(options);
  absl::Status s = admin.ListTopics().status();
  EXPECT_TRUE(IsBootstrapUnreachable(s)) << s;
  EXPECT_EQ(s.message().rfind("cannot reach bootstrap broker fake-broker-9:9092: ", 0), 0u)
      << s.message();
}

// A broker that cannot reach the coordinator for a moment (it just
// restarted) answers UNAVAILABLE: retried, so the call succeeds.
TEST(AdminTest, RetriesWhileTheBrokerCannotReachTheCoordinator) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 1);
  Admin admin(cluster.Options());
  cluster.SetCoordinatorUnreachable(3);
  absl::StatusOr<v1::ListTopicsResponse> list = admin.ListTopics();
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->names_size(), 1);
  EXPECT_EQ(list->names(0), "orders");
}

// ... but not forever: after connect_timeout the broker's answer stands.
TEST(AdminTest, GivesUpOnAnUnreachableCoordinatorAfterConnectTimeout) {
  FakeCluster cluster(1);
  ClientOptions options = cluster.Options();
  options.connect_timeout = absl::Milliseconds(400);
  Admin admin(options);
  cluster.SetCoordinatorUnreachable(1000000);
  const absl::Time start = absl::Now();
  absl::Status s = admin.ListTopics().status();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("coordinator unreachable from this broker"), std::string::npos)
      << s.message();
  EXPECT_GE(took, absl::Milliseconds(400));
  EXPECT_LT(took, absl::Seconds(5));
}

}  // namespace
}  // namespace runnel::client
