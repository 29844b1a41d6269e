#include "client/admin.h"

#include <algorithm>
#include <set>
#include <utility>

#include "client/errors.h"
#include "client/group_membership.h"
#include "client/rpc.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/groups.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

Admin::Admin(ClientOptions options)
    : metadata_(std::make_shared<MetadataCache>(std::move(options))) {}

Admin::Admin(std::shared_ptr<MetadataCache> metadata) : metadata_(std::move(metadata)) {}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Admin::Call(grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                                     const Request& request) {
  // Probing first gives the short connect timeout and a clear message for an
  // unreachable bootstrap, instead of a 30 s request deadline.
  if (absl::Status s = metadata_->CheckBootstrap(); !s.ok()) return s;
  const ClientOptions& options = metadata_->options();
  // The broker forwards admin calls to the coordinator and answers
  // UNAVAILABLE when it cannot reach it, e.g. while its channel reconnects
  // to a coordinator that just restarted: retried with the usual backoff for
  // up to connect_timeout, after which the error ("coordinator unreachable
  // from this broker") stands. Other errors, including the request deadline,
  // are final.
  const absl::Time give_up = absl::Now() + options.connect_timeout;
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Response> response =
        UnaryCall(metadata_->Channel(options.bootstrap), method, request, options.request_timeout);
    if (response.ok() || response.status().code() != absl::StatusCode::kUnavailable ||
        absl::Now() >= give_up) {
      return response;
    }
    absl::SleepFor(std::min(RetryBackoff(options, attempt), give_up - absl::Now()));
  }
}

absl::StatusOr<v1::CreateTopicResponse> Admin::CreateTopic(
    const std::string& name, int32_t partitions, int32_t replication_factor,
    const std::map<std::string, std::string>& configs) {
  v1::CreateTopicRequest request;
  request.set_name(name);
  request.set_partitions(partitions);
  request.set_replication_factor(replication_factor);
  for (const auto& [key, value] : configs) (*request.mutable_configs())[key] = value;
  auto response = Call(&v1::Admin::Stub::CreateTopic, request);
  if (response.ok()) AwaitTopicVisible(name, partitions);
  return response;
}

void Admin::AwaitTopicVisible(const std::string& name, int32_t partitions) {
  const ClientOptions& options = metadata_->options();
  const absl::Time deadline = absl::Now() + options.topic_propagation_timeout;
  for (int attempt = 0; absl::Now() < deadline; ++attempt) {
    metadata_->Invalidate(name);
    absl::StatusOr<v1::TopicInfo> topic = metadata_->Topic(name);
    if (topic.ok()) {
      bool all_led = topic->partitions_size() > 0 && topic->partitions_size() >= partitions;
      for (const v1::PartitionInfo& p : topic->partitions()) all_led &= p.leader() >= 0;
      if (all_led) return;
    }
    absl::SleepFor(std::min(RetryBackoff(options, attempt), deadline - absl::Now()));
  }
}

absl::StatusOr<v1::DeleteTopicResponse> Admin::DeleteTopic(const std::string& name) {
  v1::DeleteTopicRequest request;
  request.set_name(name);
  auto response = Call(&v1::Admin::Stub::DeleteTopic, request);
  metadata_->Invalidate(name);
  return response;
}

absl::StatusOr<v1::ListTopicsResponse> Admin::ListTopics() {
  return Call(&v1::Admin::Stub::ListTopics, v1::ListTopicsRequest());
}

absl::StatusOr<v1::DescribeTopicResponse> Admin::DescribeTopic(const std::string& name) {
  v1::DescribeTopicRequest request;
  request.set_name(name);
  return Call(&v1::Admin::Stub::DescribeTopic, request);
}

absl::StatusOr<v1::DescribeClusterResponse> Admin::DescribeCluster() {
  return Call(&v1::Admin::Stub::DescribeCluster, v1::DescribeClusterRequest());
}

