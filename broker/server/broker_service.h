// The broker's gRPC edge: the public Broker (data plane), Admin and Groups
// services. Data-plane calls go to the ReplicaManager; Admin and Groups calls
// are forwarded to the coordinator, so clients need only one bootstrap
// address. Handlers stay
// thin: they translate between gRPC and the core, nothing more.
//
// Ownership: borrows everything it is given; all must outlive the service.
// Thread-safety: gRPC calls handlers concurrently; they are thread-safe.
#ifndef RUNNEL_BROKER_SERVER_BROKER_SERVICE_H_
#define RUNNEL_BROKER_SERVER_BROKER_SERVICE_H_

#include "absl/time/time.h"
#include "broker/cluster/coordinator_link.h"
#include "broker/cluster/metadata_cache.h"
#include "broker/replication/replica_manager.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::server {

class BrokerService final : public runnel::v1::Broker::Service {
 public:
  BrokerService(replication::ReplicaManager* replicas, cluster::MetadataCache* metadata,
                cluster::CoordinatorLink* link);

  grpc::Status Produce(grpc::ServerContext* ctx, const runnel::v1::ProduceRequest* req,
                       runnel::v1::ProduceResponse* resp) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const runnel::v1::FetchRequest* req,
                     runnel::v1::FetchResponse* resp) override;
  grpc::Status FetchStream(grpc::ServerContext* ctx, const runnel::v1::FetchRequest* req,
                           grpc::ServerWriter<runnel::v1::FetchResponse>* writer) override;
  grpc::Status ListOffsets(grpc::ServerContext* ctx, const runnel::v1::ListOffsetsRequest* req,
                           runnel::v1::ListOffsetsResponse* resp) override;
  grpc::Status Metadata(grpc::ServerContext* ctx, const runnel::v1::MetadataRequest* req,
                        runnel::v1::MetadataResponse* resp) override;

 private:
  replication::ReplicaManager* const replicas_;
  cluster::MetadataCache* const metadata_;
  cluster::CoordinatorLink* const link_;
};

// Forwards every Admin call to the coordinator and, after a change, refreshes
// this broker's metadata so the caller's next request here sees it.
class AdminForwarder final : public runnel::v1::Admin::Service {
 public:
  AdminForwarder(cluster::CoordinatorLink* link, absl::Duration timeout);

  grpc::Status CreateTopic(grpc::ServerContext* ctx, const runnel::v1::CreateTopicRequest* req,
                           runnel::v1::CreateTopicResponse* resp) override;
  grpc::Status DeleteTopic(grpc::ServerContext* ctx, const runnel::v1::DeleteTopicRequest* req,
                           runnel::v1::DeleteTopicResponse* resp) override;
  grpc::Status ListTopics(grpc::ServerContext* ctx, const runnel::v1::ListTopicsRequest* req,
                          runnel::v1::ListTopicsResponse* resp) override;
  grpc::Status DescribeTopic(grpc::ServerContext* ctx,
                             const runnel::v1::DescribeTopicRequest* req,
                             runnel::v1::DescribeTopicResponse* resp) override;
  grpc::Status DescribeCluster(grpc::ServerContext* ctx,
                               const runnel::v1::DescribeClusterRequest* req,
                               runnel::v1::DescribeClusterResponse* resp) override;
  grpc::Status AlterTopicConfig(grpc::ServerContext* ctx,
                                const runnel::v1::AlterTopicConfigRequest* req,
                                runnel::v1::AlterTopicConfigResponse* resp) override;
  grpc::Status CreatePartitions(grpc::ServerContext* ctx,
                                const runnel::v1::CreatePartitionsRequest* req,
                                runnel::v1::CreatePartitionsResponse* resp) override;
  grpc::Status ReassignPartitions(grpc::ServerContext* ctx,
                                  const runnel::v1::ReassignPartitionsRequest* req,
                                  runnel::v1::ReassignPartitionsResponse* resp) override;
  grpc::Status ListReassignments(grpc::ServerContext* ctx,
                                 const runnel::v1::ListReassignmentsRequest* req,
                                 runnel::v1::ListReassignmentsResponse* resp) override;
  grpc::Status BalanceCluster(grpc::ServerContext* ctx,
                              const runnel::v1::BalanceClusterRequest* req,
                              runnel::v1::BalanceClusterResponse* resp) override;

 private:
  // Forwards one call (ForwardToCoordinator) and, if `refresh_after` and it
  // succeeded, refreshes this broker's metadata.
  template <typename Req, typename Resp, typename Method>
  grpc::Status Forward(grpc::ServerContext* ctx, Method method, const Req& req, Resp* resp,
                       bool refresh_after);

  cluster::CoordinatorLink* const link_;
  const absl::Duration timeout_;
};

// Forwards every Groups call to the coordinator, passing the client's address
// (common/client_host.h) so that DescribeGroup shows the client, not this
// broker. Statuses and per-member errors come back as the coordinator gave
// them.
class GroupsForwarder final : public runnel::v1::Groups::Service {
 public:
  GroupsForwarder(cluster::CoordinatorLink* link, absl::Duration timeout);

  grpc::Status GroupHeartbeat(grpc::ServerContext* ctx,
                              const runnel::v1::GroupHeartbeatRequest* req,
                              runnel::v1::GroupHeartbeatResponse* resp) override;
  grpc::Status LeaveGroup(grpc::ServerContext* ctx, const runnel::v1::LeaveGroupRequest* req,
                          runnel::v1::LeaveGroupResponse* resp) override;
  grpc::Status CommitOffsets(grpc::ServerContext* ctx, const runnel::v1::CommitOffsetsRequest* req,
                             runnel::v1::CommitOffsetsResponse* resp) override;
  grpc::Status FetchOffsets(grpc::ServerContext* ctx, const runnel::v1::FetchOffsetsRequest* req,
                            runnel::v1::FetchOffsetsResponse* resp) override;
  grpc::Status ListGroups(grpc::ServerContext* ctx, const runnel::v1::ListGroupsRequest* req,
                          runnel::v1::ListGroupsResponse* resp) override;
  grpc::Status DescribeGroup(grpc::ServerContext* ctx, const runnel::v1::DescribeGroupRequest* req,
                             runnel::v1::DescribeGroupResponse* resp) override;
  grpc::Status AlterGroupOffsets(grpc::ServerContext* ctx,
                                 const runnel::v1::AlterGroupOffsetsRequest* req,
                                 runnel::v1::AlterGroupOffsetsResponse* resp) override;
  grpc::Status DeleteGroup(grpc::ServerContext* ctx, const runnel::v1::DeleteGroupRequest* req,
                           runnel::v1::DeleteGroupResponse* resp) override;

 private:
  template <typename Req, typename Resp, typename Method>
  grpc::Status Forward(grpc::ServerContext* ctx, Method method, const Req& req, Resp* resp);

  cluster::CoordinatorLink* const link_;
  const absl::Duration timeout_;
};

}  // namespace runnel::server

#endif  // RUNNEL_BROKER_SERVER_BROKER_SERVICE_H_
