#include "client/cli/output.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

std::string FormatTopic(const v1::TopicInfo& topic) {
  // Sorted, since proto maps have no order.
  std::map<std::string, std::string> configs(topic.configs().begin(), topic.configs().end());
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
