#include "client/admin.h"

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

}  // namespace
}  // namespace runnel::client
