// Topic-partition sets, the currency of consumer-group assignments, and their
// conversion to and from the API's repeated TopicPartitions (one entry per
// topic, partitions ascending).
// Thread-safety: value types and pure functions.
#ifndef RUNNEL_COORDINATOR_GROUPS_PARTITIONS_H_
#define RUNNEL_COORDINATOR_GROUPS_PARTITIONS_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>

#include "google/protobuf/repeated_field.h"
#include "proto/runnel/v1/groups.pb.h"

namespace runnel::coordinator::groups {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  bool operator<(const TopicPartition& o) const {
    return std::tie(topic, partition) < std::tie(o.topic, o.partition);
  }
  bool operator==(const TopicPartition& o) const {
    return topic == o.topic && partition == o.partition;
  }
};

// "orders-3", as partitions are named in messages (and gtest output).
std::ostream& operator<<(std::ostream& os, const TopicPartition& tp);

using PartitionSet = std::set<TopicPartition>;

// Partition count of every existing topic, by name.
using TopicCounts = std::map<std::string, int32_t>;

using TopicPartitionsList = google::protobuf::RepeatedPtrField<v1::TopicPartitions>;

PartitionSet FromProto(const TopicPartitionsList& list);
void ToProto(const PartitionSet& set, TopicPartitionsList* out);

// "orders-0,orders-3" for logs.
std::string ToString(const PartitionSet& set);

}  // namespace runnel::coordinator::groups

#endif  // RUNNEL_COORDINATOR_GROUPS_PARTITIONS_H_
