// Validation of topic creation requests and config changes: names,
// partition counts, replication factors, and topic configs (whose keys and
// values common/topic_config.h defines; this adds the checks that need the
// topic's replication factor).
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_
#define RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel::coordinator::topics {

inline constexpr int32_t kMaxPartitions = 10000;
inline constexpr int kMaxTopicNameLength = 249;

// 1-249 characters from [A-Za-z0-9._-], and not "." or "..".
absl::Status ValidateTopicName(absl::string_view name);
// 1 to kMaxPartitions.
absl::Status ValidatePartitionCount(int32_t partitions);
// The effective replication factor: 0 means 1; negative is InvalidArgument.
absl::StatusOr<int32_t> EffectiveReplicationFactor(int32_t replication_factor);
// Every key known and every value valid (ParseTopicConfig) for a topic with
// `replication_factor` replicas (min.insync.replicas <= replication factor);
// the error names the first offending key.
absl::Status ValidateTopicConfigs(const std::map<std::string, std::string>& configs,
                                  int32_t replication_factor);

}  // namespace runnel::coordinator::topics

#endif  // RUNNEL_COORDINATOR_TOPICS_VALIDATION_H_
