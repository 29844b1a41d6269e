// TopicTable: every topic of the cluster with its partitions' replica
// placement and replication state; creates (validating and placing) and
// deletes topics and changes their configs and partitions' replication
// state (leader, epochs, ISR: decided by //coordinator/election).
//
// Durable: each topic is one record committed through the VersionedStore
// (so each change bumps the metadata version), and topic ids come from a
// persisted counter that only grows, so an id is never reused, not even after
// the topic is deleted and re-created under the same name.
//
// Ownership: does not own the VersionedStore, which must outlive it.
// Thread-safety: not thread-safe; the Coordinator serialises all calls.
#ifndef RUNNEL_COORDINATOR_TOPICS_TOPIC_TABLE_H_
#define RUNNEL_COORDINATOR_TOPICS_TOPIC_TABLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/store/versioned_store.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::topics {

// What to create; validated by Create.
struct TopicSpec {
  std::string name;
  int32_t partitions = 0;
  int32_t replication_factor = 0;  // 0 means 1
  std::map<std::string, std::string> configs;
};

// One partition's replication state, with the name of its topic.
struct PartitionState {
  std::string topic;
  v1::PartitionInfo partition;
};

// Partition updates ready to be committed: the store writes, and the topics
// to Install once those are committed.
struct StagedTopics {
  store::WriteBatch batch;
  std::vector<v1::TopicInfo> topics;
};

// The partitions a broker holds a replica of, as leader or as follower.
struct BrokerLoad {
  int32_t led = 0;
  int32_t followed = 0;
};

class TopicTable {
 public:
  // Loads every topic from `store`.
  static absl::StatusOr<std::unique_ptr<TopicTable>> Load(store::VersionedStore* store);

  // Validates `spec`, places its replicas on `live_brokers` (taking their
  // current load into account) and persists the topic. Each partition starts
  // led by its first replica, with leader_epoch 0, isr = replicas and
  // partition_epoch 0. InvalidArgument for a bad spec, AlreadyExists for a
  // taken name, FailedPrecondition for too few live brokers.
  absl::StatusOr<v1::TopicInfo> Create(const TopicSpec& spec,
                                       const std::vector<v1::BrokerInfo>& live_brokers);

  // Grows topic `name` to `total_count` partitions, placing the new ones on
  // `live_brokers` as Create does, and persists it (a metadata version bump,
  // so brokers learn of them). Existing partitions are untouched. NotFound
  // for an unknown topic; InvalidArgument unless total_count is larger than
  // the current count (and at most kMaxPartitions); FailedPrecondition for
  // fewer live brokers than the replication factor.
  absl::StatusOr<v1::TopicInfo> CreatePartitions(const std::string& name, int32_t total_count,
                                                 const std::vector<v1::BrokerInfo>& live_brokers);

  // NotFound if there is no such topic.
  absl::Status Delete(const std::string& name);

  // Changes a topic's config overrides: each of `set` replaces or adds an
  // override, each of `reset` removes one (back to the default; resetting a
  // key that is not overridden is fine). The resulting overrides are
  // validated as a whole, as at creation, and on any error nothing changes.
  // A change that leaves the overrides as they were is not written, so it
  // does not bump the metadata version. NotFound for an unknown topic;
  // InvalidArgument for an unknown key (in `set` or `reset`), a bad value or
  // a key both set and reset.
  absl::StatusOr<v1::TopicInfo> AlterConfigs(const std::string& name,
                                             const std::map<std::string, std::string>& set,
                                             const std::vector<std::string>& reset);

  // --- Partition state ---
  // Changes to partitions' replication state are made in three steps, so
  // that the Coordinator can commit them in the same atomic write as the
  // membership change that causes them: Plan (or FindPartition) computes the
  // new states, Stage turns them into store writes, and Install applies them
  // in memory once those writes are committed. Update does all three for
  // changes that stand alone. Between Plan and Install, nothing else may
  // change the table.

  // For each partition, what `change` returns for it (nullopt: unchanged).
  using PartitionChange = std::function<std::optional<v1::PartitionInfo>(
      const v1::TopicInfo& topic, const v1::PartitionInfo& partition)>;
  // The new state of every partition that `change` changes, by topic name
  // and partition.
  std::vector<PartitionState> Plan(const PartitionChange& change) const;
  // The topic records with `updates` applied (several updates of one topic
  // make one record). Updates of unknown topics or partitions are dropped.
  StagedTopics Stage(const std::vector<PartitionState>& updates) const;
  // Replaces the topics by the staged ones, after their commit.
  void Install(std::vector<v1::TopicInfo> topics);
  // Stage, commit (one metadata version; nothing when `updates` is empty)
  // and Install.
  absl::Status Update(const std::vector<PartitionState>& updates);

  // The state of partition `partition` of the topic with id `topic_id`.
  // NotFound for an unknown topic id or partition.
  absl::StatusOr<PartitionState> FindPartition(uint64_t topic_id, int32_t partition) const;

  // NotFound if there is no such topic.
  absl::StatusOr<v1::TopicInfo> Describe(const std::string& name) const;
  // Topic names, sorted.
  std::vector<std::string> Names() const;
  // Every topic, sorted by name.
  std::vector<v1::TopicInfo> Topics() const;
  // Per broker id, the partitions it currently leads and follows. Brokers
  // holding no replica are absent.
  std::map<int32_t, BrokerLoad> LoadByBroker() const;

 private:
  // Replicas for `partitions` new partitions on `live_brokers`, counting the
  // load they already carry.
  absl::StatusOr<std::vector<std::vector<int32_t>>> Place(
      int32_t partitions, int32_t replication_factor,
      const std::vector<v1::BrokerInfo>& live_brokers) const;

  TopicTable(store::VersionedStore* store, uint64_t next_topic_id)
      : store_(store), next_topic_id_(next_topic_id) {}

  store::VersionedStore* store_;
  uint64_t next_topic_id_;
  std::map<std::string, v1::TopicInfo> topics_;
  std::map<uint64_t, std::string> names_by_id_;  // index of topics_ by topic id
};

}  // namespace runnel::coordinator::topics

#endif  // RUNNEL_COORDINATOR_TOPICS_TOPIC_TABLE_H_
