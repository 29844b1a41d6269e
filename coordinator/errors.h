// The coordinator's error messages, in one place so that every package words
// the same problem the same way and tests can match on it. Each helper returns
// the absl::Status a caller should propagate; the gRPC edge maps the code.
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_ERRORS_H_
#define RUNNEL_COORDINATOR_ERRORS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace runnel::coordinator {

// --- Topics -----------------------------------------------------------------

inline absl::Status TopicNotFoundError(absl::string_view name) {
  return absl::NotFoundError(absl::StrCat("topic '", name, "' not found"));
}

inline absl::Status TopicExistsError(absl::string_view name) {
  return absl::AlreadyExistsError(absl::StrCat("topic '", name, "' already exists"));
}

inline absl::Status InvalidTopicNameError(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid topic name '", name, "': ", why));
}

// Topic config errors (unknown key, bad value) are common/topic_config.h's,
// shared with the brokers.

// An AlterTopicConfig request that both sets and resets one key.
inline absl::Status TopicConfigSetAndResetError(absl::string_view key) {
  return absl::InvalidArgumentError(
      absl::StrCat("topic config '", key, "' is both set and reset"));
}

// CreatePartitions never shrinks a topic: records are keyed to partitions.
inline absl::Status PartitionCountNotGrowingError(absl::string_view name, int32_t current,
                                                  int32_t requested) {
  return absl::InvalidArgumentError(
      absl::StrCat("total_count must be larger than the current partition count ", current,
                   " of topic '", name, "', got ", requested));
}

// --- Brokers ----------------------------------------------------------------

inline absl::Status BrokerIdInUseError(int32_t id, absl::string_view live_address) {
  return absl::AlreadyExistsError(
      absl::StrCat("broker id ", id, " is held by a live broker at ", live_address));
}

// Heartbeat refusals are all FailedPrecondition: the broker's one remedy for
// any of them is to register again.
inline absl::Status BrokerNotRegisteredError(int32_t id) {
  return absl::FailedPreconditionError(
      absl::StrCat("broker ", id, " is not registered: register first"));
}

inline absl::Status BrokerFencedError(int32_t id) {
  return absl::FailedPreconditionError(
      absl::StrCat("broker ", id, " is fenced (session expired): register again"));
}

inline absl::Status StaleBrokerEpochError(int32_t id, int64_t got, int64_t current) {
  return absl::FailedPreconditionError(absl::StrCat(
      "broker ", id, " epoch ", got, " is not the current epoch ", current, ": register again"));
}

// --- Placement --------------------------------------------------------------

inline absl::Status NotEnoughBrokersError(int32_t replication_factor, int32_t live_brokers) {
  return absl::FailedPreconditionError(absl::StrCat(
      "replication factor ", replication_factor, " exceeds the ", live_brokers, " live broker(s)"));
}

// --- Replication ------------------------------------------------------------
// AlterPartition refusals. Those about the proposal's view of the partition
// (leader, epochs, ISR) are FailedPrecondition: the proposal was made against
// a state that is no longer (or never was) current, and the leader's remedy is
// to refresh metadata and decide again; it must not resend the same request.
// Partitions are named "topic-partition", as the brokers name them.

inline std::string PartitionName(absl::string_view topic, int32_t partition) {
  return absl::StrCat(topic, "-", partition);
}

inline absl::Status TopicIdNotFoundError(uint64_t topic_id) {
  return absl::NotFoundError(absl::StrCat("topic id ", topic_id, " not found"));
}

inline absl::Status PartitionNotFoundError(absl::string_view topic, int32_t partition,
                                           int32_t partitions) {
  return absl::NotFoundError(absl::StrCat("partition ", partition, " out of range for topic '",
                                          topic, "' (", partitions, " partitions)"));
}

// `leader` is -1 when the partition is offline.
inline absl::Status NotLeaderError(absl::string_view topic, int32_t partition, int32_t broker,
                                   int32_t leader) {
  return absl::FailedPreconditionError(absl::StrCat(
      "broker ", broker, " is not the leader of ", PartitionName(topic, partition),
      leader < 0 ? " (it is offline)" : absl::StrCat(" (leader is broker ", leader, ")")));
}

inline absl::Status LeaderEpochMismatchError(absl::string_view topic, int32_t partition,
                                             int32_t got, int32_t current) {
  return absl::FailedPreconditionError(absl::StrCat("leader epoch ", got, " of ",
                                                    PartitionName(topic, partition),
                                                    " is not the current leader epoch ", current));
}

inline absl::Status PartitionEpochMismatchError(absl::string_view topic, int32_t partition,
                                                int32_t got, int32_t current) {
  return absl::FailedPreconditionError(
      absl::StrCat("partition epoch ", got, " of ", PartitionName(topic, partition),
                   " is not the current partition epoch ", current));
}

// A proposal that lists a broker twice is malformed, not stale.
inline absl::Status DuplicateIsrMemberError(absl::string_view topic, int32_t partition,
                                            int32_t broker) {
  return absl::InvalidArgumentError(absl::StrCat(
      "proposed ISR of ", PartitionName(topic, partition), " lists broker ", broker, " twice"));
}

