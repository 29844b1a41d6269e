// Topic configuration: the keys Runnel understands, their defaults, and their
// typed, validated form. Shared by the coordinator (which validates what
// clients set and stores only the overrides in TopicInfo.configs) and the
// brokers (which apply the effective values: size limits, retention,
// compaction), so a key's name, default and meaning live in one place.
//
// Only known keys are accepted, so a typo ("retention.msec") fails loudly
// instead of being silently ignored.
// Thread-safety: pure functions and immutable data.
#ifndef RUNNEL_COMMON_TOPIC_CONFIG_H_
#define RUNNEL_COMMON_TOPIC_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel {

// The effective configuration of one topic: defaults with overrides applied.
struct TopicConfig {
  // retention.ms: data older than this is deleted (cleanup.policy delete); -1 keeps forever.
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  // retention.bytes: a partition larger than this loses its oldest data; -1 = no limit.
  int64_t retention_bytes = -1;
  // cleanup.policy: "delete", "compact" or "compact,delete" (either order).
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // max.message.bytes: the largest record batch accepted.
  int64_t max_message_bytes = 1 << 20;
  // min.insync.replicas: acks=all writes need this many in-sync replicas.
  int32_t min_insync_replicas = 1;
  // unclean.leader.election.enable: elect an out-of-sync replica rather than go offline.
  bool unclean_leader_election_enable = false;
  // delete.retention.ms: how long compaction keeps tombstones (null values).
  int64_t delete_retention_ms = 24LL * 3600 * 1000;
  // min.compaction.lag.ms: records younger than this are not compacted away.
  int64_t min_compaction_lag_ms = 0;
};

// One known key, for help and describe output.
struct TopicConfigKey {
  std::string key;
  std::string default_value;
  std::string help;
};
// Every known key, sorted.
const std::vector<TopicConfigKey>& KnownTopicConfigKeys();
bool IsKnownTopicConfigKey(absl::string_view key);

// Applies `overrides` to the defaults. InvalidArgument naming the key and the
// value for an unknown key or a bad value, e.g.
// "invalid value 'abc' for topic config 'retention.ms': expected a number of
// milliseconds >= 0, or -1 for no limit" or
// "unknown topic config 'retention.msec' (known: cleanup.policy, ...)".
// Cross-field checks that need the replication factor (min.insync.replicas
// <= replication factor) are the coordinator's.
absl::StatusOr<TopicConfig> ParseTopicConfig(const std::map<std::string, std::string>& overrides);

// The errors ParseTopicConfig returns, for callers adding their own checks
// (such as the coordinator's cross-field check) in the same words.
absl::Status UnknownTopicConfigError(absl::string_view key);
absl::Status InvalidTopicConfigError(absl::string_view key, absl::string_view value,
                                     absl::string_view expected);

// Same, for a protobuf map (TopicInfo.configs).
template <typename MapT>
absl::StatusOr<TopicConfig> ParseTopicConfigMap(const MapT& overrides) {
  return ParseTopicConfig(std::map<std::string, std::string>(overrides.begin(), overrides.end()));
}

}  // namespace runnel

#endif  // RUNNEL_COMMON_TOPIC_CONFIG_H_
