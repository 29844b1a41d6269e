// Validation of consumer-group requests: group ids, subscriptions, timeouts,
// assignors, partition lists and committed offsets. Every error is
// InvalidArgument naming the offending field.
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_GROUPS_VALIDATION_H_
#define RUNNEL_COORDINATOR_GROUPS_VALIDATION_H_

#include <cstddef>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/groups/partitions.h"
#include "google/protobuf/repeated_field.h"

namespace runnel::coordinator::groups {

inline constexpr int kMaxGroupIdLength = 249;
inline constexpr size_t kMaxOffsetMetadataBytes = 4096;
inline constexpr int32_t kDefaultSessionTimeoutMs = 10000;
inline constexpr int32_t kMinSessionTimeoutMs = 1000;
inline constexpr int32_t kMaxSessionTimeoutMs = 300000;
inline constexpr int32_t kDefaultRebalanceTimeoutMs = 30000;
inline constexpr int32_t kMaxRebalanceTimeoutMs = 3600000;

// 1-249 characters from [A-Za-z0-9._-].
absl::Status ValidateGroupId(absl::string_view id);
// session_timeout_ms: 0 means the default; else kMin..kMaxSessionTimeoutMs.
absl::StatusOr<absl::Duration> EffectiveSessionTimeout(int32_t ms);
// rebalance_timeout_ms: 0 means the default; else 1..kMaxRebalanceTimeoutMs.
absl::StatusOr<absl::Duration> EffectiveRebalanceTimeout(int32_t ms);
// "" means the default assignor; otherwise a known one.
absl::StatusOr<std::string> EffectiveAssignor(absl::string_view name);
// subscribed_topics: valid topic names (none is fine: "unchanged").
absl::StatusOr<std::set<std::string>> ParseSubscription(
    const google::protobuf::RepeatedPtrField<std::string>& topics);
// A TopicPartitions list (`field` names it in errors): valid topic names and
// partitions >= 0.
absl::StatusOr<PartitionSet> ParsePartitions(absl::string_view field,
                                             const TopicPartitionsList& list);
// An offset to store: offset >= 0, metadata at most kMaxOffsetMetadataBytes.
absl::Status ValidateOffset(const v1::PartitionOffset& offset);

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_VALIDATION_H_
