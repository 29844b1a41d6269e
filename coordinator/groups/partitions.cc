#include "coordinator/groups/partitions.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace runnel::coordinator::groups {

std::ostream& operator<<(std::ostream& os, const TopicPartition& tp) {
  return os << tp.topic << "-" << tp.partition;
}

PartitionSet FromProto(const TopicPartitionsList& list) {
  PartitionSet set;
  for (const v1::TopicPartitions& tp : list) {
    for (int32_t p : tp.partitions()) set.insert({tp.topic(), p});
  }
  return set;
}

void ToProto(const PartitionSet& set, TopicPartitionsList* out) {
  out->Clear();
  v1::TopicPartitions* current = nullptr;
  for (const TopicPartition& tp : set) {
    if (current == nullptr || current->topic() != tp.topic) {
      current = out->Add();
      current->set_topic(tp.topic);
    }
    current->add_partitions(tp.partition);
  }
}

std::string ToString(const PartitionSet& set) {
  return absl::StrJoin(set, ",", [](std::string* out, const TopicPartition& tp) {
    absl::StrAppend(out, tp.topic, "-", tp.partition);
  });
}

}  // namespace runnel::coordinator::groups