absl::StatusOr<v1::AlterTopicConfigResponse> Admin::AlterTopicConfig(
    const std::string& name, const std::map<std::string, std::string>& set,
    const std::vector<std::string>& reset) {
  v1::AlterTopicConfigRequest request;
  request.set_name(name);
  request.mutable_set()->insert(set.begin(), set.end());
  for (const std::string& key : reset) request.add_reset(key);
  auto response = Call(&v1::Admin::Stub::AlterTopicConfig, request);
  // The cached TopicInfo carries the old configs.
  if (response.ok()) metadata_->Invalidate(name);
  return response;
}

absl::StatusOr<v1::CreatePartitionsResponse> Admin::CreatePartitions(const std::string& name,
                                                                     int32_t total_count) {
  v1::CreatePartitionsRequest request;
  request.set_name(name);
  request.set_total_count(total_count);
  auto response = Call(&v1::Admin::Stub::CreatePartitions, request);
  if (response.ok()) AwaitTopicVisible(name, total_count);
  return response;
}

absl::StatusOr<v1::ReassignPartitionsResponse> Admin::ReassignPartitions(
    const std::vector<v1::PartitionReassignment>& reassignments,
    int64_t throttle_bytes_per_second) {
  v1::ReassignPartitionsRequest request;
  request.mutable_reassignments()->Add(reassignments.begin(), reassignments.end());
  request.set_throttle_bytes_per_second(throttle_bytes_per_second);
  return Call(&v1::Admin::Stub::ReassignPartitions, request);
}

absl::StatusOr<v1::ListReassignmentsResponse> Admin::ListReassignments() {
  return Call(&v1::Admin::Stub::ListReassignments, v1::ListReassignmentsRequest());
}

absl::StatusOr<v1::BalanceClusterResponse> Admin::BalanceCluster(
    bool dry_run, const std::vector<int32_t>& drain_brokers, int64_t throttle_bytes_per_second) {
  v1::BalanceClusterRequest request;
  request.set_dry_run(dry_run);
  request.mutable_drain_brokers()->Add(drain_brokers.begin(), drain_brokers.end());
  request.set_throttle_bytes_per_second(throttle_bytes_per_second);
  return Call(&v1::Admin::Stub::BalanceCluster, request);
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Admin::ListOffsets(
    const std::vector<OffsetQuery>& queries) {
  return client::ListOffsets(*metadata_, queries);
}

absl::StatusOr<v1::ListGroupsResponse> Admin::ListGroups() {
  return Call(&v1::Groups::Stub::ListGroups, v1::ListGroupsRequest());
}

absl::StatusOr<v1::DescribeGroupResponse> Admin::DescribeGroup(const std::string& group_id) {
  v1::DescribeGroupRequest request;
  request.set_group_id(group_id);
  return Call(&v1::Groups::Stub::DescribeGroup, request);
}

absl::StatusOr<std::map<TopicPartition, int64_t>> Admin::FetchGroupOffsets(
    const std::string& group_id, const std::vector<TopicPartition>& partitions) {
  v1::FetchOffsetsRequest request;
  request.set_group_id(group_id);
  const std::set<TopicPartition> wanted(partitions.begin(), partitions.end());
  TopicPartitionsToProto(wanted, request.mutable_partitions());
  auto response = Call(&v1::Groups::Stub::FetchOffsets, request);
  if (!response.ok()) return response.status();
  std::map<TopicPartition, int64_t> out;
  for (const TopicPartition& tp : wanted) out[tp] = -1;
  for (const v1::PartitionOffset& o : response->offsets()) {
    out[{o.topic(), o.partition()}] = o.offset();
  }
  return out;
}

absl::Status Admin::AlterGroupOffsets(const std::string& group_id,
                                      const std::map<TopicPartition, int64_t>& offsets) {
  v1::AlterGroupOffsetsRequest request;
  request.set_group_id(group_id);
  OffsetsToProto(offsets, request.mutable_offsets());
  return Call(&v1::Groups::Stub::AlterGroupOffsets, request).status();
}

absl::Status Admin::DeleteGroup(const std::string& group_id) {
  v1::DeleteGroupRequest request;
  request.set_group_id(group_id);
  return Call(&v1::Groups::Stub::DeleteGroup, request).status();
}

}  // namespace runnel::client
