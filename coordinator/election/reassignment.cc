#include "coordinator/election/reassignment.h"

#include <algorithm>

#include "coordinator/election/election.h"
#include "coordinator/errors.h"

namespace runnel::coordinator::election {
namespace {

template <typename Ids>
bool Contains(const Ids& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

template <typename Ids>
void Assign(const std::vector<int32_t>& ids, Ids* field) {
  field->Clear();
  field->Add(ids.begin(), ids.end());
}

// `partition` with `replicas`, its ISR put in their order (the ISR is kept in
// replica order) and restricted to them.
v1::PartitionInfo WithReplicas(const v1::PartitionInfo& partition,
                               const std::vector<int32_t>& replicas) {
  v1::PartitionInfo next = partition;
  std::vector<int32_t> isr;
  for (int32_t r : replicas) {
    if (Contains(partition.isr(), r)) isr.push_back(r);
  }
  Assign(replicas, next.mutable_replicas());
  Assign(isr, next.mutable_isr());
  return next;
}

void ClearReassignment(v1::PartitionInfo* partition) {
  partition->clear_adding_replicas();
  partition->clear_removing_replicas();
  partition->set_reassignment_throttle_bytes(0);
}

}  // namespace

bool ReassignmentInProgress(const v1::PartitionInfo& partition) {
  return !partition.adding_replicas().empty() || !partition.removing_replicas().empty();
}

std::vector<int32_t> TargetReplicas(const v1::PartitionInfo& partition) {
  std::vector<int32_t> target;
  for (int32_t r : partition.replicas()) {
    if (!Contains(partition.removing_replicas(), r)) target.push_back(r);
  }
  return target;
}

absl::Status ValidateTarget(absl::string_view topic, const v1::PartitionInfo& partition,
                            const std::vector<int32_t>& target, int32_t replication_factor,
                            const std::set<int32_t>& known, const std::set<int32_t>& live) {
  const int32_t p = partition.partition();
  std::set<int32_t> seen;
  for (int32_t b : target) {
    if (!seen.insert(b).second) return TargetReplicasDuplicateError(topic, p, b);
  }
  if (static_cast<int32_t>(target.size()) != replication_factor) {
    return TargetReplicasCountError(topic, p, replication_factor,
                                    static_cast<int32_t>(target.size()));
  }
  for (int32_t b : target) {
    if (known.count(b) == 0) return UnknownBrokerError(b);
  }
  for (int32_t b : target) {
    if (!Contains(partition.replicas(), b) && live.count(b) == 0) {
      return TargetBrokerNotLiveError(topic, p, b);
    }
  }
  return absl::OkStatus();
}

std::optional<v1::PartitionInfo> StartReassignment(const v1::PartitionInfo& partition,
                                                   const std::vector<int32_t>& target,
                                                   int64_t throttle_bytes_per_second) {
  // A replica still copying for the reassignment being replaced keeps
  // copying if the new target keeps it: it is not in sync yet either way.
  std::vector<int32_t> adding;
  for (int32_t b : target) {
    if (!Contains(partition.replicas(), b) || Contains(partition.adding_replicas(), b)) {
      adding.push_back(b);
    }
  }
  std::vector<int32_t> removing;
  for (int32_t r : partition.replicas()) {
    if (!Contains(target, r)) removing.push_back(r);
  }
  std::vector<int32_t> replicas = target;
  replicas.insert(replicas.end(), removing.begin(), removing.end());

  v1::PartitionInfo next = WithReplicas(partition, replicas);
  if (adding.empty() && removing.empty()) {
    ClearReassignment(&next);  // a reorder, or back to the replicas held
  } else {
    Assign(adding, next.mutable_adding_replicas());
    Assign(removing, next.mutable_removing_replicas());
    next.set_reassignment_throttle_bytes(throttle_bytes_per_second);
  }
  next.set_partition_epoch(partition.partition_epoch());
  if (next.SerializeAsString() == partition.SerializeAsString()) return std::nullopt;
  next.set_partition_epoch(partition.partition_epoch() + 1);
  return next;
}

std::optional<v1::PartitionInfo> CompleteReassignment(const v1::PartitionInfo& partition,
                                                      const std::set<int32_t>& live) {
  if (!ReassignmentInProgress(partition) || partition.leader() == kNoLeader) return std::nullopt;
  for (int32_t b : partition.adding_replicas()) {
    if (!Contains(partition.isr(), b)) return std::nullopt;
  }
  v1::PartitionInfo next = WithReplicas(partition, TargetReplicas(partition));
  if (!Contains(next.replicas(), partition.leader())) {
    // The leader is being removed: the first target replica in sync takes
    // over, as in a preferred-leader election.
    auto successor = std::find_if(next.isr().begin(), next.isr().end(),
                                  [&live](int32_t b) { return live.count(b) > 0; });
    if (successor == next.isr().end()) return std::nullopt;
    next.set_leader(*successor);
    next.set_leader_epoch(partition.leader_epoch() + 1);
  }
  ClearReassignment(&next);
  next.set_partition_epoch(partition.partition_epoch() + 1);
  return next;
}

}  // namespace runnel::coordinator::election
