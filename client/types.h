// Small value types shared by the Runnel client's producer, consumer and
// admin APIs: topic-partitions, records as produced and consumed, and the
// topic-name rule.
//
// Thread-safety: plain values; the Validate functions are pure.
#ifndef RUNNEL_CLIENT_TYPES_H_
#define RUNNEL_CLIENT_TYPES_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace runnel::client {

// Record headers: ordered, keys may repeat, a value may be absent.
using Headers = std::vector<std::pair<std::string, std::optional<std::string>>>;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  bool operator==(const TopicPartition& o) const {
    return partition == o.partition && topic == o.topic;
  }
  bool operator<(const TopicPartition& o) const {
    return std::tie(topic, partition) < std::tie(o.topic, o.partition);
  }
};

// "orders-3", the conventional short name used in messages.
std::string ToString(const TopicPartition& tp);
std::ostream& operator<<(std::ostream& out, const TopicPartition& tp);

// A record read by the Consumer.
struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;    // nullopt: the record has no key
  std::optional<std::string> value;  // nullopt: a tombstone
  Headers headers;
};

// OK if `name` is a legal topic name: 1-249 characters from [A-Za-z0-9._-],
// other than "." and "..". Otherwise InvalidArgument naming the rule.
absl::Status ValidateTopicName(absl::string_view name);

// OK if `id` is a legal consumer group id: 1-249 characters from
// [A-Za-z0-9._-]. Otherwise InvalidArgument naming the rule.
absl::Status ValidateGroupId(absl::string_view id);

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_TYPES_H_
