// MetadataCache: this broker's copy of the coordinator's cluster metadata,
// with name lookups for the request path.
//
// Snapshots are immutable and shared: an update swaps in a new snapshot and
// readers keep whichever one they took, so the produce and fetch paths never
// hold a lock while using metadata.
// Thread-safety: all methods are thread-safe.
#ifndef RUNNEL_BROKER_CLUSTER_METADATA_CACHE_H_
#define RUNNEL_BROKER_CLUSTER_METADATA_CACHE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::cluster {

// An immutable view of the cluster at one metadata version.
class MetadataSnapshot {
 public:
  explicit MetadataSnapshot(runnel::v1::ClusterMetadata metadata);

  const runnel::v1::ClusterMetadata& metadata() const { return metadata_; }
  int64_t version() const { return metadata_.version(); }

  // nullptr when there is no such topic.
  const runnel::v1::TopicInfo* FindTopic(const std::string& name) const;
  const runnel::v1::BrokerInfo* FindBroker(int32_t id) const;
  // NotFound naming the topic, or the partition and the valid range.
  absl::StatusOr<const runnel::v1::PartitionInfo*> FindPartition(const std::string& topic,
                                                                 int32_t partition) const;

 private:
  runnel::v1::ClusterMetadata metadata_;
  absl::flat_hash_map<std::string, const runnel::v1::TopicInfo*> topics_by_name_;
  absl::flat_hash_map<int32_t, const runnel::v1::BrokerInfo*> brokers_by_id_;
};

class MetadataCache {
 public:
  MetadataCache();

  // Installs `metadata` if it is newer than the current snapshot; returns
  // whether it did.
  bool Update(runnel::v1::ClusterMetadata metadata);
  // The current snapshot (never null; empty, version 0, before the first update).
  std::shared_ptr<const MetadataSnapshot> Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const MetadataSnapshot> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::cluster

#endif  // RUNNEL_BROKER_CLUSTER_METADATA_CACHE_H_
