// Starts the coordinator's gRPC server in-process on 127.0.0.1:0 and talks to
// it through a real channel: checks wiring and status-code mapping, not the
// logic (the core's tests cover that).
#include "coordinator/server/coordinator_server.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/store/memory_store.h"
#include "gtest/gtest.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/coordinator.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::coordinator {
namespace {

class CoordinatorServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CoordinatorOptions core_options;
    core_options.session_timeout = session_timeout_;
    auto core = Coordinator::Open(&store_, core_options);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.tick_interval = absl::Milliseconds(20);
    auto server = CoordinatorServer::Start(core_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    coordinator_stub_ = v1::Coordinator::NewStub(channel_);
    admin_stub_ = v1::Admin::NewStub(channel_);
    groups_stub_ = v1::Groups::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
  }

  grpc::Status RegisterBroker(int32_t id, v1::RegisterBrokerResponse* response) {
    grpc::ClientContext context;
    v1::RegisterBrokerRequest request;
    request.set_broker_id(id);
    request.set_address(absl::StrCat("127.0.0.1:", 9090 + id));
    return coordinator_stub_->RegisterBroker(&context, request, response);
  }

  grpc::Status CreateTopic(const std::string& name, int32_t partitions, int32_t rf,
                           v1::CreateTopicResponse* response) {
    grpc::ClientContext context;
    v1::CreateTopicRequest request;
    request.set_name(name);
    request.set_partitions(partitions);
    request.set_replication_factor(rf);
    return admin_stub_->CreateTopic(&context, request, response);
  }

  // Short, so that SilentBrokerIsFencedInTheBackground is quick.
  absl::Duration session_timeout_ = absl::Milliseconds(300);
  store::MemoryStore store_;
  std::unique_ptr<Coordinator> core_;
  std::unique_ptr<CoordinatorServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Coordinator::Stub> coordinator_stub_;
  std::unique_ptr<v1::Admin::Stub> admin_stub_;
  std::unique_ptr<v1::Groups::Stub> groups_stub_;
};

TEST_F(CoordinatorServerTest, ListensOnTheChosenPort) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->address(), absl::StrCat("127.0.0.1:", server_->port()));
}

TEST_F(CoordinatorServerTest, CreateAndDescribeTopicThroughARealChannel) {
  v1::RegisterBrokerResponse registered;
  ASSERT_TRUE(RegisterBroker(1, &registered).ok());
  EXPECT_EQ(registered.broker_epoch(), 1);
  EXPECT_EQ(registered.session_timeout_ms(), 300);
  EXPECT_EQ(registered.cluster_id(), core_->cluster_id());

  v1::CreateTopicResponse created;
  grpc::Status s = CreateTopic("orders", 3, 1, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.topic().partitions_size(), 3);

  grpc::ClientContext context;
  v1::DescribeTopicRequest request;
  request.set_name("orders");
  v1::DescribeTopicResponse described;
  s = admin_stub_->DescribeTopic(&context, request, &described);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(described.topic().SerializeAsString(), created.topic().SerializeAsString());

  grpc::ClientContext list_context;
  v1::ListTopicsResponse list;
  ASSERT_TRUE(admin_stub_->ListTopics(&list_context, v1::ListTopicsRequest(), &list).ok());
  ASSERT_EQ(list.names_size(), 1);

  grpc::ClientContext cluster_context;
  v1::DescribeClusterResponse cluster;
  ASSERT_TRUE(
      admin_stub_->DescribeCluster(&cluster_context, v1::DescribeClusterRequest(), &cluster).ok());
  ASSERT_EQ(cluster.brokers_size(), 1);
  EXPECT_EQ(cluster.brokers(0).partitions_led(), 3);

  grpc::ClientContext alter_context;
  v1::AlterTopicConfigRequest alter;
  alter.set_name("orders");
  (*alter.mutable_set())["retention.ms"] = "1000";
  v1::AlterTopicConfigResponse altered;
  s = admin_stub_->AlterTopicConfig(&alter_context, alter, &altered);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(altered.topic().configs().at("retention.ms"), "1000");

  grpc::ClientContext bad_context;
  (*alter.mutable_set())["retention.ms"] = "soon";
  s = admin_stub_->AlterTopicConfig(&bad_context, alter, &altered);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("invalid value 'soon' for topic config 'retention.ms'", 0), 0u)
      << s.error_message();
}

