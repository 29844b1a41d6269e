// LeaderState: the leader-side replication bookkeeping of one partition this
// broker leads (docs/replication.md, "What the broker side must do"): each
// follower's log end offset (LEO) as reported by its fetches, the high
// watermark (HW = min LEO over the ISR, only moving forward), and the ISR
// shrink / expand decisions. It does no I/O and reads no clock: callers pass
// `now`, so every decision is unit-tested with a fake time.
//
// Also the follower-side truncation decision (KIP-101 / KIP-279) as a pure
// function, FollowerTruncation.
//
// Thread-safety: LeaderState is not thread-safe; its owner (ReplicaManager's
// per-partition replica) serialises calls under its own mutex.
#ifndef RUNNEL_BROKER_REPLICATION_PARTITION_STATE_H_
#define RUNNEL_BROKER_REPLICATION_PARTITION_STATE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace runnel::replication {

class LeaderState {
 public:
  // `self` leads in `leader_epoch`, which started at `epoch_start_offset` (the
  // leader's LEO when it took over). `initial_hw` is the HW it held before
  // (as follower, or the log start after a restart): the HW never goes below
  // it. Followers' progress is unknown until they fetch; their last caught-up
  // time starts at `now`, so a follower that never fetches leaves the ISR
  // after the lag time.
  LeaderState(int32_t self, std::vector<int32_t> replicas, std::vector<int32_t> isr,
              int32_t leader_epoch, int64_t epoch_start_offset, int64_t initial_hw,
              absl::Time now);

  // A follower fetched at `fetch_offset` (its LEO) with `broker_epoch`, while
  // the leader's LEO was `leader_leo`. Progress recorded under an older broker
  // epoch is forgotten first. Call only for fetches that passed every check
  // (replica, epochs, divergence).
  void RecordFetch(int32_t replica, int64_t broker_epoch, int64_t fetch_offset,
                   int64_t leader_leo, absl::Time now);

  // Metadata shows these broker epochs: forget progress made by older
  // incarnations, so a restarted follower rejoins on what it holds now.
  void ObserveBrokerEpochs(const std::map<int32_t, int64_t>& epochs);

  // Recomputes the HW from the ISR (the union of the ISR and the pending
  // proposal while one is in flight) with the leader's LEO `leader_leo`.
  // Returns true if it moved. It never moves backwards nor past leader_leo.
  bool UpdateHighWatermark(int64_t leader_leo);
  int64_t high_watermark() const { return hw_; }

  // The ISR to propose now, or nullopt: followers in the ISR that were not
  // caught up within `max_lag` leave; followers outside it whose LEO reached
  // the HW and the start of this leader epoch join. Nothing while a proposal
  // is pending. The result is in replica order and includes self.
  std::optional<std::vector<int32_t>> IsrProposal(absl::Time now, absl::Duration max_lag) const;

  // An AlterPartition carrying `proposed` is in flight (until ApplyIsr or
  // ClearPending); the HW is computed over the ISR and `proposed` together.
  void SetPending(std::vector<int32_t> proposed);
  void ClearPending();
  bool pending() const { return pending_.has_value(); }

  // A newer committed ISR (AlterPartition response or metadata); clears the
  // pending proposal.
  void ApplyIsr(std::vector<int32_t> isr);
  const std::vector<int32_t>& isr() const { return isr_; }

  // A reassignment changed the replicas within this leader epoch: new
  // followers start with unknown progress (caught up as of `now`, like at
  // the start of the epoch) and join the ISR once they catch up; removed
  // ones are forgotten.
  void SetReplicas(std::vector<int32_t> replicas, absl::Time now);
  int32_t leader_epoch() const { return leader_epoch_; }

  // A follower's known LEO, or -1 when unknown (tests and logs).
  int64_t FollowerLeo(int32_t replica) const;

 private:
  struct Follower {
    int64_t broker_epoch = -1;  // incarnation the progress below belongs to
    int64_t leo = -1;           // -1: unknown
    absl::Time last_caught_up;
    // Leader LEO and time at the follower's previous fetch: a follower that
    // fetched up to the leader's LEO of its previous fetch was caught up then
    // (Kafka's rule; under steady produce it is never exactly at the end).
    int64_t prev_leader_leo = -1;
    absl::Time prev_fetch_time;
  };
  bool InIsr(int32_t replica) const;
  // Starts tracking the replicas not tracked yet (but self).
  void AddFollowers(absl::Time now);

  const int32_t self_;
  std::vector<int32_t> replicas_;
  std::vector<int32_t> isr_;
  const int32_t leader_epoch_;
  const int64_t epoch_start_offset_;
  int64_t hw_;
  std::map<int32_t, Follower> followers_;
  std::optional<std::vector<int32_t>> pending_;
};

// What a follower does with its log after a fetch answered with
// diverging_epoch = {epoch, end_offset} (docs/replication.md, truncation).
struct Truncation {
  enum Kind { kTruncate, kReset } kind = kTruncate;
  // kTruncate: TruncateSuffix(offset); kReset: ResetTo(offset).
  int64_t offset = 0;
};

// `own_end_for_epoch` is the follower's EndOffsetForEpoch(diverging epoch)
// (nullopt when it holds no epoch <= it); the follower truncates to the
// smaller of that end and the leader's end offset, or to its log start when
// it holds no such epoch. Below its own log start it starts over (ResetTo).
Truncation FollowerTruncation(int64_t log_start, int64_t log_end,
                              std::optional<std::pair<int32_t, int64_t>> own_end_for_epoch,
                              int64_t leader_end_offset);

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_PARTITION_STATE_H_
