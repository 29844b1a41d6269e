#include "coordinator/server/services.h"

#include <utility>

#include "common/client_host.h"
#include "common/grpc_status.h"

namespace runnel::coordinator {
namespace {

// Moves a successful result into the gRPC response, or maps the error.
template <typename T>
grpc::Status Reply(absl::StatusOr<T> result, T* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = std::move(*result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status CoordinatorService::RegisterBroker(grpc::ServerContext*,
                                                const v1::RegisterBrokerRequest* request,
                                                v1::RegisterBrokerResponse* response) {
  return Reply(core_->RegisterBroker(*request), response);
}

grpc::Status CoordinatorService::BrokerHeartbeat(grpc::ServerContext*,
                                                 const v1::BrokerHeartbeatRequest* request,
                                                 v1::BrokerHeartbeatResponse* response) {
  return Reply(core_->BrokerHeartbeat(*request), response);
}

grpc::Status CoordinatorService::GetClusterMetadata(grpc::ServerContext*,
                                                    const v1::GetClusterMetadataRequest*,
                                                    v1::ClusterMetadata* response) {
  *response = core_->GetClusterMetadata();
  return grpc::Status::OK;
}

grpc::Status CoordinatorService::AlterPartition(grpc::ServerContext*,
                                                const v1::AlterPartitionRequest* request,
                                                v1::AlterPartitionResponse* response) {
  return Reply(core_->AlterPartition(*request), response);
}

grpc::Status CoordinatorService::ControlledShutdown(grpc::ServerContext*,
                                                    const v1::ControlledShutdownRequest* request,
                                                    v1::ControlledShutdownResponse* response) {
  return Reply(core_->ControlledShutdown(*request), response);
}

grpc::Status AdminService::CreateTopic(grpc::ServerContext*, const v1::CreateTopicRequest* request,
                                       v1::CreateTopicResponse* response) {
  return Reply(core_->CreateTopic(*request), response);
}

grpc::Status AdminService::DeleteTopic(grpc::ServerContext*, const v1::DeleteTopicRequest* request,
                                       v1::DeleteTopicResponse*) {
  return ToGrpcStatus(core_->DeleteTopic(*request));
}

grpc::Status AdminService::ListTopics(grpc::ServerContext*, const v1::ListTopicsRequest*,
                                      v1::ListTopicsResponse* response) {
  *response = core_->ListTopics();
  return grpc::Status::OK;
}

grpc::Status AdminService::DescribeTopic(grpc::ServerContext*,
                                         const v1::DescribeTopicRequest* request,
                                         v1::DescribeTopicResponse* response) {
  return Reply(core_->DescribeTopic(*request), response);
}

grpc::Status AdminService::DescribeCluster(grpc::ServerContext*, const v1::DescribeClusterRequest*,
                                           v1::DescribeClusterResponse* response) {
  *response = core_->DescribeCluster();
  return grpc::Status::OK;
}

grpc::Status AdminService::AlterTopicConfig(grpc::ServerContext*,
                                            const v1::AlterTopicConfigRequest* request,
                                            v1::AlterTopicConfigResponse* response) {
  return Reply(core_->AlterTopicConfig(*request), response);
}

grpc::Status AdminService::CreatePartitions(grpc::ServerContext*,
                                            const v1::CreatePartitionsRequest* request,
                                            v1::CreatePartitionsResponse* response) {
  return Reply(core_->CreatePartitions(*request), response);
}

grpc::Status AdminService::ReassignPartitions(grpc::ServerContext*,
                                              const v1::ReassignPartitionsRequest* request,
                                              v1::ReassignPartitionsResponse* response) {
  return Reply(core_->ReassignPartitions(*request), response);
}

grpc::Status AdminService::ListReassignments(grpc::ServerContext*,
                                             const v1::ListReassignmentsRequest*,
                                             v1::ListReassignmentsResponse* response) {
  *response = core_->ListReassignments();
  return grpc::Status::OK;
}

grpc::Status AdminService::BalanceCluster(grpc::ServerContext*,
                                          const v1::BalanceClusterRequest* request,
                                          v1::BalanceClusterResponse* response) {
  return Reply(core_->BalanceCluster(*request), response);
}

grpc::Status GroupsService::GroupHeartbeat(grpc::ServerContext* context,
                                           const v1::GroupHeartbeatRequest* request,
                                           v1::GroupHeartbeatResponse* response) {
  return Reply(groups_->GroupHeartbeat(*request, ClientHost(*context)), response);
}

grpc::Status GroupsService::LeaveGroup(grpc::ServerContext*, const v1::LeaveGroupRequest* request,
                                       v1::LeaveGroupResponse*) {
  return ToGrpcStatus(groups_->LeaveGroup(*request));
}

grpc::Status GroupsService::CommitOffsets(grpc::ServerContext*,
                                          const v1::CommitOffsetsRequest* request,
                                          v1::CommitOffsetsResponse* response) {
  return Reply(groups_->CommitOffsets(*request), response);
}

grpc::Status GroupsService::FetchOffsets(grpc::ServerContext*,
                                         const v1::FetchOffsetsRequest* request,
                                         v1::FetchOffsetsResponse* response) {
  return Reply(groups_->FetchOffsets(*request), response);
}

grpc::Status GroupsService::ListGroups(grpc::ServerContext*, const v1::ListGroupsRequest*,
                                       v1::ListGroupsResponse* response) {
  *response = groups_->ListGroups();
  return grpc::Status::OK;
}

grpc::Status GroupsService::DescribeGroup(grpc::ServerContext*,
                                          const v1::DescribeGroupRequest* request,
                                          v1::DescribeGroupResponse* response) {
  return Reply(groups_->DescribeGroup(*request), response);
}

grpc::Status GroupsService::AlterGroupOffsets(grpc::ServerContext*,
                                              const v1::AlterGroupOffsetsRequest* request,
                                              v1::AlterGroupOffsetsResponse*) {
  return ToGrpcStatus(groups_->AlterGroupOffsets(*request));
}

grpc::Status GroupsService::DeleteGroup(grpc::ServerContext*, const v1::DeleteGroupRequest* request,
                                        v1::DeleteGroupResponse*) {
  return ToGrpcStatus(groups_->DeleteGroup(*request));
}

}  // namespace runnel::coordinator
