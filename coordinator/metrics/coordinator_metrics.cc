#include "coordinator/metrics/coordinator_metrics.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"

namespace runnel::coordinator {
namespace {

using metrics::SampleWriter;

// "GROUP_STATE_STABLE" -> "stable".
std::string StateName(v1::GroupState state) {
  std::string name = v1::GroupState_Name(state);
  const std::string prefix = "GROUP_STATE_";
  if (name.rfind(prefix, 0) == 0) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

void CollectCluster(const ClusterStats& c, SampleWriter& w) {
  w.Single("runnel_coordinator_metadata_version", "Version of the cluster metadata.", "gauge",
           c.metadata_version);
  w.Begin("runnel_coordinator_brokers", "Registered brokers by state.", "gauge");
  w.Sample("runnel_coordinator_brokers", {"state"}, {"alive"}, c.brokers_alive);
  w.Sample("runnel_coordinator_brokers", {"state"}, {"fenced"}, c.brokers_fenced);
  w.Single("runnel_coordinator_brokers_shutting_down",
           "Alive brokers in controlled shutdown (no longer elected).", "gauge",
           c.brokers_shutting_down);
  w.Single("runnel_coordinator_topics", "Topics.", "gauge", c.topics);
  w.Single("runnel_coordinator_partitions", "Partitions of all topics.", "gauge", c.partitions);
  w.Single("runnel_coordinator_offline_partitions", "Partitions without a leader.", "gauge",
           c.offline_partitions);
  w.Single("runnel_coordinator_under_replicated_partitions",
           "Partitions with a leader and fewer in-sync replicas than replicas.", "gauge",
           c.under_replicated_partitions);
}

void CollectGroups(const groups::GroupsStats& g, const ClusterStats& c, SampleWriter& w) {
  std::map<std::string, int> by_state;
  for (v1::GroupState s :
       {v1::GROUP_STATE_EMPTY, v1::GROUP_STATE_STABLE, v1::GROUP_STATE_RECONCILING}) {
    by_state[StateName(s)] = 0;
  }
  for (const groups::GroupStats& group : g.groups) ++by_state[StateName(group.state)];
  w.Begin("runnel_groups", "Consumer groups (with members or committed offsets) by state.",
          "gauge");
  for (const auto& [state, count] : by_state) {
    w.Sample("runnel_groups", {"state"}, {state}, count);
  }
  w.Single("runnel_group_rebalances_total", "Rebalances (generation bumps) of all consumer groups.",
           "counter", static_cast<double>(g.rebalances));

  const std::vector<std::string> group_label = {"group"};
  w.Begin("runnel_group_members", "Live members of a consumer group.", "gauge");
  for (const groups::GroupStats& group : g.groups) {
    w.Sample("runnel_group_members", group_label, {group.group_id}, group.members);
  }
  w.Begin("runnel_group_generation", "Current generation of a consumer group.", "gauge");
  for (const groups::GroupStats& group : g.groups) {
    w.Sample("runnel_group_generation", group_label, {group.group_id},
             static_cast<double>(group.generation));
  }

  const std::vector<std::string> partition_labels = {"group", "topic", "partition"};
  w.Begin("runnel_group_committed_offset", "Committed offset of a group on a partition.", "gauge");
  for (const groups::GroupStats& group : g.groups) {
    for (const groups::StoredOffset& o : group.offsets) {
      w.Sample("runnel_group_committed_offset", partition_labels,
               {group.group_id, o.offset.topic(), std::to_string(o.offset.partition())},
               static_cast<double>(o.offset.offset()));
    }
  }
  // Lag: records between the committed offset and the high watermark (never
  // negative: the committed offset may run ahead of a stale report).
  std::map<std::string, int64_t> sums;
  w.Begin("runnel_group_lag",
          "Records from a group's committed offset to the partition's high watermark.", "gauge");
  for (const groups::GroupStats& group : g.groups) {
    for (const groups::StoredOffset& o : group.offsets) {
      auto hw = c.high_watermarks.find({o.topic_id, o.offset.partition()});
      if (hw == c.high_watermarks.end()) continue;
      const int64_t lag = std::max<int64_t>(0, hw->second - o.offset.offset());
      sums[group.group_id] += lag;
      w.Sample("runnel_group_lag", partition_labels,
               {group.group_id, o.offset.topic(), std::to_string(o.offset.partition())},
               static_cast<double>(lag));
    }
  }
  w.Begin("runnel_group_lag_sum", "Sum of a group's lag over its committed partitions.", "gauge");
  for (const auto& [group, sum] : sums) {
    w.Sample("runnel_group_lag_sum", group_label, {group}, static_cast<double>(sum));
  }
}

}  // namespace

void AddCoordinatorMetrics(Coordinator* coordinator, metrics::Registry* registry) {
  registry->AddCollector([coordinator](SampleWriter& w) {
    const ClusterStats cluster = coordinator->Stats();
    CollectCluster(cluster, w);
    CollectGroups(coordinator->groups()->Stats(), cluster, w);
  });
}

}  // namespace runnel::coordinator
