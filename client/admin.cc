#include "client/admin.h"

#include <algorithm>
#include <utility>

#include "client/errors.h"
#include "proto/runnel/v1/admin.grpc.pb.h"

namespace runnel::client {

namespace v1 = runnel::v1;

Admin::Admin(ClientOptions options)
    : metadata_(std::make_shared<MetadataCache>(std::move(options))) {}

Admin::Admin(std::shared_ptr<MetadataCache> metadata) : metadata_(std::move(metadata)) {}

template <typename Request, typename Response, typename Method>
absl::StatusOr<Response> Admin::Call(Method method, const Request& request) {
  // Probing first gives the short connect timeout and a clear message for an
  // unreachable bootstrap, instead of a 30 s request deadline.
  if (absl::Status s = metadata_->CheckBootstrap(); !s.ok()) return s;
  const ClientOptions& options = metadata_->options();
  std::unique_ptr<v1::Admin::Stub> stub = v1::Admin::NewStub(metadata_->Channel(options.bootstrap));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options.request_timeout));
  Response response;
  grpc::Status status = ((*stub).*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::CreateTopicResponse> Admin::CreateTopic(
    const std::string& name, int32_t partitions, int32_t replication_factor,
    const std::map<std::string, std::string>& configs) {
  v1::CreateTopicRequest request;
  request.set_name(name);
  request.set_partitions(partitions);
  request.set_replication_factor(replication_factor);
  for (const auto& [key, value] : configs) (*request.mutable_configs())[key] = value;
  auto response = Call<v1::CreateTopicRequest, v1::CreateTopicResponse>(
      &v1::Admin::Stub::CreateTopic, request);
  if (response.ok()) AwaitTopicVisible(name);
  return response;
}

void Admin::AwaitTopicVisible(const std::string& name) {
  const ClientOptions& options = metadata_->options();
  const absl::Time deadline = absl::Now() + options.topic_propagation_timeout;
  for (int attempt = 0; absl::Now() < deadline; ++attempt) {
    metadata_->Invalidate(name);
    absl::StatusOr<v1::TopicInfo> topic = metadata_->Topic(name);
    if (topic.ok()) {
      bool all_led = topic->partitions_size() > 0;
      for (const v1::PartitionInfo& p : topic->partitions()) all_led &= p.leader() >= 0;
      if (all_led) return;
    }
    absl::SleepFor(std::min(RetryBackoff(options, attempt), deadline - absl::Now()));
  }
}

absl::StatusOr<v1::DeleteTopicResponse> Admin::DeleteTopic(const std::string& name) {
  v1::DeleteTopicRequest request;
  request.set_name(name);
  auto response = Call<v1::DeleteTopicRequest, v1::DeleteTopicResponse>(
      &v1::Admin::Stub::DeleteTopic, request);
  metadata_->Invalidate(name);
  return response;
}

absl::StatusOr<v1::ListTopicsResponse> Admin::ListTopics() {
  return Call<v1::ListTopicsRequest, v1::ListTopicsResponse>(&v1::Admin::Stub::ListTopics,
                                                             v1::ListTopicsRequest());
}

absl::StatusOr<v1::DescribeTopicResponse> Admin::DescribeTopic(const std::string& name) {
  v1::DescribeTopicRequest request;
  request.set_name(name);
  return Call<v1::DescribeTopicRequest, v1::DescribeTopicResponse>(
      &v1::Admin::Stub::DescribeTopic, request);
}

absl::StatusOr<v1::DescribeClusterResponse> Admin::DescribeCluster() {
  return Call<v1::DescribeClusterRequest, v1::DescribeClusterResponse>(
      &v1::Admin::Stub::DescribeCluster, v1::DescribeClusterRequest());
}

absl::StatusOr<v1::AlterTopicConfigResponse> Admin::AlterTopicConfig(
    const std::string& name, const std::map<std::string, std::string>& set,
    const std::vector<std::string>& reset) {
  v1::AlterTopicConfigRequest request;
  request.set_name(name);
  request.mutable_set()->insert(set.begin(), set.end());
  for (const std::string& key : reset) request.add_reset(key);
  auto response = Call<v1::AlterTopicConfigRequest, v1::AlterTopicConfigResponse>(
      &v1::Admin::Stub::AlterTopicConfig, request);
  // The cached TopicInfo carries the old configs.
  if (response.ok()) metadata_->Invalidate(name);
  return response;
}

}  // namespace runnel::client
