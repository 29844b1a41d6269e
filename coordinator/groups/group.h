// Group: the membership state machine of one consumer group (docs/consumer-
// groups.md). It tracks live members, computes the target assignment with
// the group's assignor at every rebalance (generation + 1), and hands each
// member the part of its target that no other member still holds, so that a
// partition moves in two steps and never has two owners.
//
// What a member "holds": every partition handed to it and not yet released,
// plus every partition it reports owning. A handed partition is released when
// the member is answered without it (it left its target) and no longer
// reports it. Holding decides both withholding (a partition held by one
// member is not handed to another) and commit fencing (a member may commit
// what it was handed and still holds, with a generation not older than the
// one it was handed in).
//
// Pure state: no store, no clock, no locking. The caller passes the time and
// the cluster's topic partition counts into every call that may rebalance.
// Thread-safety: not thread-safe; GroupCoordinator serialises calls.
#ifndef RUNNEL_COORDINATOR_GROUPS_GROUP_H_
#define RUNNEL_COORDINATOR_GROUPS_GROUP_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "coordinator/groups/partitions.h"
#include "proto/runnel/v1/groups.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::groups {

// What a joining member asks for (validated by the caller).
struct MemberSpec {
  std::string client_id;
  std::string client_host;
  std::set<std::string> topics;
  absl::Duration session_timeout;
  absl::Duration rebalance_timeout;
};

struct Member {
  std::string id;
  MemberSpec spec;
  absl::Time last_heartbeat;
  // Where the assignor wants it.
  PartitionSet target;
  // What it reported owning in its latest heartbeat.
  PartitionSet owned;
  // Partitions handed to it and not yet released, with the generation each
  // was handed in (the oldest generation it may commit them with).
  std::map<TopicPartition, int64_t> handed;
  // Since when it knows it must give up partitions it holds outside its
  // target (the first answer without them); it must do so within its
  // rebalance timeout. InfiniteFuture when it holds none.
  absl::Time revoking_since = absl::InfiniteFuture();
};

// A heartbeat's answer to one member.
struct Reconciled {
  int64_t generation = 0;
  PartitionSet assignment;
};

// Why a partition's commit was refused (NONE: accepted).
struct CommitCheck {
  v1::ErrorCode code = v1::ERROR_CODE_NONE;
  std::string message;
};

// The error message of UNKNOWN_MEMBER_ID.
std::string UnknownMemberMessage(absl::string_view group_id, absl::string_view member_id);

class Group {
 public:
  explicit Group(std::string id) : id_(std::move(id)) {}

  const std::string& id() const { return id_; }
  int64_t generation() const { return generation_; }
  // The assignor chosen by the first member; kept for display once empty.
  const std::string& assignor() const { return assignor_; }
  bool empty() const { return members_.empty(); }
  const std::map<std::string, Member>& members() const { return members_; }
  const Member* FindMember(const std::string& member_id) const;
  v1::GroupState state() const;

  // Whether a member asking for `assignor` may join: any assignor while the
  // group is empty, else only the group's.
  bool AcceptsAssignor(const std::string& assignor) const;

  // Adds member `member_id` (new, chosen by the caller) and rebalances. The
  // assignor becomes the group's when the group was empty.
  void Join(const std::string& member_id, MemberSpec spec, const std::string& assignor,
            const TopicCounts& topics, absl::Time now);

  // Records a heartbeat of a known member: its owned partitions and, when
  // `topics` is non-empty and differs from its subscription, the new
  // subscription (which rebalances). Then answers it with its assignment.
  // The member must exist (FindMember).
  Reconciled Heartbeat(const std::string& member_id, const std::set<std::string>& topics,
                       PartitionSet owned, const TopicCounts& topics_now, absl::Time now);

  // Removes a member and rebalances; false if there is no such member.
  bool Remove(const std::string& member_id, const TopicCounts& topics, absl::Time now);

  // Removes every member whose session expired or that kept partitions to
  // revoke for longer than its rebalance timeout after being told, then
  // rebalances once.
  // Returns (member id, reason) of each removed member.
  std::vector<std::pair<std::string, std::string>> Expire(const TopicCounts& topics,
                                                          absl::Time now);

  // Rebalances if the partition count of a topic some member subscribes to
  // differs from the one of the last rebalance (created, grown, deleted).
  bool TopicsChanged(const TopicCounts& topics, absl::Time now);

  // Whether `member_id` may commit `tp` with `generation` now.
  CommitCheck CheckCommit(const std::string& member_id, int64_t generation,
                          const TopicPartition& tp) const;

 private:
  // Generation + 1 and a new target for every member.
  void Rebalance(const TopicCounts& topics, absl::Time now);
  // Whether it holds (was handed or reports) partitions outside its target.
  static bool HoldsOutsideTarget(const Member& member);
  // The subscribed topics' partition counts, as the assignor saw them.
  TopicCounts SubscribedCounts(const TopicCounts& topics) const;

  const std::string id_;
  int64_t generation_ = 0;
  std::string assignor_;
  std::map<std::string, Member> members_;
  TopicCounts seen_counts_;
};

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_GROUP_H_
