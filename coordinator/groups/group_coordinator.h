// GroupCoordinator: the coordinator's consumer groups, behind the
// runnel.v1.Groups service (docs/consumer-groups.md): membership and
// assignment of every group (Group, in memory), and committed offsets
// (OffsetStore, durable). Requests and responses are the API protos; errors
// are absl::Status (request-wide) or ErrorCodes in the response (per member
// or partition), as groups.proto specifies.
//
// Membership lives in memory only: after a coordinator restart every member
// gets UNKNOWN_MEMBER_ID and joins again, while committed offsets survive.
// Sessions and rebalance timeouts expire on Tick (driven by the coordinator's
// tick thread) and, for one group, before each call about that group, so a
// late heartbeat is refused exactly when the session has run out.
//
// It learns topics from the Coordinator (TopicChanged / TopicDeleted, called
// under the Coordinator's lock: lock order Coordinator -> GroupCoordinator),
// so groups rebalance when a subscribed topic appears, grows or disappears.
//
// Time comes from an injected clock so tests control it.
// Ownership: does not own the MetadataStore, which must outlive it.
// Thread-safety: thread-safe. One mutex of its own, not the Coordinator's:
// heartbeats and commits are frequent and must not queue behind metadata
// changes (nor those behind them). A commit holds it across its synced
// store write, so commits and membership changes of all groups are
// serialised; simple, and enough for a single coordinator.
#ifndef RUNNEL_COORDINATOR_GROUPS_GROUP_COORDINATOR_H_
#define RUNNEL_COORDINATOR_GROUPS_GROUP_COORDINATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/groups/group.h"
#include "coordinator/groups/offset_store.h"
#include "coordinator/groups/partitions.h"
#include "coordinator/store/metadata_store.h"
#include "proto/runnel/v1/groups.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::coordinator::groups {

// The current time. Production passes absl::Now; tests pass a fake.
using Clock = std::function<absl::Time()>;

// Heartbeat interval caps: while a group is stable, and while it reconciles
// (so that two-step moves complete quickly). Never more than a third of the
// member's session timeout.
inline constexpr absl::Duration kStableHeartbeatInterval = absl::Seconds(3);
inline constexpr absl::Duration kReconcilingHeartbeatInterval = absl::Milliseconds(250);

// One group as metrics see it (GroupCoordinator::Stats).
struct GroupStats {
  std::string group_id;
  v1::GroupState state = v1::GROUP_STATE_EMPTY;
  int32_t members = 0;
  int64_t generation = 0;
  // Committed offsets, by partition.
  std::vector<StoredOffset> offsets;
};

struct GroupsStats {
  // Every group with members or committed offsets, by id.
  std::vector<GroupStats> groups;
  // Rebalances (generation bumps) of all groups since this coordinator
  // started: a counter.
  int64_t rebalances = 0;
};

class GroupCoordinator {
 public:
  // Loads the committed offsets; `topics` are the cluster's topics now.
  static absl::StatusOr<std::unique_ptr<GroupCoordinator>> Open(
      store::MetadataStore* store, const std::vector<v1::TopicInfo>& topics, Clock clock);

  // --- runnel.v1.Groups ---
  // `client_host` is the caller's address, shown by DescribeGroup.
  absl::StatusOr<v1::GroupHeartbeatResponse> GroupHeartbeat(
      const v1::GroupHeartbeatRequest& request, const std::string& client_host);
  absl::Status LeaveGroup(const v1::LeaveGroupRequest& request);
  absl::StatusOr<v1::CommitOffsetsResponse> CommitOffsets(const v1::CommitOffsetsRequest& request);
  absl::StatusOr<v1::FetchOffsetsResponse> FetchOffsets(const v1::FetchOffsetsRequest& request);
  v1::ListGroupsResponse ListGroups();
  absl::StatusOr<v1::DescribeGroupResponse> DescribeGroup(const v1::DescribeGroupRequest& request);
  absl::Status AlterGroupOffsets(const v1::AlterGroupOffsetsRequest& request);
  absl::Status DeleteGroup(const v1::DeleteGroupRequest& request);

  // --- From the Coordinator ---
  // A topic was created or got more partitions.
  void TopicChanged(const v1::TopicInfo& topic);
  // A topic was deleted: its committed offsets are deleted too.
  void TopicDeleted(const std::string& name);
  // Removes members whose session or rebalance timeout expired.
  void Tick();

  // For metrics: a copy of every group's state and offsets.
  GroupsStats Stats();

 private:
  GroupCoordinator(Clock clock, std::unique_ptr<OffsetStore> offsets, TopicCounts counts,
                   std::map<std::string, uint64_t> topic_ids);

  // The group, after expiring its timed-out members; nullptr if unknown, or
  // if it is left with neither members nor offsets (it is forgotten then).
  Group* FindGroupLocked(const std::string& group_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireLocked(Group& group, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Forgets a group with neither members nor offsets; whether it did.
  bool ForgetIfUnusedLocked(const std::string& group_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RebalanceOnTopicChangeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The heartbeat of a known member (after a join, the new one).
  v1::GroupHeartbeatResponse AnswerLocked(Group& group, const std::string& member_id,
                                          const std::set<std::string>& topics, PartitionSet owned,
                                          absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Validates an offset against the topics for AlterGroupOffsets.
  absl::Status CheckPartitionExistsLocked(const v1::PartitionOffset& offset) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock clock_;
  absl::Mutex mu_;
  std::map<std::string, Group> groups_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<OffsetStore> offsets_ ABSL_GUARDED_BY(mu_);
  TopicCounts counts_ ABSL_GUARDED_BY(mu_);                         // partitions by topic name
  std::map<std::string, uint64_t> topic_ids_ ABSL_GUARDED_BY(mu_);  // id by topic name
  // Sum of the generations of the groups forgotten or deleted: with the
  // generations of the groups in groups_, the rebalances since start.
  int64_t retired_generations_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_GROUP_COORDINATOR_H_