TEST_F(CoordinatorServerTest, ErrorsMapToGrpcCodes) {
  v1::CreateTopicResponse created;
  grpc::Status s = CreateTopic("t", 1, 3, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "replication factor 3 exceeds the 0 live broker(s)");
  EXPECT_EQ(CreateTopic("a b", 1, 1, &created).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::ClientContext context;
  v1::DescribeTopicRequest request;
  request.set_name("nope");
  v1::DescribeTopicResponse described;
  s = admin_stub_->DescribeTopic(&context, request, &described);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "topic 'nope' not found");

  grpc::ClientContext alter_context;
  v1::AlterTopicConfigRequest alter;
  alter.set_name("nope");
  v1::AlterTopicConfigResponse altered;
  s = admin_stub_->AlterTopicConfig(&alter_context, alter, &altered);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "topic 'nope' not found");

  grpc::ClientContext hb_context;
  v1::BrokerHeartbeatRequest hb;
  hb.set_broker_id(5);
  v1::BrokerHeartbeatResponse hb_response;
  EXPECT_EQ(coordinator_stub_->BrokerHeartbeat(&hb_context, hb, &hb_response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(CoordinatorServerTest, SilentBrokerIsFencedInTheBackground) {
  v1::RegisterBrokerResponse registered;
  ASSERT_TRUE(RegisterBroker(1, &registered).ok());
  // No heartbeats: the tick thread must fence it soon after 300 ms.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  v1::BrokerState state = v1::BROKER_STATE_ALIVE;
  while (state == v1::BROKER_STATE_ALIVE && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
    grpc::ClientContext context;
    v1::ClusterMetadata metadata;
    ASSERT_TRUE(
        coordinator_stub_->GetClusterMetadata(&context, v1::GetClusterMetadataRequest(), &metadata)
            .ok());
    ASSERT_EQ(metadata.brokers_size(), 1);
    state = metadata.brokers(0).state();
  }
  EXPECT_EQ(state, v1::BROKER_STATE_FENCED);
}

// With sessions that do not expire during the test.
class CoordinatorServerReplicationTest : public CoordinatorServerTest {
 protected:
  CoordinatorServerReplicationTest() { session_timeout_ = absl::Minutes(1); }

  grpc::Status AlterPartition(const v1::AlterPartitionRequest& request,
                              v1::AlterPartitionResponse* response) {
    grpc::ClientContext context;
    return coordinator_stub_->AlterPartition(&context, request, response);
  }
};

TEST_F(CoordinatorServerReplicationTest, AlterPartitionThroughARealChannel) {
  std::map<int32_t, int64_t> epochs;
  for (int32_t id = 1; id <= 2; ++id) {
    v1::RegisterBrokerResponse registered;
    ASSERT_TRUE(RegisterBroker(id, &registered).ok());
    epochs[id] = registered.broker_epoch();
  }
  v1::CreateTopicResponse created;
  ASSERT_TRUE(CreateTopic("orders", 1, 2, &created).ok());
  const v1::PartitionInfo& p = created.topic().partitions(0);
  const int32_t leader = p.leader();
  const int32_t follower = p.replicas(0) == leader ? p.replicas(1) : p.replicas(0);

  v1::AlterPartitionRequest request;
  request.set_broker_id(leader);
  request.set_broker_epoch(epochs[leader]);
  request.set_topic_id(created.topic().topic_id());
  request.set_partition(0);
  request.set_leader_epoch(p.leader_epoch());
  request.set_partition_epoch(p.partition_epoch());
  request.add_new_isr(leader);
  v1::AlterPartitionResponse response;
  grpc::Status s = AlterPartition(request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.partition().leader(), leader);
  EXPECT_EQ(response.partition().leader_epoch(), p.leader_epoch());
  EXPECT_EQ(response.partition().partition_epoch(), p.partition_epoch() + 1);
  EXPECT_EQ(
      std::vector<int32_t>(response.partition().isr().begin(), response.partition().isr().end()),
      std::vector<int32_t>{leader});

  // Resending it is stale now: refused, with the reason.
  s = AlterPartition(request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("partition epoch ", p.partition_epoch(),
                                            " of orders-0 is not the current partition epoch ",
                                            p.partition_epoch() + 1));

  v1::AlterPartitionRequest from_follower = request;
  from_follower.set_broker_id(follower);
  from_follower.set_broker_epoch(epochs[follower]);
  s = AlterPartition(from_follower, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("broker ", follower,
                                            " is not the leader of orders-0 "
                                            "(leader is broker ",
                                            leader, ")"));

  v1::AlterPartitionRequest duplicate = request;
  duplicate.set_partition_epoch(p.partition_epoch() + 1);
  duplicate.add_new_isr(leader);
  EXPECT_EQ(AlterPartition(duplicate, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::AlterPartitionRequest unknown = request;
  unknown.set_topic_id(created.topic().topic_id() + 1);
  s = AlterPartition(unknown, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), absl::StrCat("topic id ", unknown.topic_id(), " not found"));

  // The committed change is what brokers see in the metadata.
  grpc::ClientContext context;
  v1::ClusterMetadata metadata;
  ASSERT_TRUE(
      coordinator_stub_->GetClusterMetadata(&context, v1::GetClusterMetadataRequest(), &metadata)
          .ok());
  ASSERT_EQ(metadata.topics_size(), 1);
  EXPECT_EQ(metadata.topics(0).partitions(0).isr_size(), 1);
  EXPECT_EQ(metadata.topics(0).partitions(0).partition_epoch(), p.partition_epoch() + 1);
}

TEST_F(CoordinatorServerReplicationTest, CreatePartitionsThroughARealChannel) {
  v1::RegisterBrokerResponse registered;
  ASSERT_TRUE(RegisterBroker(1, &registered).ok());
  v1::CreateTopicResponse created;
  ASSERT_TRUE(CreateTopic("orders", 2, 1, &created).ok());

  grpc::ClientContext context;
  v1::CreatePartitionsRequest request;
  request.set_name("orders");
  request.set_total_count(5);
  v1::CreatePartitionsResponse grown;
  grpc::Status s = admin_stub_->CreatePartitions(&context, request, &grown);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(grown.topic().partitions_size(), 5);

  grpc::ClientContext again;
  s = admin_stub_->CreatePartitions(&again, request, &grown);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "total_count must be larger than the current partition count 5 of topic 'orders', "
            "got 5");
}

// The Groups service is wired, maps errors, and records the caller's host
// (or the one a forwarding broker passes).
TEST_F(CoordinatorServerReplicationTest, GroupsThroughARealChannel) {
  v1::RegisterBrokerResponse registered;
  ASSERT_TRUE(RegisterBroker(1, &registered).ok());
  v1::CreateTopicResponse created;
  ASSERT_TRUE(CreateTopic("orders", 2, 1, &created).ok());

  v1::GroupHeartbeatRequest join;
  join.set_group_id("billing");
  join.set_client_id("app-1");
  join.add_subscribed_topics("orders");
  v1::GroupHeartbeatResponse joined;
  {
    grpc::ClientContext context;
    context.AddMetadata("runnel-client-host", "10.1.2.3");
    grpc::Status s = groups_stub_->GroupHeartbeat(&context, join, &joined);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(joined.error_code(), v1::ERROR_CODE_NONE);
  EXPECT_FALSE(joined.member_id().empty());
  EXPECT_EQ(joined.generation(), 1);
  ASSERT_EQ(joined.assignment_size(), 1);
  EXPECT_EQ(joined.assignment(0).partitions_size(), 2);

  v1::GroupHeartbeatRequest second = join;
  second.set_client_id("app-2");
  v1::GroupHeartbeatResponse second_joined;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(groups_stub_->GroupHeartbeat(&context, second, &second_joined).ok());
  }

  v1::CommitOffsetsRequest commit;
  commit.set_group_id("billing");
  commit.set_member_id(joined.member_id());
  commit.set_generation(joined.generation());
  v1::PartitionOffset* offset = commit.add_offsets();
  offset->set_topic("orders");
  offset->set_partition(0);
  offset->set_offset(42);
  v1::CommitOffsetsResponse committed;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(groups_stub_->CommitOffsets(&context, commit, &committed).ok());
  }
  ASSERT_EQ(committed.results_size(), 1);
  EXPECT_EQ(committed.results(0).error_code(), v1::ERROR_CODE_NONE)
      << committed.results(0).error_message();

  v1::DescribeGroupRequest describe;
  describe.set_group_id("billing");
  v1::DescribeGroupResponse described;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(groups_stub_->DescribeGroup(&context, describe, &described).ok());
  }
  EXPECT_EQ(described.state(), v1::GROUP_STATE_RECONCILING);
  EXPECT_EQ(described.generation(), 2);
  EXPECT_EQ(described.assignor(), "cooperative-sticky");
  ASSERT_EQ(described.members_size(), 2);
  std::map<std::string, std::string> hosts;
  for (const v1::GroupMember& m : described.members()) hosts[m.client_id()] = m.client_host();
  EXPECT_EQ(hosts["app-1"], "10.1.2.3");
  EXPECT_EQ(hosts["app-2"], "127.0.0.1");
  ASSERT_EQ(described.offsets_size(), 1);
  EXPECT_EQ(described.offsets(0).offset(), 42);

  // Request-wide errors are gRPC statuses naming the field.
  v1::GroupHeartbeatRequest bad = join;
  bad.set_group_id("no spaces");
  v1::GroupHeartbeatResponse refused;
  {
    grpc::ClientContext context;
    grpc::Status s = groups_stub_->GroupHeartbeat(&context, bad, &refused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message().rfind("invalid group_id 'no spaces'", 0), 0u) << s.error_message();
  }
  {
    grpc::ClientContext context;
    v1::DeleteGroupResponse deleted;
    v1::DeleteGroupRequest del;
    del.set_group_id("billing");
    EXPECT_EQ(groups_stub_->DeleteGroup(&context, del, &deleted).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    v1::ListGroupsResponse list;
    ASSERT_TRUE(groups_stub_->ListGroups(&context, v1::ListGroupsRequest(), &list).ok());
    ASSERT_EQ(list.groups_size(), 1);
    EXPECT_EQ(list.groups(0).members(), 2);
  }
}

// grpc.health.v1.Health/Check with an empty request; the response
// HealthCheckResponse{status: SERVING} encodes as the two bytes 08 01.
TEST_F(CoordinatorServerTest, HealthServiceReportsServing) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  auto call = stub.PrepareUnaryCall(&context, "/grpc.health.v1.Health/Check", request, &cq);
  call->StartCall();
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  ASSERT_TRUE(ok);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
  cq.Shutdown();
}

TEST_F(CoordinatorServerTest, SecondServerOnTheSamePortFailsClearly) {
  ServerOptions options;
  options.listen_address = server_->address();
  auto second = CoordinatorServer::Start(core_.get(), options);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsUnavailable(second.status()));
  EXPECT_EQ(
      second.status().message().rfind(absl::StrCat("cannot listen on ", server_->address()), 0), 0u)
      << second.status();
}

TEST_F(CoordinatorServerTest, ShutdownIsIdempotent) {
  server_->Shutdown(absl::Milliseconds(100));
  server_->Shutdown(absl::Milliseconds(100));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  v1::ListTopicsResponse list;
  EXPECT_FALSE(admin_stub_->ListTopics(&context, v1::ListTopicsRequest(), &list).ok());
}

}  // namespace
}  // namespace runnel::coordinator
