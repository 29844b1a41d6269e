// MetadataCache: the client's view of the cluster and its connections. It
// asks the bootstrap broker (falling back to other known brokers) for
// Broker.Metadata, caches the brokers and topics, keeps one gRPC channel per
// broker address, and answers "who leads this partition?". Producer,
// Consumer and Admin share one (via shared_ptr) or own one each.
//
// Staleness is handled on demand: when a broker says the client's view is
// wrong (NOT_LEADER, LEADER_NOT_AVAILABLE, a fenced epoch, an unreachable
// leader...) the caller Invalidate()s the topic and the next lookup refreshes
// it. RetryLoop packages "refresh, back off, try again, up to max_retries".
// A topic cached longer than metadata_max_age is refreshed too, so that
// partitions added to it are noticed without any error.
//
// Thread-safety: all methods are thread-safe. RPCs run without the lock held.
#ifndef RUNNEL_CLIENT_METADATA_CACHE_H_
#define RUNNEL_CLIENT_METADATA_CACHE_H_

#include <grpcpp/channel.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/options.h"
#include "proto/runnel/v1/broker.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client {

// Where to send requests for one partition.
struct PartitionLeader {
  int32_t broker_id = -1;
  std::string address;
  int32_t leader_epoch = -1;
};

class MetadataCache {
 public:
  explicit MetadataCache(ClientOptions options);

  MetadataCache(const MetadataCache&) = delete;
  MetadataCache& operator=(const MetadataCache&) = delete;

  const ClientOptions& options() const { return options_; }

  // The channel to a broker address, created on first use and then reused.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address);

  // Asks for metadata of `topics` (all topics when empty) and merges the
  // answer into the cache. Tries the bootstrap broker first, then the other
  // known brokers. Errors: NOT_FOUND for an unknown topic (which is dropped
  // from the cache); BootstrapUnreachable when no broker answered and none but
  // the bootstrap was known; UNAVAILABLE naming every address tried otherwise.
  absl::Status Refresh(const std::vector<std::string>& topics = {});

  // Makes sure the bootstrap broker answers (Admin calls go only there): OK
  // at once if its channel is connected, otherwise one Metadata call to it,
  // bounded by connect_timeout. Errors are BootstrapUnreachable.
  absl::Status CheckBootstrap();

  // A topic's cached description; refreshes it first if absent, invalidated
  // or older than metadata_max_age. TopicNotFound if the cluster does not
  // have it.
  absl::StatusOr<runnel::v1::TopicInfo> Topic(const std::string& topic);

  // The leader of a partition, refreshing the topic first if absent or
  // invalidated, or if the cached topic has too few partitions (it may have
  // grown). PartitionOutOfRange for a partition the topic lacks; an
  // UNAVAILABLE status carrying LEADER_NOT_AVAILABLE (retriable) when the
  // partition has no leader or the leader's address is unknown.
  absl::StatusOr<PartitionLeader> Leader(const std::string& topic, int32_t partition);

  // Marks a topic stale: the next Topic or Leader call refreshes it.
  void Invalidate(const std::string& topic);

  // The brokers and cluster id of the last answer.
  std::vector<runnel::v1::BrokerInfo> Brokers() const;
  std::string cluster_id() const;

 private:
  // One Metadata call to `address`, bounded by connect_timeout.
  absl::StatusOr<runnel::v1::MetadataResponse> Fetch(const std::string& address,
                                                     const std::vector<std::string>& topics);
  void Merge(const runnel::v1::MetadataResponse& response, bool all_topics,
             const std::vector<std::string>& requested);

  const ClientOptions options_;

  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, runnel::v1::BrokerInfo> brokers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, runnel::v1::TopicInfo> topics_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> stale_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> fetched_at_ ABSL_GUARDED_BY(mu_);
  std::string cluster_id_ ABSL_GUARDED_BY(mu_);
};

// Runs `attempt` until it returns a non-retriable status (see
// IsRetriable(status)) or options.max_retries retries are spent, sleeping
// RetryBackoff between tries. `attempt` is responsible for invalidating what
// it found stale. Returns the last status.
absl::Status RetryLoop(const ClientOptions& options, const std::function<absl::Status()>& attempt);

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_METADATA_CACHE_H_
