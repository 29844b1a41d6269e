// Replica placement for the partitions of a new topic: which live brokers hold
// each partition's replicas, the first of them being the preferred leader.
//
// Goals, in order:
//  1. the replicas of a partition are on distinct brokers;
//  2. leaders, then replicas, spread evenly over the brokers, counting the
//     load they already carry (so topic after topic evens out);
//  3. with racks, the replicas of a partition are on distinct racks when
//     there are enough racks (a broker without a rack counts as its own rack).
// It is a greedy round-robin: each partition takes the least-loaded broker as
// leader and the least-loaded brokers on unused racks as followers, ties going
// to the broker after the previous partition's leader so that equal loads
// rotate. Deterministic, so tests and operators can predict it.
//
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_PLACEMENT_PLACEMENT_H_
#define RUNNEL_COORDINATOR_PLACEMENT_PLACEMENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace runnel::coordinator::placement {

// A live broker that may receive replicas, with the load it already has.
struct Candidate {
  int32_t broker_id = 0;
  std::string rack;      // "" when unknown
  int32_t replicas = 0;  // replicas it holds now (led or followed)
  int32_t leaders = 0;   // partitions it leads now
};

// One replica list per partition (partition i at index i), each of
// `replication_factor` distinct broker ids, preferred leader first.
// InvalidArgument for partitions < 1 or replication_factor < 1;
// FailedPrecondition when replication_factor exceeds the candidates.
absl::StatusOr<std::vector<std::vector<int32_t>>> PlaceReplicas(int32_t partitions,
                                                                int32_t replication_factor,
                                                                std::vector<Candidate> brokers);

}  // namespace runnel::coordinator::placement

#endif  // RUNNEL_COORDINATOR_PLACEMENT_PLACEMENT_H_
