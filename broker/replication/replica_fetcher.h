// ReplicaFetcherManager: the follower side of replication. It keeps one
// fetcher thread per leader broker this broker follows partitions from; each
// thread sends that leader one Fetch for all of them (replica_id = this
// broker, its broker epoch, fetch_offset = the local log end, the leader
// epoch it follows and the epoch of its last batch) and hands every
// partition's answer to ReplicaManager::ApplyFollowerFetch, which appends,
// truncates or starts over. docs/replication.md describes the protocol.
//
// Update() is fed the follow set by ReplicaManager after every metadata
// change: fetchers start, change partitions, or stop (a partition this broker
// now leads is no longer in the set).
//
// A partition this broker copies for a reassignment with a throttle
// (FollowedPartition::throttle_bytes_per_second) is fetched through a
// TokenBucket (throttle.h): its max_bytes is capped by the bucket's
// allowance, and it is left out of fetches while the bucket is empty.
//
// Ownership: owns its threads and gRPC channels; borrows the ReplicaManager,
// which must outlive it. Thread-safety: all methods are thread-safe.
#ifndef RUNNEL_BROKER_REPLICATION_REPLICA_FETCHER_H_
#define RUNNEL_BROKER_REPLICATION_REPLICA_FETCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/replication/replica_manager.h"

namespace runnel::replication {

struct ReplicaFetcherOptions {
  // This broker's id (sent as replica_id).
  int32_t broker_id = 0;
  // The current broker epoch (0 while unregistered: nothing is fetched).
  std::function<int64_t()> broker_epoch;
  // Long-poll wait of each fetch: bounds how late a follower sees new data
  // only when the leader is idle (it answers as soon as data arrives).
  absl::Duration max_wait = absl::Milliseconds(500);
  // Upper bound on each fetch answer's bytes.
  int32_t max_bytes = 16 << 20;
  // Largest gRPC message accepted (must exceed max_bytes plus one batch).
  int32_t max_grpc_message_bytes = 64 << 20;
  // Pause after a failed fetch or a partition error, so a leader that is
  // down or not yet aware of its leadership is not hammered.
  absl::Duration error_backoff = absl::Milliseconds(100);
};

class ReplicaFetcherManager {
 public:
  ReplicaFetcherManager(ReplicaFetcherOptions options, ReplicaManager* replicas);
  ~ReplicaFetcherManager();  // Stop()

  // Makes the fetchers match `follow`.
  void Update(const FollowSet& follow);
  // Stops every fetcher thread (cancelling fetches in flight).
  void Stop();

 private:
  class Fetcher;

  const ReplicaFetcherOptions options_;
  ReplicaManager* const replicas_;
  absl::Mutex mu_;
  std::map<int32_t, std::unique_ptr<Fetcher>> fetchers_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_REPLICA_FETCHER_H_
