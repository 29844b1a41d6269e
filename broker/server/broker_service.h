// The broker's gRPC edge: the public Broker (data plane) and Admin services.
// Data-plane calls go to the ReplicaManager; Admin calls are forwarded to the
// coordinator, so clients need only one bootstrap address. Handlers stay
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

namespace runnel::server {

class BrokerService final : public runnel::v1::Broker::Service {
 public:
  BrokerService(replication::ReplicaManager* replicas, cluster::MetadataCache* metadata,
                cluster::CoordinatorLink* link);

  grpc::Status Produce(grpc::ServerContext* ctx, const runnel::v1::ProduceRequest* req,
                       runnel::v1::ProduceResponse* resp) override;
  grpc::Status Fetch(grpc::ServerContext* ctx, const runnel::v1::FetchRequest* req,
                     runnel::v1::FetchResponse* resp) override;
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

 private:
  // Calls `method` on the coordinator's Admin stub with the caller's deadline
  // (capped) and maps an unreachable coordinator to a clear UNAVAILABLE.
  template <typename Req, typename Resp, typename Method>
  grpc::Status Forward(grpc::ServerContext* ctx, Method method, const Req& req, Resp* resp,
                       bool refresh_after);

  cluster::CoordinatorLink* const link_;
  const absl::Duration timeout_;
};

}  // namespace runnel::server

#endif  // RUNNEL_BROKER_SERVER_BROKER_SERVICE_H_
