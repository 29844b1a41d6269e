// Partition reassignment (Kafka's AlterPartitionReassignments) as pure
// functions on a partition's replication state, like the election rules next
// to it. The Coordinator applies them for ReassignPartitions and
// BalanceCluster, and checks for completion after every ISR change and on
// every Tick; docs/operations.md describes the whole lifecycle.
//
// The state of a reassignment lives in the partition itself, so it is
// persisted with the topic and reaches the brokers with the metadata:
//  - replicas = the target replicas (in target order), then the replicas
//    being removed (in their old order). The target is thus `replicas`
//    without `removing_replicas`, and its first broker is the preferred
//    leader once the move is done.
//  - adding_replicas: target replicas that are still copying (they were not
//    replicas before, or were being added by the reassignment this one
//    replaced). They are followers outside the ISR until the leader adds
//    them.
//  - removing_replicas: replicas not in the target. They keep serving (and
//    leading, if they lead) until the adding replicas are in sync.
//  - reassignment_throttle_bytes: the copy rate the adding replicas honour.
// Leadership does not move to the new preferred replica during the copy (the
// preferred-leader election skips partitions being reassigned): producers and
// consumers keep their leader until the end.
//
// Completion, once every adding replica is in the ISR (and the partition has
// a leader): replicas = target, ISR = ISR restricted to the target, the
// reassignment fields cleared, and, if the leader is being removed, the first
// target replica that is live and in sync leads (a new leader epoch), like a
// preferred-leader election. One partition epoch bump per change.
//
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_ELECTION_REASSIGNMENT_H_
#define RUNNEL_COORDINATOR_ELECTION_REASSIGNMENT_H_

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::election {

// Whether a reassignment of `partition` is in progress.
bool ReassignmentInProgress(const v1::PartitionInfo& partition);

// The replicas the partition ends with: `replicas` without the ones being
// removed, in order (just `replicas` when no reassignment runs).
std::vector<int32_t> TargetReplicas(const v1::PartitionInfo& partition);

// Checks a requested target for partition `topic`-`partition`:
// InvalidArgument when it lists a broker twice, does not have
// `replication_factor` brokers or names a broker not in `known`;
// FailedPrecondition when a broker it adds (one not a replica yet) is not in
// `live`. Brokers that already hold a replica may be down: moving one replica
// of a partition must not wait for another to come back.
absl::Status ValidateTarget(absl::string_view topic, const v1::PartitionInfo& partition,
                            const std::vector<int32_t>& target, int32_t replication_factor,
                            const std::set<int32_t>& known, const std::set<int32_t>& live);

// The partition with a reassignment to `target` started (replacing the one
// in progress, if any), its partition epoch bumped; nullopt when that changes
// nothing. A target that only reorders the replicas (and no copy is in
// progress) needs no copying: the replicas are reordered at once and no
// reassignment remains, so the preferred-leader election moves leadership.
// `target` must have passed ValidateTarget.
std::optional<v1::PartitionInfo> StartReassignment(const v1::PartitionInfo& partition,
                                                   const std::vector<int32_t>& target,
                                                   int64_t throttle_bytes_per_second);

// The partition with its reassignment completed (see above), or nullopt when
// none is in progress or it cannot complete yet: an adding replica is not in
// the ISR, the partition has no leader, or the leader is being removed and no
// target replica is live and in sync.
std::optional<v1::PartitionInfo> CompleteReassignment(const v1::PartitionInfo& partition,
                                                      const std::set<int32_t>& live);

}  // namespace runnel::coordinator::election

#endif  // RUNNEL_COORDINATOR_ELECTION_REASSIGNMENT_H_
