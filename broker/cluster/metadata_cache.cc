#include "broker/cluster/metadata_cache.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace runnel::cluster {

MetadataSnapshot::MetadataSnapshot(runnel::v1::ClusterMetadata metadata)
    : metadata_(std::move(metadata)) {
  for (const auto& t : metadata_.topics()) topics_by_name_[t.name()] = &t;
  for (const auto& b : metadata_.brokers()) brokers_by_id_[b.id()] = &b;
}

const runnel::v1::TopicInfo* MetadataSnapshot::FindTopic(const std::string& name) const {
  auto it = topics_by_name_.find(name);
  return it == topics_by_name_.end() ? nullptr : it->second;
}

const runnel::v1::BrokerInfo* MetadataSnapshot::FindBroker(int32_t id) const {
  auto it = brokers_by_id_.find(id);
  return it == brokers_by_id_.end() ? nullptr : it->second;
}

absl::StatusOr<const runnel::v1::PartitionInfo*> MetadataSnapshot::FindPartition(
    const std::string& topic, int32_t partition) const {
  const runnel::v1::TopicInfo* t = FindTopic(topic);
  if (t == nullptr) return absl::NotFoundError(absl::StrCat("topic '", topic, "' not found"));
  if (partition < 0 || partition >= t->partitions_size()) {
    return absl::NotFoundError(absl::StrCat("partition ", partition, " out of range for topic '",
                                            topic, "' (", t->partitions_size(),
                                            " partitions: 0-", t->partitions_size() - 1, ")"));
  }
  return &t->partitions(partition);
}

MetadataCache::MetadataCache()
    : current_(std::make_shared<const MetadataSnapshot>(runnel::v1::ClusterMetadata())) {}

bool MetadataCache::Update(runnel::v1::ClusterMetadata metadata) {
  // Build the index outside the lock; it is the expensive part.
  auto next = std::make_shared<const MetadataSnapshot>(std::move(metadata));
  absl::MutexLock lock(&mu_);
  if (next->version() <= current_->version()) return false;
  current_ = std::move(next);
  return true;
}

std::shared_ptr<const MetadataSnapshot> MetadataCache::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

}  // namespace runnel::cluster
