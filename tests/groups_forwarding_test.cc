// Consumer groups and CreatePartitions through a real broker: the broker
// forwards Groups and Admin calls to the coordinator with their statuses and
// the client's address, serves the partitions CreatePartitions adds, and
// committed offsets survive a coordinator restart while memberships do not.
// Raw gRPC stubs, so that it checks the wire contract, not a client library.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  return context;
}

TEST(GroupsForwardingTest, GroupsAndCreatePartitionsThroughABroker) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  auto channel = grpc::CreateChannel(cluster.bootstrap(), grpc::InsecureChannelCredentials());
  auto admin = v1::Admin::NewStub(channel);
  auto broker = v1::Broker::NewStub(channel);
  auto groups = v1::Groups::NewStub(channel);

  v1::CreateTopicRequest create;
  create.set_name("orders");
  create.set_partitions(2);
  v1::CreateTopicResponse created;
  ASSERT_TRUE(admin->CreateTopic(Context().get(), create, &created).ok());

  // CreatePartitions: forwarded, and the new partition is served here at once.
  v1::CreatePartitionsRequest grow;
  grow.set_name("orders");
  grow.set_total_count(3);
  v1::CreatePartitionsResponse grown;
  grpc::Status s = admin->CreatePartitions(Context().get(), grow, &grown);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(grown.topic().partitions_size(), 3);
  s = admin->CreatePartitions(Context().get(), grow, &grown);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "total_count must be larger than the current partition count 3 of topic 'orders', "
            "got 3");
  v1::ListOffsetsRequest list_offsets;
  v1::ListOffsetsPartition* p = list_offsets.add_partitions();
  p->set_topic("orders");
  p->set_partition(2);
  p->set_spec(v1::OFFSET_SPEC_LATEST);
  v1::ListOffsetsResponse offsets;
  ASSERT_TRUE(broker->ListOffsets(Context().get(), list_offsets, &offsets).ok());
  ASSERT_EQ(offsets.partitions_size(), 1);
  EXPECT_EQ(offsets.partitions(0).error_code(), v1::ERROR_CODE_NONE)
      << offsets.partitions(0).error_message();

  // Groups: join, describe (the client's address, not the broker's), commit.
  v1::GroupHeartbeatRequest join;
  join.set_group_id("billing");
  join.set_client_id("smoke");
  join.add_subscribed_topics("orders");
  v1::GroupHeartbeatResponse joined;
  s = groups->GroupHeartbeat(Context().get(), join, &joined);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(joined.error_code(), v1::ERROR_CODE_NONE) << joined.error_message();
  ASSERT_EQ(joined.assignment_size(), 1);
  EXPECT_EQ(joined.assignment(0).partitions_size(), 3);

  v1::DescribeGroupRequest describe;
  describe.set_group_id("billing");
  v1::DescribeGroupResponse described;
  ASSERT_TRUE(groups->DescribeGroup(Context().get(), describe, &described).ok());
  ASSERT_EQ(described.members_size(), 1);
  EXPECT_EQ(described.members(0).client_id(), "smoke");
  EXPECT_EQ(described.members(0).client_host(), "127.0.0.1");

  v1::CommitOffsetsRequest commit;
  commit.set_group_id("billing");
  commit.set_member_id(joined.member_id());
  commit.set_generation(joined.generation());
  v1::PartitionOffset* offset = commit.add_offsets();
  offset->set_topic("orders");
  offset->set_partition(2);
  offset->set_offset(5);
  v1::CommitOffsetsResponse committed;
  ASSERT_TRUE(groups->CommitOffsets(Context().get(), commit, &committed).ok());
  ASSERT_EQ(committed.results_size(), 1);
  EXPECT_EQ(committed.results(0).error_code(), v1::ERROR_CODE_NONE)
      << committed.results(0).error_message();

  // Errors keep their code and message through the broker.
  v1::GroupHeartbeatRequest bad = join;
  bad.set_group_id("bad id");
  v1::GroupHeartbeatResponse refused;
  s = groups->GroupHeartbeat(Context().get(), bad, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "invalid group_id 'bad id': use 1-249 characters from [A-Za-z0-9._-]");
  v1::DeleteGroupRequest del;
  del.set_group_id("billing");
  v1::DeleteGroupResponse deleted;
  EXPECT_EQ(groups->DeleteGroup(Context().get(), del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // A coordinator restart: the member must rejoin; the offset is still there.
  ASSERT_TRUE(cluster.RestartCoordinator().ok());
  v1::GroupHeartbeatRequest beat;
  beat.set_group_id("billing");
  beat.set_member_id(joined.member_id());
  v1::GroupHeartbeatResponse after;
  // Until the broker's channel reconnects, it answers UNAVAILABLE at once
  // (naming the coordinator); clients retry that, as here.
  for (absl::Time end = absl::Now() + absl::Seconds(10);; absl::SleepFor(absl::Milliseconds(100))) {
    s = groups->GroupHeartbeat(Context().get(), beat, &after);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > end) break;
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(after.error_code(), v1::ERROR_CODE_UNKNOWN_MEMBER_ID);
  v1::FetchOffsetsRequest fetch;
  fetch.set_group_id("billing");
  v1::FetchOffsetsResponse fetched;
  ASSERT_TRUE(groups->FetchOffsets(Context().get(), fetch, &fetched).ok());
  ASSERT_EQ(fetched.offsets_size(), 1);
  EXPECT_EQ(fetched.offsets(0).partition(), 2);
  EXPECT_EQ(fetched.offsets(0).offset(), 5);
  ASSERT_TRUE(groups->DeleteGroup(Context().get(), del, &deleted).ok());
}

}  // namespace
}  // namespace runnel::testing
