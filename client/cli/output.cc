#include "client/cli/output.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/topic_config.h"

namespace runnel::client::cli {

namespace v1 = runnel::v1;

std::string FormatRecord(const ConsumerRecord& record, const RecordFormat& format) {
  std::string line;
  if (format.print_offset) {
    absl::StrAppend(&line, "partition=", record.partition, " offset=", record.offset, "\t");
  }
  if (format.print_key) absl::StrAppend(&line, record.key.value_or("null"), "\t");
  absl::StrAppend(&line, record.value.value_or("null"), "\n");
  return line;
}

std::string FormatTopicCreated(const v1::TopicInfo& topic) {
  return absl::StrCat("created topic '", topic.name(), "' with ", topic.partitions_size(),
                      topic.partitions_size() == 1 ? " partition" : " partitions",
                      " (replication factor ", topic.replication_factor(), ")\n");
}

std::string FormatTopicList(const v1::ListTopicsResponse& topics) {
  std::string out;
  for (const std::string& name : topics.names()) absl::StrAppend(&out, name, "\n");
  return out;
}

namespace {

// The default of a known config key, or "" for a key this CLI does not know.
std::string DefaultOf(const std::string& key) {
  for (const TopicConfigKey& k : KnownTopicConfigKeys()) {
    if (k.key == key) return k.default_value;
  }
  return "";
}

}  // namespace

std::string FormatTopic(const v1::TopicInfo& topic) {
  // Sorted, since proto maps have no order.
  const std::map<std::string, std::string> configs(topic.configs().begin(),
                                                   topic.configs().end());
  std::string config_text =
      configs.empty() ? "none" : absl::StrJoin(configs, ",", absl::PairFormatter("="));
  std::string out = absl::StrCat("Topic: ", topic.name(), "\tTopicId: ", topic.topic_id(),
                                 "\tPartitionCount: ", topic.partitions_size(),
                                 "\tReplicationFactor: ", topic.replication_factor(),
                                 "\tConfigs: ", config_text, "\n");
  for (const v1::PartitionInfo& p : topic.partitions()) {
    absl::StrAppend(&out, "\tPartition: ", p.partition(),
                    "\tLeader: ", p.leader() < 0 ? "none" : absl::StrCat(p.leader()),
                    "\tLeaderEpoch: ", p.leader_epoch(),
                    "\tReplicas: ", absl::StrJoin(p.replicas(), ","),
                    "\tIsr: ", absl::StrJoin(p.isr(), ","),
                    "\tPartitionEpoch: ", p.partition_epoch(), "\n");
  }
  // Known keys with their defaults, overridden by the topic's (which may
  // include keys from a newer server).
  std::map<std::string, std::pair<std::string, const char*>> effective;
  for (const TopicConfigKey& k : KnownTopicConfigKeys()) {
    effective[k.key] = {k.default_value, "default"};
  }
  for (const auto& [key, value] : configs) effective[key] = {value, "override"};
  for (const auto& [key, value_source] : effective) {
    absl::StrAppend(&out, "\tConfig: ", key, "=", value_source.first,
                    "\tSource: ", value_source.second, "\n");
  }
  return out;
}

std::string FormatTopicAltered(const v1::TopicInfo& topic,
                               const std::map<std::string, std::string>& set,
                               const std::vector<std::string>& reset) {
  std::vector<std::string> changes;
  for (const auto& [key, requested] : set) {
    auto it = topic.configs().find(key);
    changes.push_back(absl::StrCat(key, "=", it != topic.configs().end() ? it->second : requested));
  }
  std::vector<std::string> reset_sorted = reset;
  std::sort(reset_sorted.begin(), reset_sorted.end());
  for (const std::string& key : reset_sorted) {
    const std::string value = DefaultOf(key);
    changes.push_back(absl::StrCat(key, value.empty() ? "" : "=", value, " (default)"));
  }
  return absl::StrCat("altered topic '", topic.name(), "': ", absl::StrJoin(changes, ", "),
                      "\n");
}

namespace {

const char* StateName(v1::GroupState state) {
  switch (state) {
    case v1::GROUP_STATE_EMPTY:
      return "empty";
    case v1::GROUP_STATE_STABLE:
      return "stable";
    case v1::GROUP_STATE_RECONCILING:
      return "reconciling";
    default:
      return "unknown";
  }
}

// "t-0,t-1", or "none".
std::string PartitionList(const google::protobuf::RepeatedPtrField<v1::TopicPartitions>& lists) {
  std::vector<std::string> names;
  for (const v1::TopicPartitions& list : lists) {
    for (int32_t p : list.partitions()) names.push_back(absl::StrCat(list.topic(), "-", p));
  }
  return names.empty() ? "none" : absl::StrJoin(names, ",");
}

}  // namespace

std::string FormatGroupList(const v1::ListGroupsResponse& groups) {
  std::string out;
  for (const v1::GroupSummary& g : groups.groups()) {
    absl::StrAppend(&out, "Group: ", g.group_id(), "\tState: ", StateName(g.state()),
                    "\tMembers: ", g.members(),
                    "\tAssignor: ", g.assignor().empty() ? "none" : g.assignor(), "\n");
  }
  return out;
}

std::string FormatGroup(const v1::DescribeGroupResponse& group,
                        const std::set<TopicPartition>& partitions,
                        const std::map<TopicPartition, int64_t>& log_ends) {
  std::string out =
      absl::StrCat("Group: ", group.group_id(), "\tState: ", StateName(group.state()),
                   "\tGeneration: ", group.generation(),
                   "\tAssignor: ", group.assignor().empty() ? "none" : group.assignor(),
                   "\tMembers: ", group.members_size(), "\n");
  std::map<TopicPartition, std::string> owner;
  for (const v1::GroupMember& m : group.members()) {
    for (const v1::TopicPartitions& list : m.assignment()) {
      for (int32_t p : list.partitions()) owner[{list.topic(), p}] = m.member_id();
    }
    absl::StrAppend(
        &out, "\tMember: ", m.member_id(),
        "\tClientId: ", m.client_id().empty() ? "none" : m.client_id(),
        "\tHost: ", m.client_host().empty() ? "none" : m.client_host(), "\tTopics: ",
        m.subscribed_topics().empty() ? "none" : absl::StrJoin(m.subscribed_topics(), ","),
        "\tAssignment: ", PartitionList(m.assignment()),
        "\tOwned: ", PartitionList(m.owned_partitions()),
        "\tMillisSinceHeartbeat: ", m.millis_since_heartbeat(), "\n");
  }
  std::map<TopicPartition, int64_t> committed;
  for (const v1::PartitionOffset& o : group.offsets()) {
    committed[{o.topic(), o.partition()}] = o.offset();
  }
  for (const TopicPartition& tp : partitions) {
    auto c = committed.find(tp);
    auto end = log_ends.find(tp);
    auto member = owner.find(tp);
    const bool has_commit = c != committed.end() && c->second >= 0;
    std::string lag = "none";
    if (has_commit && end != log_ends.end()) {
      lag = absl::StrCat(std::max<int64_t>(0, end->second - c->second));
    } else if (has_commit) {
      lag = "unknown";
    }
    absl::StrAppend(&out, "\tPartition: ", ToString(tp),
                    "\tCommitted: ", has_commit ? absl::StrCat(c->second) : "none",
                    "\tLogEnd: ", end != log_ends.end() ? absl::StrCat(end->second) : "unknown",
                    "\tLag: ", lag, "\tMember: ", member != owner.end() ? member->second : "none",
                    "\n");
  }
  return out;
}

std::string FormatOffsetsReset(const std::string& group,
                               const std::map<TopicPartition, int64_t>& offsets, bool dry_run) {
  std::vector<std::string> parts;
  for (const auto& [tp, offset] : offsets) parts.push_back(absl::StrCat(ToString(tp), "=", offset));
  return absl::StrCat(dry_run ? "would reset" : "reset", " offsets of group '", group,
                      "': ", absl::StrJoin(parts, ", "), "\n");
}

namespace {

// "1,2,3", or "none" for an empty list.
std::string Brokers(const google::protobuf::RepeatedField<int32_t>& ids) {
  return ids.empty() ? "none" : absl::StrJoin(ids, ",");
}

}  // namespace

std::string FormatReassignments(
    const google::protobuf::RepeatedPtrField<v1::ReassignmentStatus>& reassignments) {
  std::string out;
  for (const v1::ReassignmentStatus& r : reassignments) {
    const char* state = !r.adding_replicas().empty()     ? "copying"
                        : !r.removing_replicas().empty() ? "removing"
                                                         : "done";
    absl::StrAppend(
        &out, "Partition: ", r.topic(), "-", r.partition(), "\tReplicas: ", Brokers(r.replicas()),
        "\tTarget: ", Brokers(r.target_replicas()), "\tAdding: ", Brokers(r.adding_replicas()),
        "\tRemoving: ", Brokers(r.removing_replicas()), "\tState: ", state, "\n");
  }
  return out;
}

std::string FormatBalancePlan(const v1::BalanceClusterResponse& plan, bool dry_run) {
  if (plan.moves().empty()) return "nothing to move: the cluster is balanced\n";
  std::string out;
  int copies = 0;
  for (const v1::PlannedMove& m : plan.moves()) {
    copies += m.added_replicas_size();
    absl::StrAppend(&out, "Partition: ", m.topic(), "-", m.partition(),
                    "\tFrom: ", Brokers(m.from_replicas()), "\tTo: ", Brokers(m.to_replicas()),
                    "\tCopies: ", Brokers(m.added_replicas()), "\n");
  }
  absl::StrAppend(&out, "planned ", plan.moves_size(), " move(s) copying ", copies,
                  " replica(s): ", dry_run ? "dry run, nothing started" : "started", "\n");
  return out;
}

std::string FormatCluster(const v1::DescribeClusterResponse& cluster) {
  std::string out = absl::StrCat("ClusterId: ", cluster.cluster_id(), "\n");
  for (const v1::BrokerSummary& s : cluster.brokers()) {
    const v1::BrokerInfo& b = s.broker();
    const char* state = b.state() == v1::BROKER_STATE_ALIVE    ? "alive"
                        : b.state() == v1::BROKER_STATE_FENCED ? "fenced"
                                                               : "unknown";
    absl::StrAppend(&out, "Broker: ", b.id(), "\tAddress: ", b.address(),
                    "\tRack: ", b.rack().empty() ? "none" : b.rack(), "\tState: ", state,
                    "\tBrokerEpoch: ", b.broker_epoch(),
                    "\tMillisSinceHeartbeat: ", b.millis_since_heartbeat(),
                    "\tPartitionsLed: ", s.partitions_led(),
                    "\tPartitionsFollowed: ", s.partitions_followed(), "\n");
  }
  return out;
}

}  // namespace runnel::client::cli
