#include "broker/replication/replica_metrics.h"

#include <vector>

#include "proto/batch/record_batch.h"

namespace runnel::replication {

void PartitionCounters::CountFetched(absl::string_view batches, bool to_replica) const {
  if (batches.empty()) return;
  int64_t records = 0;
  for (absl::string_view b : batch::SplitStoredBatches(batches)) {
    if (auto header = batch::ParseHeader(b); header.ok()) records += header->record_count;
  }
  (to_replica ? replica_bytes_out : consumer_bytes_out)
      ->Increment(static_cast<double>(batches.size()));
  (to_replica ? replica_records_out : consumer_records_out)
      ->Increment(static_cast<double>(records));
}

ReplicaMetrics::ReplicaMetrics(metrics::Registry* registry)
    : bytes_in_(registry->AddCounter(
          "runnel_partition_bytes_in_total",
          "Record batch bytes produced to a partition this broker leads.", {"topic", "partition"})),
      records_in_(registry->AddCounter("runnel_partition_records_in_total",
                                       "Records produced to a partition this broker leads.",
                                       {"topic", "partition"})),
      bytes_out_(registry->AddCounter(
          "runnel_partition_bytes_out_total",
          "Record batch bytes fetched from a partition this broker leads, by consumers or by "
          "follower replicas.",
          {"topic", "partition", "reader"})),
      records_out_(registry->AddCounter(
          "runnel_partition_records_out_total",
          "Records fetched from a partition this broker leads (whole batches), by consumers or "
          "by follower replicas.",
          {"topic", "partition", "reader"})),
      replication_bytes_in_(
          registry->AddCounter("runnel_partition_replication_bytes_in_total",
                               "Record batch bytes this broker appended to a partition it follows.",
                               {"topic", "partition"})),
      isr_shrinks_(registry
                       ->AddCounter("runnel_broker_isr_shrinks_total",
                                    "ISR changes by this broker's leaderships that removed "
                                    "a replica.")
                       ->WithLabels({})),
      isr_expands_(registry
                       ->AddCounter("runnel_broker_isr_expands_total",
                                    "ISR changes by this broker's leaderships that added a "
                                    "replica.")
                       ->WithLabels({})) {}

const PartitionCounters* ReplicaMetrics::ForPartition(const std::string& topic, int32_t partition) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<PartitionCounters>& slot = partitions_[{topic, partition}];
  if (slot == nullptr) {
    const std::vector<std::string> labels = {topic, std::to_string(partition)};
    std::vector<std::string> consumer = labels, replica = labels;
    consumer.push_back("consumer");
    replica.push_back("replica");
    slot = std::make_unique<PartitionCounters>();
    slot->bytes_in = bytes_in_->WithLabels(labels);
    slot->records_in = records_in_->WithLabels(labels);
    slot->consumer_bytes_out = bytes_out_->WithLabels(consumer);
    slot->consumer_records_out = records_out_->WithLabels(consumer);
    slot->replica_bytes_out = bytes_out_->WithLabels(replica);
    slot->replica_records_out = records_out_->WithLabels(replica);
    slot->replication_bytes_in = replication_bytes_in_->WithLabels(labels);
  }
  return slot.get();
}

}  // namespace runnel::replication
