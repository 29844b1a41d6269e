// Plans replica moves that even out a running cluster: what `runnel cluster
// balance` shows with --dry-run and then carries out, and what decommission
// runs with one broker drained.
//
// Given every partition's replica list (preferred leader first) and the
// brokers, it returns a new replica list for each partition that should
// change, aiming, in order, at:
//  1. no replica on a draining broker (decommission);
//  2. replicas per eligible broker (alive, not draining) within one of each
//     other;
//  3. preferred leaders per eligible broker within one of each other, by
//     reordering replica lists first (that moves no data) and only then by
//     nothing else: leader balance never moves data;
// while keeping each partition's replicas on distinct brokers, never putting
// two replicas on one rack when the partition had them on distinct racks,
// and moving as few replicas as it can (greedy: always from the most loaded
// broker to the least loaded one that may take it). Replicas on fenced
// (dead) brokers stay put: a broker that is down may come back; drain it
// explicitly to move its replicas.
//
// Deterministic (partitions in topic/partition order, ties by broker id), so
// a dry run shows exactly what a real run does.
//
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_PLACEMENT_BALANCE_H_
#define RUNNEL_COORDINATOR_PLACEMENT_BALANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runnel::coordinator::placement {

struct BalanceBroker {
  int32_t id = 0;
  std::string rack;       // "" when unknown: then it counts as its own rack
  bool alive = true;      // registered with a live session
  bool draining = false;  // being decommissioned: must end with no replica
};

struct BalancePartition {
  std::string topic;
  int32_t partition = 0;
  std::vector<int32_t> replicas;  // preferred leader first
};

struct ReplicaMove {
  std::string topic;
  int32_t partition = 0;
  std::vector<int32_t> from;  // replicas now
  std::vector<int32_t> to;    // replicas after the move, preferred leader first
  // Replicas the move copies data to (in `to`, not in `from`); empty when the
  // move only reorders (a leader change).
  std::vector<int32_t> added;
};

// The moves that balance `partitions` over `brokers`. FailedPrecondition
// when a draining broker's replicas have nowhere to go (fewer eligible
// brokers than the replication factor).
absl::StatusOr<std::vector<ReplicaMove>> PlanBalance(const std::vector<BalanceBroker>& brokers,
                                                     std::vector<BalancePartition> partitions);

}  // namespace runnel::coordinator::placement

#endif  // RUNNEL_COORDINATOR_PLACEMENT_BALANCE_H_
