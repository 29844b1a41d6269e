#include "coordinator/election/election.h"

#include <algorithm>
#include <functional>

#include "absl/strings/str_join.h"
#include "coordinator/errors.h"

namespace runnel::coordinator::election {
namespace {

template <typename Ids>
bool Contains(const Ids& ids, int32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// The first replica, in replica order, that `eligible` accepts, or kNoLeader.
int32_t FirstReplica(const v1::PartitionInfo& partition,
                     const std::function<bool(int32_t)>& eligible) {
  for (int32_t replica : partition.replicas()) {
    if (eligible(replica)) return replica;
  }
  return kNoLeader;
}

// `before` with the given leader and ISR, its epochs bumped once: the leader
// epoch when `new_term` (leadership was reassigned, possibly to the same
// broker) or the leader changed, the partition epoch when anything changed.
// nullopt when nothing did.
std::optional<v1::PartitionInfo> Finish(const v1::PartitionInfo& before, int32_t leader,
                                        const std::vector<int32_t>& isr, bool new_term) {
  const bool leader_epoch_moves = new_term || leader != before.leader();
  const bool isr_changed =
      !std::equal(isr.begin(), isr.end(), before.isr().begin(), before.isr().end());
  if (!leader_epoch_moves && !isr_changed) return std::nullopt;
  v1::PartitionInfo next = before;
  next.set_leader(leader);
  if (leader_epoch_moves) next.set_leader_epoch(before.leader_epoch() + 1);
  next.mutable_isr()->Clear();
  next.mutable_isr()->Add(isr.begin(), isr.end());
  next.set_partition_epoch(before.partition_epoch() + 1);
  return next;
}

}  // namespace

std::optional<v1::PartitionInfo> Reconcile(const v1::PartitionInfo& partition,
                                           const Membership& members, bool unclean_allowed) {
  if (partition.replicas().empty()) return std::nullopt;
  auto live = [&](int32_t b) { return members.live.count(b) > 0; };
  // The broker's incarnation that was in the ISR or leading is gone.
  auto gone = [&](int32_t b) { return !live(b) || members.restarted.count(b) > 0; };

  std::vector<int32_t> isr;
  for (int32_t b : partition.isr()) {
    if (!gone(b)) isr.push_back(b);
  }
  if (isr.empty() && !partition.isr().empty()) {
    // The last member keeps its seat: it has every committed record, so it
    // alone can bring the partition back without losing any. When several
    // leave at once, the leader (if in the ISR) has the longest log.
    isr.push_back(Contains(partition.isr(), partition.leader()) ? partition.leader()
                                                                : partition.isr(0));
  }

  int32_t leader = partition.leader();
  const bool leader_stays = leader != kNoLeader && !gone(leader) && Contains(isr, leader);
  if (!leader_stays) {
    // A broker in controlled shutdown keeps a leadership but gets no new one.
    auto electable = [&](int32_t b) { return live(b) && members.shutting_down.count(b) == 0; };
    leader = FirstReplica(partition, [&](int32_t b) { return electable(b) && Contains(isr, b); });
    if (leader == kNoLeader && unclean_allowed) {
      // A replica still copying for a reassignment holds the least data.
      leader = FirstReplica(partition, [&](int32_t b) {
        return electable(b) && !Contains(partition.adding_replicas(), b);
      });
      if (leader == kNoLeader) leader = FirstReplica(partition, electable);
      if (leader != kNoLeader) isr = {leader};
    }
  }
  // An offline partition that stays offline starts no new term.
  const bool new_term = !leader_stays && !(partition.leader() == kNoLeader && leader == kNoLeader);
  return Finish(partition, leader, isr, new_term);
}

std::optional<v1::PartitionInfo> ShutdownBroker(const v1::PartitionInfo& partition, int32_t broker,
                                                const Membership& members) {
  if (!Contains(partition.isr(), broker)) return std::nullopt;
  std::vector<int32_t> isr;
  for (int32_t b : partition.isr()) {
    if (b != broker) isr.push_back(b);
  }
  if (partition.leader() != broker) {
    if (isr.empty()) return std::nullopt;  // the last member keeps its seat
    return Finish(partition, partition.leader(), isr, /*new_term=*/false);
  }
  const int32_t leader = FirstReplica(partition, [&](int32_t b) {
    return b != broker && members.live.count(b) > 0 && members.shutting_down.count(b) == 0 &&
           Contains(isr, b);
  });
  if (leader == kNoLeader) return std::nullopt;
  return Finish(partition, leader, isr, /*new_term=*/true);
}

std::optional<v1::PartitionInfo> ElectPreferred(const v1::PartitionInfo& partition,
                                                const std::set<int32_t>& live) {
  if (partition.replicas().empty()) return std::nullopt;
  // During a reassignment replicas[0] is the target's preferred leader, which
  // may still be copying; the leader moves when the reassignment completes.
  if (!partition.adding_replicas().empty() || !partition.removing_replicas().empty()) {
    return std::nullopt;
  }
  const int32_t preferred = partition.replicas(0);
  if (partition.leader() == preferred || live.count(preferred) == 0 ||
      !Contains(partition.isr(), preferred)) {
    return std::nullopt;
  }
  const std::vector<int32_t> isr(partition.isr().begin(), partition.isr().end());
  return Finish(partition, preferred, isr, /*new_term=*/true);
}

absl::StatusOr<v1::PartitionInfo> AlterIsr(absl::string_view topic,
                                           const v1::PartitionInfo& current,
                                           const IsrProposal& proposal,
                                           const std::set<int32_t>& live) {
  const int32_t p = current.partition();
  if (proposal.broker_id != current.leader()) {
    return NotLeaderError(topic, p, proposal.broker_id, current.leader());
  }
  if (proposal.leader_epoch != current.leader_epoch()) {
    return LeaderEpochMismatchError(topic, p, proposal.leader_epoch, current.leader_epoch());
  }
  if (proposal.partition_epoch != current.partition_epoch()) {
    return PartitionEpochMismatchError(topic, p, proposal.partition_epoch,
                                       current.partition_epoch());
  }
  std::set<int32_t> proposed;
  for (int32_t b : proposal.new_isr) {
    if (!proposed.insert(b).second) return DuplicateIsrMemberError(topic, p, b);
  }
  for (int32_t b : proposal.new_isr) {
    if (!Contains(current.replicas(), b)) {
      return IsrMemberNotReplicaError(topic, p, b, absl::StrJoin(current.replicas(), ","));
    }
  }
  if (proposed.count(current.leader()) == 0) {
    return IsrWithoutLeaderError(topic, p, absl::StrJoin(proposal.new_isr, ","), current.leader());
  }
  for (int32_t b : proposal.new_isr) {
    if (!Contains(current.isr(), b) && live.count(b) == 0) {
      return IsrAddsFencedBrokerError(topic, p, b);
    }
  }

  std::vector<int32_t> isr;
  for (int32_t r : current.replicas()) {
    if (proposed.count(r) > 0) isr.push_back(r);
  }
  std::optional<v1::PartitionInfo> next =
      Finish(current, current.leader(), isr, /*new_term=*/false);
  return next.has_value() ? *next : current;
}

}  // namespace runnel::coordinator::election
