#include "client/metadata_cache.h"

#include <algorithm>
#include <utility>

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/errors.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::client {

MetadataCache::MetadataCache(ClientOptions options) : options_(std::move(options)) {}

std::shared_ptr<grpc::Channel> MetadataCache::Channel(const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  grpc::ChannelArguments args;
  // Fetch answers can be up to fetch_max_bytes (50 MiB by default).
  args.SetMaxReceiveMessageSize(-1);
  // gRPC's own reconnect backoff grows to 2 minutes by default; keep it within
  // our retry backoff so a restarted broker is reachable again promptly.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.retry_backoff)));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.retry_backoff_max)));
  // After a failed connection gRPC re-resolves the name, by default at most
  // every 30 s (even for an IP literal); that would stall reconnection too.
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options_.retry_backoff)));
  std::shared_ptr<grpc::Channel> channel =
      options_.channel_factory
          ? options_.channel_factory(address, args)
          : grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  channels_.emplace(address, channel);
  return channel;
}

absl::StatusOr<runnel::v1::MetadataResponse> MetadataCache::Fetch(
    const std::string& address, const std::vector<std::string>& topics) {
  std::unique_ptr<runnel::v1::Broker::Stub> stub = runnel::v1::Broker::NewStub(Channel(address));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.connect_timeout));
  runnel::v1::MetadataRequest request;
  for (const std::string& t : topics) request.add_topics(t);
  runnel::v1::MetadataResponse response;
  grpc::Status status = stub->Metadata(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::Status MetadataCache::Refresh(const std::vector<std::string>& topics) {
  // Bootstrap first, then the other known brokers, live ones first.
  std::vector<std::string> candidates = {options_.bootstrap};
  {
    absl::MutexLock lock(&mu_);
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [id, b] : brokers_) {
        bool alive = b.state() == runnel::v1::BROKER_STATE_ALIVE;
        if ((pass == 0) != alive) continue;
        if (std::find(candidates.begin(), candidates.end(), b.address()) == candidates.end()) {
          candidates.push_back(b.address());
        }
      }
    }
  }
  std::vector<std::string> failures;  // "address: message"
  std::string bootstrap_failure;
  for (const std::string& address : candidates) {
    absl::StatusOr<runnel::v1::MetadataResponse> response = Fetch(address, topics);
    if (response.ok()) {
      Merge(*response, topics.empty(), topics);
      return absl::OkStatus();
    }
    if (!IsTransportFailure(response.status())) {
      if (response.status().code() == absl::StatusCode::kNotFound) {
        absl::MutexLock lock(&mu_);
        for (const std::string& t : topics) {
          topics_.erase(t);
          stale_.erase(t);
        }
      }
      return response.status();
    }
    if (address == options_.bootstrap) bootstrap_failure = std::string(response.status().message());
    failures.push_back(absl::StrCat(address, ": ", response.status().message()));
  }
  if (candidates.size() == 1) return BootstrapUnreachable(options_.bootstrap, bootstrap_failure);
  return absl::UnavailableError(
      absl::StrCat("cannot reach any broker (", absl::StrJoin(failures, "; "), ")"));
}

absl::Status MetadataCache::CheckBootstrap() {
  if (Channel(options_.bootstrap)->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY) {
    return absl::OkStatus();
  }
  absl::StatusOr<runnel::v1::MetadataResponse> response = Fetch(options_.bootstrap, {});
  if (response.ok()) {
    Merge(*response, /*all_topics=*/true, {});
    return absl::OkStatus();
  }
  if (IsTransportFailure(response.status())) {
    return BootstrapUnreachable(options_.bootstrap, response.status().message());
  }
  return response.status();
}

void MetadataCache::Merge(const runnel::v1::MetadataResponse& response, bool all_topics,
                          const std::vector<std::string>& requested) {
  absl::MutexLock lock(&mu_);
  brokers_.clear();
  for (const runnel::v1::BrokerInfo& b : response.brokers()) brokers_[b.id()] = b;
  cluster_id_ = response.cluster_id();
  if (all_topics) {
    topics_.clear();
    stale_.clear();
  }
  for (const std::string& t : requested) {
    // A requested topic missing from the answer is gone; forget it.
    topics_.erase(t);
    stale_.erase(t);
  }
  const absl::Time now = absl::Now();
  for (const runnel::v1::TopicInfo& t : response.topics()) {
    topics_[t.name()] = t;
    stale_.erase(t.name());
    fetched_at_[t.name()] = now;
  }
}

absl::StatusOr<runnel::v1::TopicInfo> MetadataCache::Topic(const std::string& topic) {
  {
    absl::MutexLock lock(&mu_);
    auto it = topics_.find(topic);
    if (it != topics_.end() && stale_.count(topic) == 0 &&
        absl::Now() - fetched_at_[topic] < options_.metadata_max_age) {
      return it->second;
    }
  }
  absl::Status status = Refresh({topic});
  if (status.code() == absl::StatusCode::kNotFound) return TopicNotFound(topic);
  if (!status.ok()) return status;
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return TopicNotFound(topic);
  return it->second;
}

absl::StatusOr<PartitionLeader> MetadataCache::Leader(const std::string& topic,
                                                      int32_t partition) {
  absl::StatusOr<runnel::v1::TopicInfo> info = Topic(topic);
  if (!info.ok()) return info.status();
  if (partition >= info->partitions_size()) {
    // The topic may have grown since it was cached (CreatePartitions).
    Invalidate(topic);
    info = Topic(topic);
    if (!info.ok()) return info.status();
  }
  const int32_t count = info->partitions_size();
  if (partition < 0 || partition >= count) return PartitionOutOfRange(topic, partition, count);
  const runnel::v1::PartitionInfo* p = &info->partitions(partition);
  for (const runnel::v1::PartitionInfo& candidate : info->partitions()) {
    if (candidate.partition() == partition) p = &candidate;
  }
  if (p->leader() < 0) {
    Invalidate(topic);
    return PartitionError(runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE, "", topic, partition);
  }
  absl::MutexLock lock(&mu_);
  auto broker = brokers_.find(p->leader());
  if (broker == brokers_.end() || broker->second.address().empty()) {
    stale_.insert(topic);
    return PartitionError(runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE,
                          absl::StrCat("leader ", p->leader(), " of ", topic, "-", partition,
                                       " is not among the known brokers"),
                          topic, partition);
  }
  return PartitionLeader{p->leader(), broker->second.address(), p->leader_epoch()};
}

void MetadataCache::Invalidate(const std::string& topic) {
  absl::MutexLock lock(&mu_);
  stale_.insert(topic);
}

std::vector<runnel::v1::BrokerInfo> MetadataCache::Brokers() const {
  absl::MutexLock lock(&mu_);
  std::vector<runnel::v1::BrokerInfo> out;
  for (const auto& [id, b] : brokers_) out.push_back(b);
  return out;
}

std::string MetadataCache::cluster_id() const {
  absl::MutexLock lock(&mu_);
  return cluster_id_;
}

absl::Status RetryLoop(const ClientOptions& options, const std::function<absl::Status()>& attempt) {
  for (int n = 0;; ++n) {
    absl::Status status = attempt();
    if (status.ok() || !IsRetriable(status) || n >= options.max_retries) return status;
    absl::SleepFor(RetryBackoff(options, n));
  }
}

}  // namespace runnel::client