inline absl::Status IsrMemberNotReplicaError(absl::string_view topic, int32_t partition,
                                             int32_t broker, absl::string_view replicas) {
  return absl::FailedPreconditionError(
      absl::StrCat("proposed ISR member ", broker, " is not a replica of ",
                   PartitionName(topic, partition), " (replicas ", replicas, ")"));
}

inline absl::Status IsrWithoutLeaderError(absl::string_view topic, int32_t partition,
                                          absl::string_view isr, int32_t leader) {
  return absl::FailedPreconditionError(absl::StrCat("proposed ISR [", isr, "] of ",
                                                    PartitionName(topic, partition),
                                                    " does not contain the leader ", leader));
}

inline absl::Status IsrAddsFencedBrokerError(absl::string_view topic, int32_t partition,
                                             int32_t broker) {
  return absl::FailedPreconditionError(
      absl::StrCat("broker ", broker, " cannot join the ISR of ", PartitionName(topic, partition),
                   ": it is fenced (not registered with a live session)"));
}

// --- Reassignment and balance -------------------------------------------------
// ReassignPartitions and BalanceCluster. A malformed target is
// InvalidArgument; a target that is fine but cannot be acted on now (a broker
// to add is down, a drained broker's replicas have nowhere to go) is
// FailedPrecondition.

inline absl::Status ReassignmentTopicNotFoundError(absl::string_view topic) {
  return absl::InvalidArgumentError(absl::StrCat("cannot reassign: topic '", topic, "' not found"));
}

inline absl::Status ReassignmentPartitionNotFoundError(absl::string_view topic, int32_t partition,
                                                       int32_t partitions) {
  return absl::InvalidArgumentError(absl::StrCat("cannot reassign: partition ", partition,
                                                 " out of range for topic '", topic, "' (",
                                                 partitions, " partitions)"));
}

inline absl::Status ReassignmentListedTwiceError(absl::string_view topic, int32_t partition) {
  return absl::InvalidArgumentError(
      absl::StrCat("partition ", PartitionName(topic, partition), " is listed twice"));
}

inline absl::Status TargetReplicasDuplicateError(absl::string_view topic, int32_t partition,
                                                 int32_t broker) {
  return absl::InvalidArgumentError(absl::StrCat(
      "target replicas of ", PartitionName(topic, partition), " list broker ", broker, " twice"));
}

inline absl::Status TargetReplicasCountError(absl::string_view topic, int32_t partition,
                                             int32_t replication_factor, int32_t got) {
  return absl::InvalidArgumentError(
      absl::StrCat("target replicas of ", PartitionName(topic, partition), " must be ",
                   replication_factor, " broker(s) (the topic's replication factor), got ", got));
}

inline absl::Status UnknownBrokerError(int32_t broker) {
  return absl::InvalidArgumentError(absl::StrCat("broker ", broker, " is not registered"));
}

inline absl::Status TargetBrokerNotLiveError(absl::string_view topic, int32_t partition,
                                             int32_t broker) {
  return absl::FailedPreconditionError(absl::StrCat("broker ", broker,
                                                    " is not live: it cannot become a replica of ",
                                                    PartitionName(topic, partition)));
}

inline absl::Status NegativeThrottleError(int64_t throttle) {
  return absl::InvalidArgumentError(
      absl::StrCat("throttle_bytes_per_second must be >= 0, got ", throttle));
}

// --- Consumer groups ----------------------------------------------------------
// Request-wide problems are gRPC statuses; per-member and per-partition ones
// (UNKNOWN_MEMBER_ID, STALE_GENERATION) are ErrorCodes in the responses.

inline absl::Status InvalidGroupIdError(absl::string_view id, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid group_id '", id, "': ", why));
}

inline absl::Status GroupNotFoundError(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("group '", id, "' not found"));
}

inline absl::Status GroupHasMembersError(absl::string_view id, size_t members) {
  return absl::FailedPreconditionError(
      absl::StrCat("group '", id, "' has ", members, " live member(s): stop its consumers first"));
}

inline absl::Status UnknownAssignorError(absl::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown assignor '", name, "': use range, roundrobin or cooperative-sticky"));
}

inline absl::Status AssignorMismatchError(absl::string_view group, absl::string_view wanted,
                                          absl::string_view used) {
  return absl::InvalidArgumentError(absl::StrCat("assignor '", wanted, "' differs from group '",
                                                 group, "''s assignor '", used, "'"));
}

// --- Storage ----------------------------------------------------------------

// A stored value that does not parse: the data dir is damaged or was written
// by an incompatible version. Refuse to start rather than guess.
inline absl::Status CorruptMetadataError(absl::string_view key, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("corrupt coordinator metadata at key '", key, "': ", what));
}

}  // namespace runnel::coordinator

#endif  // RUNNEL_COORDINATOR_ERRORS_H_
