// OffsetStore: consumer groups' committed offsets, durable in the
// coordinator's MetadataStore (RocksDB in production) and mirrored in memory
// for reads. Every change is one synced, atomic store write before it is
// applied in memory, so an acknowledged commit survives a coordinator crash.
//
// Offsets are keyed by topic id (store/keys.h), so the offsets of a deleted
// topic never reappear under a re-created topic of the same name: they are
// deleted with the topic, and any the coordinator failed to delete (crash,
// store error) are recognised by their unknown topic id and dropped at load.
// Commits do not bump the metadata version: brokers do not care about them.
//
// Ownership: does not own the MetadataStore, which must outlive it.
// Thread-safety: not thread-safe; GroupCoordinator serialises calls.
#ifndef RUNNEL_COORDINATOR_GROUPS_OFFSET_STORE_H_
#define RUNNEL_COORDINATOR_GROUPS_OFFSET_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/groups/partitions.h"
#include "coordinator/store/metadata_store.h"
#include "proto/runnel/v1/groups.pb.h"

namespace runnel::coordinator::groups {

// A committed offset: the API's PartitionOffset (topic, partition, offset,
// metadata, commit time) plus the id of the topic it belongs to.
struct StoredOffset {
  uint64_t topic_id = 0;
  v1::PartitionOffset offset;
};

// One group's offsets by partition.
using GroupOffsets = std::map<TopicPartition, StoredOffset>;

class OffsetStore {
 public:
  // Loads every committed offset, dropping (and deleting) those whose topic
  // id is not the current id of their topic in `topic_ids` (name -> id).
  static absl::StatusOr<std::unique_ptr<OffsetStore>> Load(
      store::MetadataStore* store, const std::map<std::string, uint64_t>& topic_ids);

  // Stores `offsets` of `group` in one durable write, replacing earlier ones.
  absl::Status Commit(const std::string& group, const std::vector<StoredOffset>& offsets);

  // The group's offsets; nullptr when it has none.
  const GroupOffsets* Find(const std::string& group) const;
  // Ids of the groups with at least one offset, sorted.
  std::vector<std::string> Groups() const;

  // Deletes every offset of `group`.
  absl::Status DeleteGroup(const std::string& group);
  // Deletes every offset of topic `name` (all groups), e.g. once it is deleted.
  absl::Status DeleteTopic(const std::string& name);

 private:
  explicit OffsetStore(store::MetadataStore* store) : store_(store) {}

  store::MetadataStore* store_;
  std::map<std::string, GroupOffsets> offsets_;
};

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_OFFSET_STORE_H_
