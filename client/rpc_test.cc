#include "client/rpc.h"

#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/admin.grpc.pb.h"

namespace runnel::client {
namespace {

using testing::FakeCluster;
namespace v1 = runnel::v1;

TEST(ForwardingTargetTest, StartsAtTheBootstrapAndMovesOnWhenItFails) {
  FakeCluster cluster(3);
  cluster.CreateTopic("t", 1);
  auto metadata = std::make_shared<MetadataCache>(cluster.Options());
  ASSERT_TRUE(metadata->Refresh().ok());  // learns brokers 1-3
  ForwardingTarget target(metadata);
  EXPECT_EQ(target.Current(), cluster.Address(1));

  cluster.SetBrokerDown(1, true);
  auto failed =
      target.Call(&v1::Admin::Stub::ListTopics, v1::ListTopicsRequest(), absl::Seconds(5));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(failed.status().message().rfind("broker " + cluster.Address(1) + ": ", 0), 0u)
      << failed.status();
  EXPECT_EQ(target.Current(), cluster.Address(2));
  auto answered =
      target.Call(&v1::Admin::Stub::ListTopics, v1::ListTopicsRequest(), absl::Seconds(5));
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->names_size(), 1);

  // A stale report (someone else moved on already) changes nothing; the
  // last broker wraps around to the first.
  target.Failed(cluster.Address(1));
  EXPECT_EQ(target.Current(), cluster.Address(2));
  target.Failed(cluster.Address(2));
  target.Failed(cluster.Address(3));
  EXPECT_EQ(target.Current(), cluster.Address(1));
}

TEST(ForwardingTargetTest, WithOnlyTheBootstrapKnownStaysThere) {
  FakeCluster cluster(2);
  ForwardingTarget target(std::make_shared<MetadataCache>(cluster.Options()));
  target.Failed(cluster.Address(1));
  EXPECT_EQ(target.Current(), cluster.Address(1));
}

}  // namespace
}  // namespace runnel::client
