// Assignors: who in a consumer group consumes which partition. Each maps the
// group's members (with their subscriptions) and the subscribed topics'
// partition counts to a target assignment in which every partition of a
// subscribed topic has exactly one member, and only members subscribed to
// its topic. They only decide the target; moving partitions there without
// two owners at once is the group state machine's job (group.h), the same
// for every assignor.
//
//   range               Kafka's RangeAssignor: per topic, the subscribed
//                       members in id order take contiguous ranges, the first
//                       (count % members) one partition more.
//   roundrobin          Kafka's RoundRobinAssignor: every partition in (topic,
//                       partition) order dealt to the next subscribed member.
//   cooperative-sticky  the default: balanced (partition counts differ by at
//                       most one wherever subscriptions allow), and each
//                       partition stays with its current owner unless balance
//                       requires moving it, so a rebalance moves as few
//                       partitions as it can.
//
// Deterministic: equal inputs give equal assignments.
// Thread-safety: pure functions.
#ifndef RUNNEL_COORDINATOR_GROUPS_ASSIGNOR_H_
#define RUNNEL_COORDINATOR_GROUPS_ASSIGNOR_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "coordinator/groups/partitions.h"

namespace runnel::coordinator::groups {

inline constexpr absl::string_view kRangeAssignor = "range";
inline constexpr absl::string_view kRoundRobinAssignor = "roundrobin";
inline constexpr absl::string_view kStickyAssignor = "cooperative-sticky";
inline constexpr absl::string_view kDefaultAssignor = kStickyAssignor;

bool IsKnownAssignor(absl::string_view name);

struct AssignorMember {
  std::string id;
  std::set<std::string> topics;  // subscription
  PartitionSet current;          // its current target; sticky starts from it
};

// Member id -> partitions, with an entry (maybe empty) for every member.
using Assignment = std::map<std::string, PartitionSet>;

// The target assignment by the assignor `name` (IsKnownAssignor). Topics
// missing from `topics` have no partitions.
Assignment Assign(absl::string_view name, const std::vector<AssignorMember>& members,
                  const TopicCounts& topics);

Assignment RangeAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics);
Assignment RoundRobinAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics);
Assignment StickyAssign(const std::vector<AssignorMember>& members, const TopicCounts& topics);

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_ASSIGNOR_H_
