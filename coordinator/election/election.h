// Leader election and ISR rules for one partition, as pure functions on its
// replication state (v1::PartitionInfo). The Coordinator applies them when a
// broker is fenced or registers, when a leader proposes a new ISR
// (AlterPartition), and periodically; keeping them pure keeps every rule
// testable on its own. docs/replication.md describes the whole contract.
//
// The rules:
//  - ISR membership and leadership belong to one incarnation of a broker: a
//    broker that is fenced, or that registers again while its previous
//    registration was still live (it restarted), leaves every ISR and loses
//    every leadership. Except: the last member of an ISR keeps its seat, so
//    that the partition can come back, without losing committed records, when
//    that broker returns.
//  - A partition without a live leader elects the first replica, in replica
//    order, that is live and in the ISR. With none, it goes offline (leader
//    -1), unless unclean leader election is allowed: then the first live
//    replica leads and the ISR becomes just that replica (records committed
//    without it are lost).
//  - Leadership returns to the preferred replica (the first) once it is live
//    and in the ISR, except while the partition is being reassigned.
//  - leader_epoch goes up by one whenever the leader changes (to or from -1
//    too, and when a restarted broker leads the same partition again);
//    partition_epoch goes up by one whenever leader, leader_epoch or ISR
//    change. Each by exactly one per call, however many rules applied.
//  - An ISR is kept in replica order.
//
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_ELECTION_ELECTION_H_
#define RUNNEL_COORDINATOR_ELECTION_ELECTION_H_

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::election {

// PartitionInfo.leader of an offline partition.
inline constexpr int32_t kNoLeader = -1;

// Which brokers may hold a role in a partition.
struct Membership {
  // Registered, not fenced, session not expired.
  std::set<int32_t> live;
  // Live brokers whose previous incarnation ended just now (they registered
  // again while still live): they are treated as having left every ISR.
  std::set<int32_t> restarted;
  // Live brokers in controlled shutdown (ShutdownBroker): never elected
  // leader, not even uncleanly, but they keep what they hold until
  // ShutdownBroker moves it or they are fenced.
  std::set<int32_t> shutting_down;
};

// The partition's state after applying the membership and election rules,
// with its epochs bumped, or nullopt when they change nothing. Reconciling an
// already reconciled partition changes nothing, so it is safe to call at any
// time on every partition.
std::optional<v1::PartitionInfo> Reconcile(const v1::PartitionInfo& partition,
                                           const Membership& members, bool unclean_allowed);

// Controlled shutdown of `broker` (in members.shutting_down): when it leads
// the partition, leadership moves to the first replica, in replica order,
// that is in the ISR, live and not shutting down (a new leader epoch), and
// the broker leaves the ISR; with no such replica nothing changes (it keeps
// leading: no unclean election for a broker that is still up). When it only
// follows, it leaves the ISR unless it is the last member. nullopt when
// nothing changes.
std::optional<v1::PartitionInfo> ShutdownBroker(const v1::PartitionInfo& partition, int32_t broker,
                                                const Membership& members);

// The partition led by its preferred replica, when that replica is live, in
// the ISR and not leading already, and no reassignment is in progress
// (reassignment.h); otherwise nullopt.
std::optional<v1::PartitionInfo> ElectPreferred(const v1::PartitionInfo& partition,
                                                const std::set<int32_t>& live);

// A partition leader's request to change the ISR (AlterPartition), minus the
// broker epoch, which the broker registry checks.
struct IsrProposal {
  int32_t broker_id = 0;
  int32_t leader_epoch = 0;
  int32_t partition_epoch = 0;
  std::vector<int32_t> new_isr;
};

// Checks `proposal` against the partition's current state and returns the
// new state: the proposed ISR in replica order, partition_epoch + 1, leader
// and leader_epoch unchanged; or `current` itself when the proposed ISR is
// the current one. FailedPrecondition (errors.h words each case) when the
// proposer is not the leader, an epoch does not match, a member is not a
// replica, the leader is missing, or a broker not in `live` would join;
// InvalidArgument when a broker is listed twice. `topic` names the partition
// in errors.
absl::StatusOr<v1::PartitionInfo> AlterIsr(absl::string_view topic,
                                           const v1::PartitionInfo& current,
                                           const IsrProposal& proposal,
                                           const std::set<int32_t>& live);

}  // namespace runnel::coordinator::election

#endif  // RUNNEL_COORDINATOR_ELECTION_ELECTION_H_
