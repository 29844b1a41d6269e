#include "broker/server/broker_service.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/client_host.h"
#include "common/grpc_status.h"

namespace runnel::server {
namespace {

// Calls `method` on a coordinator stub with the caller's deadline (capped at
// `timeout`) and the client's address, and maps an unreachable coordinator to
// a clear UNAVAILABLE; any other status is the coordinator's own.
template <typename Stub, typename Req, typename Resp>
grpc::Status ForwardToCoordinator(grpc::ServerContext* ctx, absl::Duration timeout, Stub* stub,
                                  grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&,
                                                               Resp*),
                                  const Req& req, Resp* resp) {
  grpc::ClientContext out;
  out.set_deadline(std::min(ctx->deadline(), absl::ToChronoTime(absl::Now() + timeout)));
  out.AddMetadata(kClientHostHeader, HostOfPeer(ctx->peer()));
  grpc::Status s = (stub->*method)(&out, req, resp);
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return grpc::Status(
        grpc::StatusCode::UNAVAILABLE,
        absl::StrCat("coordinator unreachable from this broker: ", s.error_message()));
  }
  return s;
}

}  // namespace

BrokerService::BrokerService(replication::ReplicaManager* replicas,
                             cluster::MetadataCache* metadata, cluster::CoordinatorLink* link)
    : replicas_(replicas), metadata_(metadata), link_(link) {}

grpc::Status BrokerService::Produce(grpc::ServerContext*, const runnel::v1::ProduceRequest* req,
                                    runnel::v1::ProduceResponse* resp) {
  return ToGrpcStatus(replicas_->Produce(*req, resp));
}

grpc::Status BrokerService::Fetch(grpc::ServerContext*, const runnel::v1::FetchRequest* req,
                                  runnel::v1::FetchResponse* resp) {
  return ToGrpcStatus(replicas_->Fetch(*req, resp));
}

grpc::Status BrokerService::FetchStream(grpc::ServerContext* ctx,
                                        const runnel::v1::FetchRequest* req,
                                        grpc::ServerWriter<runnel::v1::FetchResponse>* writer) {
  // Write blocks while the client's flow-control window is full: that is
  // what keeps the broker from reading further ahead than the client reads.
  return ToGrpcStatus(replicas_->FetchStream(
      *req, [ctx] { return ctx->IsCancelled(); },
      [writer](const runnel::v1::FetchResponse& answer) { return writer->Write(answer); }));
}

grpc::Status BrokerService::ListOffsets(grpc::ServerContext*,
                                        const runnel::v1::ListOffsetsRequest* req,
                                        runnel::v1::ListOffsetsResponse* resp) {
  return ToGrpcStatus(replicas_->ListOffsets(*req, resp));
}

grpc::Status BrokerService::Metadata(grpc::ServerContext*, const runnel::v1::MetadataRequest* req,
                                     runnel::v1::MetadataResponse* resp) {
  auto snap = metadata_->Snapshot();
  // A topic created through another broker may not have reached us yet:
  // refresh once before saying it does not exist.
  for (const auto& name : req->topics()) {
    if (snap->FindTopic(name) == nullptr) {
      link_->RefreshNow().IgnoreError();
      snap = metadata_->Snapshot();
      break;
    }
  }
  const auto& md = snap->metadata();
  *resp->mutable_brokers() = md.brokers();
  resp->set_cluster_id(md.cluster_id());
  resp->set_metadata_version(md.version());
  if (req->topics().empty()) {
    *resp->mutable_topics() = md.topics();
    return grpc::Status::OK;
  }
  for (const auto& name : req->topics()) {
    const runnel::v1::TopicInfo* t = snap->FindTopic(name);
    if (t == nullptr) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("topic '", name, "' not found"));
    }
    *resp->add_topics() = *t;
  }
  return grpc::Status::OK;
}

AdminForwarder::AdminForwarder(cluster::CoordinatorLink* link, absl::Duration timeout)
    : link_(link), timeout_(timeout) {}

template <typename Req, typename Resp, typename Method>
grpc::Status AdminForwarder::Forward(grpc::ServerContext* ctx, Method method, const Req& req,
                                     Resp* resp, bool refresh_after) {
  grpc::Status s = ForwardToCoordinator(ctx, timeout_, link_->admin_stub(), method, req, resp);
  if (s.ok() && refresh_after) link_->RefreshNow().IgnoreError();
  return s;
}

grpc::Status AdminForwarder::CreateTopic(grpc::ServerContext* ctx,
                                         const runnel::v1::CreateTopicRequest* req,
                                         runnel::v1::CreateTopicResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::CreateTopic, *req, resp, true);
}

grpc::Status AdminForwarder::DeleteTopic(grpc::ServerContext* ctx,
                                         const runnel::v1::DeleteTopicRequest* req,
                                         runnel::v1::DeleteTopicResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::DeleteTopic, *req, resp, true);
}

grpc::Status AdminForwarder::ListTopics(grpc::ServerContext* ctx,
                                        const runnel::v1::ListTopicsRequest* req,
                                        runnel::v1::ListTopicsResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::ListTopics, *req, resp, false);
}

