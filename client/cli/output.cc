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
