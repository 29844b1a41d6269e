#include "broker/replication/partition_state.h"

#include <algorithm>

namespace runnel::replication {

LeaderState::LeaderState(int32_t self, std::vector<int32_t> replicas, std::vector<int32_t> isr,
                         int32_t leader_epoch, int64_t epoch_start_offset, int64_t initial_hw,
                         absl::Time now)
    : self_(self),
      replicas_(std::move(replicas)),
      isr_(std::move(isr)),
      leader_epoch_(leader_epoch),
      epoch_start_offset_(epoch_start_offset),
      hw_(initial_hw) {
  AddFollowers(now);
}

void LeaderState::AddFollowers(absl::Time now) {
  for (int32_t r : replicas_) {
    if (r == self_ || followers_.count(r) > 0) continue;
    Follower& f = followers_[r];
    f.last_caught_up = now;
    f.prev_fetch_time = now;
  }
}

void LeaderState::SetReplicas(std::vector<int32_t> replicas, absl::Time now) {
  replicas_ = std::move(replicas);
  for (auto it = followers_.begin(); it != followers_.end();) {
    if (std::find(replicas_.begin(), replicas_.end(), it->first) == replicas_.end()) {
      it = followers_.erase(it);
    } else {
      ++it;
    }
  }
  AddFollowers(now);
}

bool LeaderState::InIsr(int32_t replica) const {
  return std::find(isr_.begin(), isr_.end(), replica) != isr_.end();
}

void LeaderState::RecordFetch(int32_t replica, int64_t broker_epoch, int64_t fetch_offset,
                              int64_t leader_leo, absl::Time now) {
  auto it = followers_.find(replica);
  if (it == followers_.end()) return;  // not a follower of this partition
  Follower& f = it->second;
  if (broker_epoch < f.broker_epoch) return;  // a zombie incarnation
  if (broker_epoch > f.broker_epoch) {
    // A new incarnation: what the old one held says nothing about this one.
    f.broker_epoch = broker_epoch;
    f.leo = -1;
    f.prev_leader_leo = -1;
  }
  f.leo = fetch_offset;
  if (fetch_offset >= leader_leo) {
    f.last_caught_up = now;
  } else if (f.prev_leader_leo >= 0 && fetch_offset >= f.prev_leader_leo) {
    f.last_caught_up = std::max(f.last_caught_up, f.prev_fetch_time);
  }
  f.prev_leader_leo = leader_leo;
  f.prev_fetch_time = now;
}

void LeaderState::ObserveBrokerEpochs(const std::map<int32_t, int64_t>& epochs) {
  for (auto& [id, f] : followers_) {
    auto it = epochs.find(id);
    if (it == epochs.end() || it->second <= f.broker_epoch) continue;
    f.broker_epoch = it->second;
    f.leo = -1;
    f.prev_leader_leo = -1;
  }
}

bool LeaderState::UpdateHighWatermark(int64_t leader_leo) {
  std::vector<int32_t> members = isr_;
  if (pending_) members.insert(members.end(), pending_->begin(), pending_->end());
  int64_t min_leo = leader_leo;
  for (int32_t r : members) {
    if (r == self_) continue;
    auto it = followers_.find(r);
    // An ISR member whose progress is unknown holds the HW where it is.
    int64_t leo = it == followers_.end() ? -1 : it->second.leo;
    min_leo = std::min(min_leo, leo);
  }
  if (min_leo <= hw_) return false;
  hw_ = min_leo;
  return true;
}

std::optional<std::vector<int32_t>> LeaderState::IsrProposal(absl::Time now,
                                                             absl::Duration max_lag) const {
  if (pending_) return std::nullopt;
  bool changed = false;
  std::vector<int32_t> next;
  for (int32_t r : replicas_) {
    if (r == self_) {
      next.push_back(r);
      continue;
    }
    const Follower& f = followers_.at(r);
    if (InIsr(r)) {
      if (now - f.last_caught_up > max_lag) {
        changed = true;  // lagging: leaves
      } else {
        next.push_back(r);
      }
    } else if (f.leo >= 0 && f.leo >= hw_ && f.leo >= epoch_start_offset_) {
      next.push_back(r);  // caught up: joins
      changed = true;
    }
  }
  if (!changed) return std::nullopt;
  return next;
}

void LeaderState::SetPending(std::vector<int32_t> proposed) { pending_ = std::move(proposed); }

void LeaderState::ClearPending() { pending_.reset(); }

void LeaderState::ApplyIsr(std::vector<int32_t> isr) {
  isr_ = std::move(isr);
  pending_.reset();
}

int64_t LeaderState::FollowerLeo(int32_t replica) const {
  auto it = followers_.find(replica);
  return it == followers_.end() ? -1 : it->second.leo;
}

Truncation FollowerTruncation(int64_t log_start, int64_t log_end,
                              std::optional<std::pair<int32_t, int64_t>> own_end_for_epoch,
                              int64_t leader_end_offset) {
  int64_t target = own_end_for_epoch ? std::min(leader_end_offset, own_end_for_epoch->second)
                                     : std::min(leader_end_offset, log_start);
  target = std::min(target, log_end);
  if (target < log_start) return {Truncation::kReset, target};
  return {Truncation::kTruncate, target};
}

}  // namespace runnel::replication
