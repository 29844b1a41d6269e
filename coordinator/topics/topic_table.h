// TopicTable: every topic of the cluster with its partitions' replica
// placement and replication state; creates (validating and placing) and
// deletes topics and changes their configs.
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
#include <map>
#include <memory>
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
  TopicTable(store::VersionedStore* store, uint64_t next_topic_id)
      : store_(store), next_topic_id_(next_topic_id) {}

  store::VersionedStore* store_;
  uint64_t next_topic_id_;
  std::map<std::string, v1::TopicInfo> topics_;
};

}  // namespace runnel::coordinator::topics

#endif  // RUNNEL_COORDINATOR_TOPICS_TOPIC_TABLE_H_
