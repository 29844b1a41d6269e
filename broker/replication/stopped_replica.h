// Test support: reads a partition replica straight from the data directory of
// a broker that is not running, so integration tests can compare the logs of
// a partition's replicas offset by offset (no RPC reads a follower's log).
// Thread-safety: a pure function; the broker must be stopped (RocksDB locks
// its directory).
#ifndef RUNNEL_BROKER_REPLICATION_STOPPED_REPLICA_H_
#define RUNNEL_BROKER_REPLICATION_STOPPED_REPLICA_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace runnel::replication {

// Every record of partition (topic_id, partition) below `end_offset`, by
// offset, as "<value>" ("<null>" for a tombstone). NotFound if the broker
// holds no such partition.
absl::StatusOr<std::map<int64_t, std::string>> ReadStoppedReplica(const std::string& data_dir,
                                                                  uint64_t topic_id,
                                                                  int32_t partition,
                                                                  int64_t end_offset);

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_STOPPED_REPLICA_H_
