#include "coordinator/server/services.h"

#include <utility>

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

}  // namespace runnel::coordinator