grpc::Status AdminForwarder::DescribeTopic(grpc::ServerContext* ctx,
                                           const runnel::v1::DescribeTopicRequest* req,
                                           runnel::v1::DescribeTopicResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::DescribeTopic, *req, resp, false);
}

grpc::Status AdminForwarder::DescribeCluster(grpc::ServerContext* ctx,
                                             const runnel::v1::DescribeClusterRequest* req,
                                             runnel::v1::DescribeClusterResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::DescribeCluster, *req, resp, false);
}

grpc::Status AdminForwarder::AlterTopicConfig(grpc::ServerContext* ctx,
                                              const runnel::v1::AlterTopicConfigRequest* req,
                                              runnel::v1::AlterTopicConfigResponse* resp) {
  // Refreshing applies the new configs here at once; other brokers follow at
  // their next heartbeat.
  return Forward(ctx, &runnel::v1::Admin::Stub::AlterTopicConfig, *req, resp, true);
}

grpc::Status AdminForwarder::CreatePartitions(grpc::ServerContext* ctx,
                                              const runnel::v1::CreatePartitionsRequest* req,
                                              runnel::v1::CreatePartitionsResponse* resp) {
  // Refreshing opens the new partitions placed here before the caller's next
  // request; other brokers follow at their next heartbeat.
  return Forward(ctx, &runnel::v1::Admin::Stub::CreatePartitions, *req, resp, true);
}

grpc::Status AdminForwarder::ReassignPartitions(grpc::ServerContext* ctx,
                                                const runnel::v1::ReassignPartitionsRequest* req,
                                                runnel::v1::ReassignPartitionsResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::ReassignPartitions, *req, resp, true);
}

grpc::Status AdminForwarder::ListReassignments(grpc::ServerContext* ctx,
                                               const runnel::v1::ListReassignmentsRequest* req,
                                               runnel::v1::ListReassignmentsResponse* resp) {
  return Forward(ctx, &runnel::v1::Admin::Stub::ListReassignments, *req, resp, false);
}

grpc::Status AdminForwarder::BalanceCluster(grpc::ServerContext* ctx,
                                            const runnel::v1::BalanceClusterRequest* req,
                                            runnel::v1::BalanceClusterResponse* resp) {
  // A dry run changes nothing; a real one starts reassignments.
  return Forward(ctx, &runnel::v1::Admin::Stub::BalanceCluster, *req, resp, !req->dry_run());
}

GroupsForwarder::GroupsForwarder(cluster::CoordinatorLink* link, absl::Duration timeout)
    : link_(link), timeout_(timeout) {}

template <typename Req, typename Resp, typename Method>
grpc::Status GroupsForwarder::Forward(grpc::ServerContext* ctx, Method method, const Req& req,
                                      Resp* resp) {
  return ForwardToCoordinator(ctx, timeout_, link_->groups_stub(), method, req, resp);
}

grpc::Status GroupsForwarder::GroupHeartbeat(grpc::ServerContext* ctx,
                                             const runnel::v1::GroupHeartbeatRequest* req,
                                             runnel::v1::GroupHeartbeatResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::GroupHeartbeat, *req, resp);
}

grpc::Status GroupsForwarder::LeaveGroup(grpc::ServerContext* ctx,
                                         const runnel::v1::LeaveGroupRequest* req,
                                         runnel::v1::LeaveGroupResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::LeaveGroup, *req, resp);
}

grpc::Status GroupsForwarder::CommitOffsets(grpc::ServerContext* ctx,
                                            const runnel::v1::CommitOffsetsRequest* req,
                                            runnel::v1::CommitOffsetsResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::CommitOffsets, *req, resp);
}

grpc::Status GroupsForwarder::FetchOffsets(grpc::ServerContext* ctx,
                                           const runnel::v1::FetchOffsetsRequest* req,
                                           runnel::v1::FetchOffsetsResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::FetchOffsets, *req, resp);
}

grpc::Status GroupsForwarder::ListGroups(grpc::ServerContext* ctx,
                                         const runnel::v1::ListGroupsRequest* req,
                                         runnel::v1::ListGroupsResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::ListGroups, *req, resp);
}

grpc::Status GroupsForwarder::DescribeGroup(grpc::ServerContext* ctx,
                                            const runnel::v1::DescribeGroupRequest* req,
                                            runnel::v1::DescribeGroupResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::DescribeGroup, *req, resp);
}

grpc::Status GroupsForwarder::AlterGroupOffsets(grpc::ServerContext* ctx,
                                                const runnel::v1::AlterGroupOffsetsRequest* req,
                                                runnel::v1::AlterGroupOffsetsResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::AlterGroupOffsets, *req, resp);
}

grpc::Status GroupsForwarder::DeleteGroup(grpc::ServerContext* ctx,
                                          const runnel::v1::DeleteGroupRequest* req,
                                          runnel::v1::DeleteGroupResponse* resp) {
  return Forward(ctx, &runnel::v1::Groups::Stub::DeleteGroup, *req, resp);
}

}  // namespace runnel::server
