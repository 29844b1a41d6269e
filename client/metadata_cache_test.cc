#include "client/metadata_cache.h"

#include "client/errors.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;

TEST(MetadataCacheTest, CachesTopicsUntilInvalidated) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 3);
  MetadataCache cache(cluster.Options());
  absl::StatusOr<runnel::v1::TopicInfo> topic = cache.Topic("orders");
  ASSERT_TRUE(topic.ok()) << topic.status();
  EXPECT_EQ(topic->partitions_size(), 3);
  const int calls = cluster.metadata_calls();
  ASSERT_TRUE(cache.Topic("orders").ok());
  EXPECT_EQ(cluster.metadata_calls(), calls);
  cache.Invalidate("orders");
  ASSERT_TRUE(cache.Topic("orders").ok());
  EXPECT_EQ(cluster.metadata_calls(), calls + 1);
  EXPECT_EQ(cache.cluster_id(), "fake-cluster");
  EXPECT_EQ(cache.Brokers().size(), 1u);
}

TEST(MetadataCacheTest, UnknownTopic) {
  FakeCluster cluster(1);
  MetadataCache cache(cluster.Options());
  absl::StatusOr<runnel::v1::TopicInfo> topic = cache.Topic("nope");
  EXPECT_EQ(topic.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(topic.status().message(), "topic 'nope' not found");
}

TEST(MetadataCacheTest, FindsLeadersAndFollowsMoves) {
  FakeCluster cluster(3);
  cluster.CreateTopic("orders", 3);
  MetadataCache cache(cluster.Options());
  absl::StatusOr<PartitionLeader> leader = cache.Leader("orders", 1);
  ASSERT_TRUE(leader.ok()) << leader.status();
  EXPECT_EQ(leader->broker_id, 2);
  EXPECT_EQ(leader->address, cluster.Address(2));
  EXPECT_EQ(leader->leader_epoch, 0);

  cluster.SetLeader("orders", 1, 3);
  EXPECT_EQ(cache.Leader("orders", 1)->broker_id, 2);  // cached until told otherwise
  cache.Invalidate("orders");
  leader = cache.Leader("orders", 1);
  ASSERT_TRUE(leader.ok());
  EXPECT_EQ(leader->broker_id, 3);
  EXPECT_EQ(leader->leader_epoch, 1);
}

TEST(MetadataCacheTest, AGrownTopicIsRefreshedForItsNewPartitions) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 1);
  MetadataCache cache(cluster.Options());
  ASSERT_TRUE(cache.Leader("orders", 0).ok());
  cluster.AddPartitions("orders", 3);
  absl::StatusOr<PartitionLeader> leader = cache.Leader("orders", 2);
  ASSERT_TRUE(leader.ok()) << leader.status();
  EXPECT_EQ(cache.Topic("orders")->partitions_size(), 3);
}

TEST(MetadataCacheTest, RefreshesTopicsOlderThanTheMaxAge) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 1);
  ClientOptions options = cluster.Options();
  options.metadata_max_age = absl::Milliseconds(50);
  MetadataCache cache(options);
  ASSERT_TRUE(cache.Topic("orders").ok());
  cluster.AddPartitions("orders", 2);
  EXPECT_EQ(cache.Topic("orders")->partitions_size(), 1);  // still fresh
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(cache.Topic("orders")->partitions_size(), 2);
}

TEST(MetadataCacheTest, PartitionOutOfRange) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 3);
  MetadataCache cache(cluster.Options());
  absl::StatusOr<PartitionLeader> leader = cache.Leader("orders", 5);
  EXPECT_EQ(leader.status().message(),
            "partition 5 out of range for topic 'orders' (3 partitions: 0-2)");
}

TEST(MetadataCacheTest, OfflinePartitionIsRetriable) {
  FakeCluster cluster(1);
  cluster.CreateTopic("orders", 1);
  cluster.SetLeader("orders", 0, -1);
  MetadataCache cache(cluster.Options());
  absl::StatusOr<PartitionLeader> leader = cache.Leader("orders", 0);
  EXPECT_EQ(ErrorCodeOf(leader.status()), runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE);
  EXPECT_TRUE(IsRetriable(leader.status()));
  cluster.SetLeader("orders", 0, 1);
  EXPECT_TRUE(cache.Leader("orders", 0).ok());  // refreshed because it was stale
}

TEST(MetadataCacheTest, FallsBackToOtherBrokersWhenBootstrapIsDown) {
  FakeCluster cluster(2);
  cluster.CreateTopic("orders", 1);
  MetadataCache cache(cluster.Options());
  ASSERT_TRUE(cache.Refresh().ok());
  cluster.SetBrokerDown(1, true);
  EXPECT_TRUE(cache.Refresh({"orders"}).ok());
}

TEST(MetadataCacheTest, AllBrokersDownNamesThem) {
  FakeCluster cluster(2);
  MetadataCache cache(cluster.Options());
  ASSERT_TRUE(cache.Refresh().ok());
  cluster.SetBrokerDown(1, true);
  cluster.SetBrokerDown(2, true);
  absl::Status s = cache.Refresh();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("fake-broker-2:9092"), absl::string_view::npos) << s.message();
  EXPECT_FALSE(IsBootstrapUnreachable(s));
}

TEST(MetadataCacheTest, UnreachableBootstrapNamesTheAddress) {
  // A real socket on loopback: port 1 refuses connections.
  ClientOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.connect_timeout = absl::Seconds(3);
  MetadataCache cache(options);
  absl::Status s = cache.Refresh();
  EXPECT_TRUE(IsBootstrapUnreachable(s));
  EXPECT_EQ(s.message().rfind("cannot reach bootstrap broker 127.0.0.1:1: ", 0), 0u)
      << s.message();
  EXPECT_TRUE(IsBootstrapUnreachable(cache.CheckBootstrap()));
  EXPECT_TRUE(IsBootstrapUnreachable(cache.Topic("orders").status()));
}

TEST(RetryLoopTest, RetriesRetriableFailuresUpToTheLimit) {
  ClientOptions options;
  options.retry_backoff = absl::Milliseconds(1);
  options.retry_backoff_max = absl::Milliseconds(1);
  options.max_retries = 3;
  int calls = 0;
  absl::Status s = RetryLoop(options, [&] {
    ++calls;
    return absl::UnavailableError("down");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(calls, 4);  // one try plus three retries

  calls = 0;
  s = RetryLoop(options, [&] {
    return ++calls < 3 ? absl::UnavailableError("down") : absl::OkStatus();
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(calls, 3);

  calls = 0;
  s = RetryLoop(options, [&] {
    ++calls;
    return absl::NotFoundError("gone");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace runnel::client
