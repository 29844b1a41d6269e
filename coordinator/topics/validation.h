// Validation of topic creation requests: names, partition counts, replication
// factors and the topic configs Runnel knows. Only known config keys are
// accepted, so a typo ("retention.msec") fails loudly at creation instead of
// being silently ignored by every broker.
// Thread-safety: pure functions and immutable data.
#ifndef RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_
#define RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel::coordinator::topics {

inline constexpr int32_t kMaxPartitions = 10000;
inline constexpr int kMaxTopicNameLength = 249;

// A topic config key Runnel understands, with the broker default that applies
// while a topic does not override it.
struct TopicConfigDef {
  absl::string_view key;
  absl::string_view default_value;
  absl::string_view help;
};
// Sorted by key.
const std::vector<TopicConfigDef>& KnownTopicConfigs();

// 1-249 characters from [A-Za-z0-9._-], and not "." or "..".
absl::Status ValidateTopicName(absl::string_view name);
// 1 to kMaxPartitions.
absl::Status ValidatePartitionCount(int32_t partitions);
// The effective replication factor: 0 means 1; negative is InvalidArgument.
absl::StatusOr<int32_t> EffectiveReplicationFactor(int32_t replication_factor);
// Every key known and every value valid for a topic with `replication_factor`
// replicas; the error names the first offending key.
absl::Status ValidateTopicConfigs(const std::map<std::string, std::string>& configs,
                                  int32_t replication_factor);

}  // namespace runnel::coordinator::topics

#endif  // RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_
