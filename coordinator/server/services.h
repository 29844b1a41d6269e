// The coordinator's gRPC edge: runnel.v1.Coordinator (for brokers),
// runnel.v1.Admin and runnel.v1.Groups, each handler forwarding to the core
// Coordinator (or its GroupCoordinator) and mapping its absl::Status to a
// grpc::Status. No logic lives here.
// Ownership: the services borrow the Coordinator, which must outlive them.
// Thread-safety: thread-safe (the Coordinator is).
#ifndef RUNNEL_COORDINATOR_SERVER_SERVICES_H_
#define RUNNEL_COORDINATOR_SERVER_SERVICES_H_

#include "coordinator/core/coordinator.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/coordinator.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::coordinator {

class CoordinatorService final : public v1::Coordinator::Service {
 public:
  explicit CoordinatorService(Coordinator* core) : core_(core) {}

  grpc::Status RegisterBroker(grpc::ServerContext* context,
                              const v1::RegisterBrokerRequest* request,
                              v1::RegisterBrokerResponse* response) override;
  grpc::Status BrokerHeartbeat(grpc::ServerContext* context,
                               const v1::BrokerHeartbeatRequest* request,
                               v1::BrokerHeartbeatResponse* response) override;
  grpc::Status GetClusterMetadata(grpc::ServerContext* context,
                                  const v1::GetClusterMetadataRequest* request,
                                  v1::ClusterMetadata* response) override;
  grpc::Status AlterPartition(grpc::ServerContext* context,
                              const v1::AlterPartitionRequest* request,
                              v1::AlterPartitionResponse* response) override;
  grpc::Status ControlledShutdown(grpc::ServerContext* context,
                                  const v1::ControlledShutdownRequest* request,
                                  v1::ControlledShutdownResponse* response) override;

 private:
  Coordinator* core_;
};

class AdminService final : public v1::Admin::Service {
 public:
  explicit AdminService(Coordinator* core) : core_(core) {}

  grpc::Status CreateTopic(grpc::ServerContext* context, const v1::CreateTopicRequest* request,
                           v1::CreateTopicResponse* response) override;
  grpc::Status DeleteTopic(grpc::ServerContext* context, const v1::DeleteTopicRequest* request,
                           v1::DeleteTopicResponse* response) override;
  grpc::Status ListTopics(grpc::ServerContext* context, const v1::ListTopicsRequest* request,
                          v1::ListTopicsResponse* response) override;
  grpc::Status DescribeTopic(grpc::ServerContext* context, const v1::DescribeTopicRequest* request,
                             v1::DescribeTopicResponse* response) override;
  grpc::Status DescribeCluster(grpc::ServerContext* context,
                               const v1::DescribeClusterRequest* request,
                               v1::DescribeClusterResponse* response) override;
  grpc::Status AlterTopicConfig(grpc::ServerContext* context,
                                const v1::AlterTopicConfigRequest* request,
                                v1::AlterTopicConfigResponse* response) override;
  grpc::Status CreatePartitions(grpc::ServerContext* context,
                                const v1::CreatePartitionsRequest* request,
                                v1::CreatePartitionsResponse* response) override;
  grpc::Status ReassignPartitions(grpc::ServerContext* context,
                                  const v1::ReassignPartitionsRequest* request,
                                  v1::ReassignPartitionsResponse* response) override;
  grpc::Status ListReassignments(grpc::ServerContext* context,
                                 const v1::ListReassignmentsRequest* request,
                                 v1::ListReassignmentsResponse* response) override;
  grpc::Status BalanceCluster(grpc::ServerContext* context,
                              const v1::BalanceClusterRequest* request,
                              v1::BalanceClusterResponse* response) override;

 private:
  Coordinator* core_;
};

class GroupsService final : public v1::Groups::Service {
 public:
  explicit GroupsService(Coordinator* core) : groups_(core->groups()) {}

  // The member's client_host is the forwarding broker's view of the client
  // (common/client_host.h), or the caller's address.
  grpc::Status GroupHeartbeat(grpc::ServerContext* context,
                              const v1::GroupHeartbeatRequest* request,
                              v1::GroupHeartbeatResponse* response) override;
  grpc::Status LeaveGroup(grpc::ServerContext* context, const v1::LeaveGroupRequest* request,
                          v1::LeaveGroupResponse* response) override;
  grpc::Status CommitOffsets(grpc::ServerContext* context, const v1::CommitOffsetsRequest* request,
                             v1::CommitOffsetsResponse* response) override;
  grpc::Status FetchOffsets(grpc::ServerContext* context, const v1::FetchOffsetsRequest* request,
                            v1::FetchOffsetsResponse* response) override;
  grpc::Status ListGroups(grpc::ServerContext* context, const v1::ListGroupsRequest* request,
                          v1::ListGroupsResponse* response) override;
  grpc::Status DescribeGroup(grpc::ServerContext* context, const v1::DescribeGroupRequest* request,
                             v1::DescribeGroupResponse* response) override;
  grpc::Status AlterGroupOffsets(grpc::ServerContext* context,
                                 const v1::AlterGroupOffsetsRequest* request,
                                 v1::AlterGroupOffsetsResponse* response) override;
  grpc::Status DeleteGroup(grpc::ServerContext* context, const v1::DeleteGroupRequest* request,
                           v1::DeleteGroupResponse* response) override;

 private:
  groups::GroupCoordinator* groups_;
};

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_SERVER_SERVICES_H_
