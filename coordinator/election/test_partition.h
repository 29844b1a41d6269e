// Test support for the election and reassignment rules' tests: the
// partition state a test starts from.
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_ELECTION_TEST_PARTITION_H_
#define RUNNEL_COORDINATOR_ELECTION_TEST_PARTITION_H_

#include <cstdint>
#include <vector>

#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::election {

// Partition 0 with replicas `replicas`, leader `leader`, ISR `isr`, leader
// epoch 5 and partition epoch 10 (so bumps are visible).
inline v1::PartitionInfo Partition(const std::vector<int32_t>& replicas, int32_t leader,
                                   const std::vector<int32_t>& isr) {
  v1::PartitionInfo p;
  p.set_partition(0);
  p.set_leader(leader);
  p.set_leader_epoch(5);
  p.mutable_replicas()->Add(replicas.begin(), replicas.end());
  p.mutable_isr()->Add(isr.begin(), isr.end());
  p.set_partition_epoch(10);
  return p;
}

}  // namespace runnel::coordinator::election

#endif  // RUNNEL_COORDINATOR_ELECTION_TEST_PARTITION_H_
