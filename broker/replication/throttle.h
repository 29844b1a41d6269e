// TokenBucket: the copy throttle of one partition being reassigned to this
// broker (PartitionInfo.reassignment_throttle_bytes, the limit in bytes per
// second per adding replica). The follower fetcher asks it how many bytes the
// next fetch of the partition may request (the partition's max_bytes) and
// tells it how many arrived. It holds at most a quarter second of tokens, so
// a copy proceeds in small steps rather than in bursts that would starve the
// leader's clients. An answer may exceed the allowance (the leader returns
// whole batches); the debt then delays the next fetch, so the rate over time
// stays at the limit.
//
// It reads no clock: callers pass `now`, so it is unit-tested with fake time.
// Thread-safety: not thread-safe; each fetcher thread owns its buckets.
#ifndef RUNNEL_BROKER_REPLICATION_THROTTLE_H_
#define RUNNEL_BROKER_REPLICATION_THROTTLE_H_

#include <cstdint>

#include "absl/time/time.h"

namespace runnel::replication {

class TokenBucket {
 public:
  // Starts full. `bytes_per_second` must be > 0.
  TokenBucket(int64_t bytes_per_second, absl::Time now);

  // Changes the limit (a new reassignment of the partition); the tokens
  // held are kept, up to the new capacity.
  void SetRate(int64_t bytes_per_second, absl::Time now);
  int64_t rate() const { return rate_; }

  // Bytes the next fetch may ask for: > 0, or 0 while the bucket is empty or
  // in debt (wait until ReadyAt).
  int64_t Allowance(absl::Time now);
  // When Allowance turns positive (`now` if it is).
  absl::Time ReadyAt(absl::Time now);
  // `bytes` arrived (possibly more than allowed).
  void Consume(int64_t bytes);

 private:
  void Refill(absl::Time now);
  double capacity() const;

  int64_t rate_;
  double tokens_;
  absl::Time last_;
};

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_THROTTLE_H_
